-- The system itself as an actor (expiry, key registration, settlement).
CREATE FUNCTION system_actor(p_what text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('role', 'system', 'request_id', p_what)
$$;
