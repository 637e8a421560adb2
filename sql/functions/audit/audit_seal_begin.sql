-- First call of a sealer round, in a transaction that holds the sealer's advisory lock and has
-- written nothing yet. Advances the settled horizon and answers where the chain stands, and
-- the database's time for a checkpoint (one clock for every replica).
CREATE FUNCTION audit_seal_begin() RETURNS TABLE (
  head_position bigint, head_seq bigint, head_hash text, settled_seq bigint,
  checkpoint_size bigint, checkpoint_age_ms bigint, now_text text)
LANGUAGE plpgsql AS $$
DECLARE
  v_state audit_seal_state;
  v_settled bigint;
  v_last bigint;
  v_xid xid8;
BEGIN
  SELECT * INTO v_state FROM audit_seal_state;
  v_settled := v_state.settled_seq;
  IF v_state.horizon_xid IS NULL
     OR pg_snapshot_xmin(pg_current_snapshot()) > v_state.horizon_xid THEN
    IF v_state.horizon_xid IS NOT NULL THEN
      v_settled := greatest(v_settled, v_state.horizon_seq);
    END IF;
    -- Order matters: read the sequence first, then take an xid (this transaction has none yet).
    v_last := coalesce(pg_sequence_last_value(pg_get_serial_sequence('audit_events', 'seq')), 0);
    v_xid := pg_current_xact_id();
    UPDATE audit_seal_state SET settled_seq = v_settled, horizon_seq = v_last, horizon_xid = v_xid;
  END IF;
  RETURN QUERY
    SELECT coalesce(c.position, 0), coalesce(c.seq, 0), encode(c.hash, 'hex'), v_settled,
           coalesce(k.size, 0), (extract(epoch FROM clock_timestamp() - k.signed_at) * 1000)::bigint,
           ts(clock_timestamp())
      FROM (SELECT 1) one
      LEFT JOIN (SELECT * FROM audit_chain ORDER BY position DESC LIMIT 1) c ON true
      LEFT JOIN (SELECT * FROM audit_checkpoints ORDER BY size DESC LIMIT 1) k ON true;
END $$;
