-- The next events after seq p_after, for the sealer to chain.
CREATE FUNCTION audit_seal_events(p_after bigint, p_limit int)
RETURNS TABLE (seq bigint, doc text) LANGUAGE sql STABLE AS $$
  SELECT e.seq, audit_event_doc(e) FROM audit_events e
   WHERE e.seq > p_after ORDER BY e.seq LIMIT p_limit
$$;
