-- Registers a server's keyring ([{kid, paserk, created_at}]); the newest key by creation time
-- is current, all others retired.
CREATE FUNCTION signing_keys_sync(p_keys jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  k record;
  v_current text;
BEGIN
  FOR k IN SELECT e->>'kid' AS kid, e->>'paserk' AS paserk,
                  coalesce(nullif(e->>'created_at', '')::timestamptz, now()) AS created_at
             FROM jsonb_array_elements(p_keys) e
  LOOP
    INSERT INTO signing_keys (kid, paserk, status, created_at)
    VALUES (k.kid, k.paserk, 'retired', k.created_at)
    ON CONFLICT (kid) DO NOTHING;
    IF FOUND THEN
      PERFORM audit_append(system_actor('key-registration'), 'signing_key.register',
                           'signing_key', NULL, jsonb_build_object('kid', k.kid, 'paserk', k.paserk));
    END IF;
  END LOOP;
  -- one registration at a time decides which key is current
  PERFORM pg_advisory_xact_lock(7243519871);
  SELECT kid INTO v_current FROM signing_keys ORDER BY created_at DESC, kid DESC LIMIT 1;
  UPDATE signing_keys SET status = 'retired', retired_at = now()
   WHERE status = 'current' AND kid <> v_current;
  UPDATE signing_keys SET status = 'current', retired_at = NULL
   WHERE kid = v_current AND status <> 'current';
END $$;
