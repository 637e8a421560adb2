CREATE FUNCTION api_key_create(p_actor jsonb, p_name text, p_hash text, p_prefix text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_key api_keys;
BEGIN
  IF (SELECT count(*) FROM api_keys WHERE user_id = (p_actor->>'user_id')::uuid
                                      AND revoked_at IS NULL) >= 20 THEN
    PERFORM problem('conflict', 'a user holds at most 20 active API keys; revoke one first');
  END IF;
  INSERT INTO api_keys (user_id, name, prefix, key_hash)
  VALUES ((p_actor->>'user_id')::uuid, p_name, p_prefix, p_hash) RETURNING * INTO v_key;
  PERFORM audit_append(p_actor, 'api_key.create', 'api_key', v_key.id,
                       jsonb_build_object('name', p_name, 'prefix', p_prefix));
  RETURN api_key_json(v_key);
END $$;
