CREATE FUNCTION org_create(p_actor jsonb, p_type text, p_name text, p_city uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_role text := p_actor->>'role';
  v_city uuid := p_city;
  v_org organizations;
  v_id uuid := uuid_v7();
BEGIN
  IF v_role = 'city_admin' THEN
    IF p_type NOT IN ('provider', 'institute') THEN
      PERFORM problem('forbidden', 'a city administrator registers providers and institutes only');
    END IF;
    IF v_city IS NOT NULL AND v_city <> actor_city(p_actor) THEN
      PERFORM problem('not-found', 'no city ' || v_city);
    END IF;
    v_city := actor_city(p_actor);
  ELSIF v_role <> 'operator' THEN
    PERFORM problem('forbidden', 'only operators and city administrators create organisations');
  END IF;
  IF p_type = 'operator' THEN
    PERFORM problem_at('validation-failed', 'type', 'the operator organisation exists already');
  ELSIF p_type = 'city' THEN
    IF p_city IS NOT NULL THEN
      PERFORM problem_at('validation-failed', 'city_id', 'a city is not inside another city');
    END IF;
    v_city := v_id;
  ELSE
    IF v_city IS NULL THEN
      PERFORM problem_at('validation-failed', 'city_id', 'required for a ' || p_type);
    END IF;
    PERFORM 1 FROM organizations WHERE id = v_city AND type = 'city';
    IF NOT FOUND THEN
      PERFORM problem('not-found', 'no city ' || v_city);
    END IF;
  END IF;
  INSERT INTO organizations (id, type, name, city_id) VALUES (v_id, p_type, p_name, v_city)
  RETURNING * INTO v_org;
  PERFORM audit_append(p_actor, 'organization.create', 'organization', v_org.id,
                       jsonb_build_object('type', p_type, 'name', p_name), v_org.city_id);
  RETURN org_json(v_org);
END $$;
