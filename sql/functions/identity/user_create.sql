CREATE FUNCTION user_create(p_actor jsonb, p_email text, p_hash text, p_role text, p_org uuid)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_org organizations;
  v_user users;
BEGIN
  SELECT * INTO v_org FROM organizations WHERE id = p_org;
  IF NOT FOUND OR NOT org_visible(p_actor, v_org) THEN
    PERFORM problem('not-found', 'no organization ' || p_org);
  END IF;
  IF p_actor->>'role' = 'city_admin' AND v_org.city_id IS DISTINCT FROM actor_city(p_actor) THEN
    PERFORM problem('not-found', 'no organization ' || p_org);
  ELSIF p_actor->>'role' NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('forbidden', 'only operators and city administrators create users');
  END IF;
  IF NOT ((v_org.type = 'operator' AND p_role IN ('operator', 'auditor'))
       OR (v_org.type = 'city' AND p_role IN ('city_admin', 'auditor'))
       OR (v_org.type = 'provider' AND p_role = 'provider')
       OR (v_org.type = 'institute' AND p_role = 'institute')) THEN
    PERFORM problem_at('validation-failed', 'role',
                       format('a %s user cannot belong to a %s organization', p_role, v_org.type));
  END IF;
  IF p_role = 'operator' AND p_actor->>'role' <> 'operator' THEN
    PERFORM problem('forbidden', 'only an operator creates operators');
  END IF;
  INSERT INTO users (email, password_hash, role, organization_id)
  VALUES (lower(p_email), p_hash, p_role, p_org) RETURNING * INTO v_user;
  PERFORM audit_append(p_actor, 'user.create', 'user', v_user.id,
                       jsonb_build_object('email', v_user.email, 'role', p_role, 'organization_id', p_org),
                       v_org.city_id);
  RETURN user_json(v_user);
END $$;
