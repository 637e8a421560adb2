CREATE FUNCTION login_failed(p_actor jsonb, p_email text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO login_failures (email, client_ip) VALUES (lower(p_email), p_actor->>'ip');
  DELETE FROM login_failures WHERE at < now() - interval '1 hour';
  PERFORM audit_append(p_actor, 'session.login_failed', 'user',
                       (SELECT id FROM users WHERE email = lower(p_email)),
                       jsonb_build_object('email', lower(p_email)));
END $$;
