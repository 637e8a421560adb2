-- Records a failed login. For an existing account it is audited (session.login_failed); for an
-- email that names no account it is counted per client address and hour, and only the 1st,
-- 10th, 100th, … of that hour is audited (session.login_failed_unknown), so that guesses do not
-- grow the permanent audit chain without bound.
CREATE FUNCTION login_failed(p_actor jsonb, p_email text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_email text := lower(p_email);
  v_user uuid;
  v_n bigint;
BEGIN
  INSERT INTO login_failures (email, client_ip) VALUES (v_email, p_actor->>'ip');
  DELETE FROM login_failures WHERE at < now() - interval '1 hour';
  SELECT id INTO v_user FROM users WHERE email = v_email;
  IF v_user IS NOT NULL THEN
    PERFORM audit_append(p_actor, 'session.login_failed', 'user', v_user,
                         jsonb_build_object('email', v_email));
    RETURN;
  END IF;
  INSERT INTO login_unknown_counts AS c (client_ip, hour, failures)
  VALUES (coalesce(p_actor->>'ip', ''), date_trunc('hour', now()), 1)
  ON CONFLICT (client_ip, hour) DO UPDATE SET failures = c.failures + 1
  RETURNING failures INTO v_n;
  DELETE FROM login_unknown_counts WHERE hour < now() - interval '30 days';
  IF v_n::text ~ '^10*$' THEN
    PERFORM audit_append(p_actor, 'session.login_failed_unknown', 'address', NULL,
                         jsonb_build_object('email', v_email, 'failures_this_hour', v_n));
  END IF;
END $$;
