CREATE FUNCTION session_delete(p_actor jsonb, p_session uuid) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM sessions WHERE id = p_session AND user_id = (p_actor->>'user_id')::uuid;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM audit_append(p_actor, 'session.delete', 'session', p_session, '{}');
  RETURN true;
END $$;
