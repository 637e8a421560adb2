-- One page of the log as verification walks it: chain entries and events matched by seq, in
-- seq order, over the widest seq range in which neither side is cut off by p_limit (so that a
-- chain entry without its event, or an event without a chain entry, is never an artefact of
-- paging). o_position is NULL for an event not in the chain, o_doc NULL for a chain entry
-- whose event is gone.
CREATE FUNCTION audit_log_page(p_after bigint, p_limit int) RETURNS TABLE (
  o_seq bigint, o_position bigint, o_leaf text, o_hash text, o_city uuid, o_doc text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_events_hi bigint;
  v_chain_hi bigint;
  v_hi bigint;
BEGIN
  SELECT CASE WHEN count(*) = p_limit THEN max(x.seq) END INTO v_events_hi
    FROM (SELECT e.seq FROM audit_events e WHERE e.seq > p_after ORDER BY e.seq LIMIT p_limit) x;
  SELECT CASE WHEN count(*) = p_limit THEN max(x.seq) END INTO v_chain_hi
    FROM (SELECT c.seq FROM audit_chain c WHERE c.seq > p_after ORDER BY c.seq LIMIT p_limit) x;
  v_hi := coalesce(least(v_events_hi, v_chain_hi), 9223372036854775807);
  RETURN QUERY
    SELECT coalesce(c.seq, (e.ev).seq), c.position, encode(c.leaf, 'hex'), encode(c.hash, 'hex'),
           (e.ev).city_id, CASE WHEN e.s IS NOT NULL THEN audit_event_doc(e.ev) END
      FROM (SELECT ch.* FROM audit_chain ch WHERE ch.seq > p_after AND ch.seq <= v_hi) c
      FULL JOIN (SELECT ae AS ev, ae.seq AS s FROM audit_events ae
                  WHERE ae.seq > p_after AND ae.seq <= v_hi) e ON e.s = c.seq
     ORDER BY 1;
END $$;
