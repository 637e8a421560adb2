CREATE FUNCTION api_key_revoke(p_actor jsonb, p_id uuid) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  UPDATE api_keys SET revoked_at = now()
   WHERE id = p_id AND user_id = (p_actor->>'user_id')::uuid AND revoked_at IS NULL;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM audit_append(p_actor, 'api_key.revoke', 'api_key', p_id, '{}');
  RETURN true;
END $$;
