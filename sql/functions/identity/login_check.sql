-- Whether a login may be tried now and, when it may, the user's hash (NULL if no such user).
-- throttled names the first limit reached ('account-address', 'account', 'address' or
-- 'service', else NULL) and retry_after the seconds until the oldest failure that fills it
-- leaves the one-minute window. Each count reads at most its limit of index entries.
CREATE FUNCTION login_check(p_email text, p_ip text, p_pair_max int, p_account_max int,
                            p_address_max int, p_global_max int) RETURNS TABLE (
  throttled text, retry_after int, user_id uuid, password_hash text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_email text := lower(p_email);
  v_since timestamptz := now() - interval '1 minute';
  v_at timestamptz;
BEGIN
  SELECT f.at INTO v_at FROM login_failures f
   WHERE f.email = v_email AND f.client_ip = p_ip AND f.at > v_since
   ORDER BY f.at DESC OFFSET p_pair_max - 1 LIMIT 1;
  throttled := CASE WHEN v_at IS NOT NULL THEN 'account-address' END;
  IF throttled IS NULL THEN
    SELECT f.at INTO v_at FROM login_failures f
     WHERE f.email = v_email AND f.at > v_since
     ORDER BY f.at DESC OFFSET p_account_max - 1 LIMIT 1;
    throttled := CASE WHEN v_at IS NOT NULL THEN 'account' END;
  END IF;
  IF throttled IS NULL THEN
    SELECT f.at INTO v_at FROM login_failures f
     WHERE f.client_ip = p_ip AND f.at > v_since
     ORDER BY f.at DESC OFFSET p_address_max - 1 LIMIT 1;
    throttled := CASE WHEN v_at IS NOT NULL THEN 'address' END;
  END IF;
  IF throttled IS NULL THEN
    SELECT f.at INTO v_at FROM login_failures f
     WHERE f.at > v_since
     ORDER BY f.at DESC OFFSET p_global_max - 1 LIMIT 1;
    throttled := CASE WHEN v_at IS NOT NULL THEN 'service' END;
  END IF;
  IF throttled IS NOT NULL THEN
    retry_after := greatest(1, least(60, ceil(extract(epoch FROM v_at + interval '1 minute' - now()))::int));
    RETURN NEXT;
    RETURN;
  END IF;
  SELECT u.id, u.password_hash INTO user_id, password_hash
    FROM users u WHERE u.email = v_email AND u.disabled_at IS NULL;
  RETURN NEXT;
END $$;
