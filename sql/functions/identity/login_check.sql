-- Returns the throttle state and, when not throttled, the user's hash (NULL if no such user).
CREATE FUNCTION login_check(p_email text, p_ip text, p_max int) RETURNS TABLE (
  throttled boolean, user_id uuid, password_hash text)
LANGUAGE sql STABLE AS $$
  SELECT (SELECT count(*) FROM login_failures f
           WHERE f.email = lower(p_email) AND f.client_ip = p_ip
             AND f.at > now() - interval '1 minute') >= p_max,
         u.id, u.password_hash
    FROM (SELECT 1) one
    LEFT JOIN users u ON u.email = lower(p_email) AND u.disabled_at IS NULL
$$;
