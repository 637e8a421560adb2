CREATE FUNCTION session_create(p_actor jsonb, p_user uuid, p_token_hash text, p_csrf_hash text,
                               p_ttl_s int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_session uuid;
  v_user users;
  v_city uuid;
BEGIN
  SELECT * INTO v_user FROM users WHERE id = p_user;
  SELECT city_id INTO v_city FROM organizations WHERE id = v_user.organization_id;
  INSERT INTO sessions (user_id, token_hash, csrf_hash, client_ip, expires_at)
  VALUES (p_user, p_token_hash, p_csrf_hash, p_actor->>'ip', now() + make_interval(secs => p_ttl_s))
  RETURNING id INTO v_session;
  DELETE FROM login_failures WHERE email = v_user.email AND client_ip = p_actor->>'ip';
  DELETE FROM sessions WHERE expires_at < now() - interval '1 day';
  PERFORM audit_append(p_actor || jsonb_build_object('user_id', p_user, 'role', v_user.role,
                                                     'org_id', v_user.organization_id),
                       'session.create', 'session', v_session, '{}', v_city);
  RETURN user_json(v_user);
END $$;
