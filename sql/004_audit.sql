-- 004 — the tamper-evident audit log: the hash chain over audit_events, signed checkpoints,
-- the sealer's bookkeeping, and the read side of GET /v1/audit/*.
--
-- audit_events (sql/001) stays exactly as it is: writers append to it in their own
-- transactions and never wait for each other. A sealer (server/audit.c, one at a time across
-- replicas under an advisory lock) chains committed events shortly after commit, as Certificate
-- Transparency's merge delay does:
--
--   leaf_p = BLAKE2b-256(canonical event bytes)                  (server/audit.c documents them)
--   hash_p = BLAKE2b-256(hash_{p-1} || seq_p as 8 bytes big-endian || leaf_p),  hash_0 = 32 zero bytes
--
-- and every few seconds signs a checkpoint {size, head_hash, signed_at, kid} with Ed25519.
-- audit_chain records position -> seq, so a deleted chained event, an event slipped into a
-- sequence gap, an edited or a reordered one are each told apart by verification. BLAKE2b is
-- not available in PostgreSQL; hashing and signing happen in the server, these functions only
-- store and serve.

-- ==== chain and checkpoints ================================================================
CREATE TABLE audit_chain (
  position   bigint PRIMARY KEY CHECK (position > 0),
  seq        bigint NOT NULL UNIQUE,
  leaf       bytea NOT NULL CHECK (length(leaf) = 32),
  hash       bytea NOT NULL CHECK (length(hash) = 32),
  chained_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_checkpoints (
  size      bigint PRIMARY KEY CHECK (size > 0),
  head_hash bytea NOT NULL CHECK (length(head_hash) = 32),
  signed_at timestamptz NOT NULL,
  kid       text NOT NULL,
  signature bytea NOT NULL CHECK (length(signature) = 64)
);

-- Like audit_events, the chain and its checkpoints are append-only for every role; only a
-- superuser who disables the triggers on purpose can rewrite them (and verification shows it).
CREATE FUNCTION audit_forbid_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = '42501';
END $$;
CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain
  FOR EACH ROW EXECUTE FUNCTION audit_forbid_rewrite();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
  FOR EACH STATEMENT EXECUTE FUNCTION audit_forbid_rewrite();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_forbid_rewrite();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_forbid_rewrite();

-- Events that name a programme in their data, for the programme filter of GET /v1/audit/events.
-- Partial, so that events without one cost the writers nothing.
CREATE INDEX audit_events_program ON audit_events (((data->>'program_id')), seq)
  WHERE data ? 'program_id';

-- ==== writers ==============================================================================
-- As in 001, plus one guarantee the sealer relies on: the transaction has its id BEFORE it
-- draws a sequence number. Every transaction that may still commit an event with seq <= M then
-- has an xid lower than that of any transaction that starts after M was drawn, so the sealer
-- can prove a sequence gap permanent from the snapshot horizon alone (audit_seal_begin).
CREATE OR REPLACE FUNCTION audit_append(p_actor jsonb, p_action text, p_subject_type text,
                                        p_subject_id uuid, p_data jsonb, p_city uuid DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
  SELECT pg_current_xact_id();
  INSERT INTO audit_events (actor_user, actor_role, actor_org, city_id, action, subject_type,
                            subject_id, data, request_id, client_ip)
  VALUES ((p_actor->>'user_id')::uuid, p_actor->>'role', (p_actor->>'org_id')::uuid,
          coalesce(p_city, nullif(p_actor->>'city_id', '')::uuid), p_action, p_subject_type,
          p_subject_id, coalesce(p_data, '{}'), p_actor->>'request_id', p_actor->>'ip')
$$;

-- ==== the canonical event ==================================================================
-- The event's content as the JSON object that server/audit.c canonicalises and hashes (seq is
-- not part of it: the chain step binds it). Times carry microseconds, all that is stored.
CREATE FUNCTION audit_time(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE FUNCTION audit_event_doc(e audit_events) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'action', e.action, 'actor_org_id', e.actor_org, 'actor_role', e.actor_role,
    'actor_user_id', e.actor_user, 'at', audit_time(e.at), 'city_id', e.city_id,
    'client_ip', e.client_ip, 'data', e.data, 'request_id', e.request_id,
    'subject_id', e.subject_id, 'subject_type', e.subject_type)::text
$$;

-- ==== the sealer ===========================================================================
-- One row: how far sequence numbers are known to be settled (every seq <= settled_seq is
-- committed or will never be), and the horizon being waited for: once every transaction with
-- an xid below horizon_xid has ended, every seq <= horizon_seq is settled.
CREATE TABLE audit_seal_state (
  id          boolean PRIMARY KEY DEFAULT true CHECK (id),
  settled_seq bigint NOT NULL DEFAULT 0,
  horizon_seq bigint NOT NULL DEFAULT 0,
  horizon_xid xid8
);
INSERT INTO audit_seal_state DEFAULT VALUES;

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

-- The next events after seq p_after, for the sealer to chain.
CREATE FUNCTION audit_seal_events(p_after bigint, p_limit int)
RETURNS TABLE (seq bigint, doc text) LANGUAGE sql STABLE AS $$
  SELECT e.seq, audit_event_doc(e) FROM audit_events e
   WHERE e.seq > p_after ORDER BY e.seq LIMIT p_limit
$$;

-- Appends chain entries (hashes in hex); the primary keys refuse a second sealer's overlap.
CREATE FUNCTION audit_chain_append(p_positions bigint[], p_seqs bigint[], p_leaves text[],
                                   p_hashes text[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO audit_chain (position, seq, leaf, hash)
  SELECT p, s, decode(l, 'hex'), decode(h, 'hex')
    FROM unnest(p_positions, p_seqs, p_leaves, p_hashes) AS x (p, s, l, h)
$$;

CREATE FUNCTION audit_checkpoint_add(p_size bigint, p_head text, p_signed_at timestamptz,
                                     p_kid text, p_signature text) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO audit_checkpoints (size, head_hash, signed_at, kid, signature)
  VALUES (p_size, decode(p_head, 'hex'), p_signed_at, p_kid, decode(p_signature, 'hex'))
$$;

-- ==== verification and export =============================================================
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

CREATE FUNCTION audit_checkpoint_page(p_after bigint, p_limit int) RETURNS TABLE (
  o_size bigint, o_head text, o_signed_at text, o_kid text, o_signature text)
LANGUAGE sql STABLE AS $$
  SELECT size, encode(head_hash, 'hex'), ts(signed_at), kid, encode(signature, 'hex')
    FROM audit_checkpoints WHERE size > p_after ORDER BY size LIMIT p_limit
$$;

-- The chain position whose leaf is p_leaf, other than p_not (to tell a reordered event from
-- an edited one once verification has failed; a scan, but only on that path).
CREATE FUNCTION audit_leaf_position(p_leaf text, p_not bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT position FROM audit_chain WHERE leaf = decode(p_leaf, 'hex') AND position <> p_not
   ORDER BY position LIMIT 1
$$;

-- ==== GET /v1/audit/events and /v1/audit/checkpoints =======================================
CREATE FUNCTION audit_event_json(e audit_events, p_position bigint) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'seq', e.seq, 'position', p_position, 'at', audit_time(e.at),
    'actor_user_id', e.actor_user, 'actor_role', e.actor_role, 'actor_org_id', e.actor_org,
    'city_id', e.city_id, 'action', e.action, 'subject_type', e.subject_type,
    'subject_id', e.subject_id, 'data', e.data, 'request_id', e.request_id,
    'client_ip', e.client_ip)
$$;

-- Only operators, city administrators and auditors read the audit log (the route table says
-- so too; this keeps the functions safe on their own).
CREATE FUNCTION audit_reader_check(p_actor jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_actor->>'role' IS NULL OR p_actor->>'role' NOT IN ('operator', 'city_admin', 'auditor') THEN
    PERFORM problem('forbidden', 'only operators, city administrators and auditors read the audit log');
  END IF;
END $$;

-- Events the actor may see (its city's, or all for the operator and national auditors), with
-- the filters of the endpoint, in seq order (p_desc: newest first), keyset-paginated by seq.
-- The programme filter matches events about the programme and events whose data names it in
-- "program_id". The query holds only the filters given, so that the planner can use the
-- indexes that fit them.
CREATE FUNCTION audit_event_list(p_actor jsonb, p_from timestamptz, p_to timestamptz,
                                 p_actor_id uuid, p_action text, p_subject_type text,
                                 p_subject_id uuid, p_program uuid, p_city uuid, p_desc boolean,
                                 p_after bigint, p_limit int) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_city uuid := actor_city(p_actor);
  v_where text := '';
  v_result jsonb;
BEGIN
  PERFORM audit_reader_check(p_actor);
  IF v_city IS NOT NULL THEN v_where := v_where || ' AND e.city_id = $1'; END IF;
  IF p_city IS NOT NULL THEN v_where := v_where || ' AND e.city_id = $2'; END IF;
  IF p_from IS NOT NULL THEN v_where := v_where || ' AND e.at >= $3'; END IF;
  IF p_to IS NOT NULL THEN v_where := v_where || ' AND e.at < $4'; END IF;
  IF p_actor_id IS NOT NULL THEN v_where := v_where || ' AND e.actor_user = $5'; END IF;
  IF p_action IS NOT NULL THEN v_where := v_where || ' AND e.action = $6'; END IF;
  IF p_subject_type IS NOT NULL THEN v_where := v_where || ' AND e.subject_type = $7'; END IF;
  IF p_subject_id IS NOT NULL THEN v_where := v_where || ' AND e.subject_id = $8'; END IF;
  IF p_program IS NOT NULL THEN
    v_where := v_where || $q$ AND (e.subject_id = $9
                                   OR (e.data ? 'program_id' AND e.data->>'program_id' = $9::text))$q$;
  END IF;
  IF p_after IS NOT NULL THEN
    v_where := v_where || CASE WHEN p_desc THEN ' AND e.seq < $10' ELSE ' AND e.seq > $10' END;
  END IF;
  EXECUTE format($q$
    WITH page AS (
      SELECT e.seq AS s, audit_event_json(e, c.position) AS j
        FROM audit_events e LEFT JOIN audit_chain c ON c.seq = e.seq
       WHERE true %s
       ORDER BY e.seq %s LIMIT $11 + 1)
    SELECT jsonb_build_object(
      'items', coalesce((SELECT jsonb_agg(x.j ORDER BY x.n)
                           FROM (SELECT j, row_number() OVER (ORDER BY s %s) AS n FROM page) x
                          WHERE x.n <= $11), '[]'),
      'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $11
                          THEN (SELECT page.s::text FROM page ORDER BY page.s %s
                                 LIMIT 1 OFFSET $11 - 1) END)
    $q$, v_where, CASE WHEN p_desc THEN 'DESC' ELSE '' END,
         CASE WHEN p_desc THEN 'DESC' ELSE '' END, CASE WHEN p_desc THEN 'DESC' ELSE '' END)
    INTO v_result
    USING v_city, p_city, p_from, p_to, p_actor_id, p_action, p_subject_type, p_subject_id,
          p_program, p_after, p_limit;
  RETURN v_result;
END $$;

CREATE FUNCTION audit_checkpoint_json(k audit_checkpoints) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('size', k.size, 'head_hash', encode(k.head_hash, 'hex'),
                            'signed_at', ts(k.signed_at), 'kid', k.kid,
                            'signature', encode(k.signature, 'hex'))
$$;

-- Checkpoints cover the whole log and disclose no event, so every audit reader sees them all.
CREATE FUNCTION audit_checkpoint_list(p_actor jsonb, p_desc boolean, p_after bigint, p_limit int)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
  PERFORM audit_reader_check(p_actor);
  IF p_desc THEN
    RETURN (
      WITH page AS (
        SELECT k FROM audit_checkpoints k WHERE k.size < coalesce(p_after, 9223372036854775807)
         ORDER BY k.size DESC LIMIT p_limit + 1)
      SELECT jsonb_build_object(
        'items', coalesce((SELECT jsonb_agg(audit_checkpoint_json(x.k) ORDER BY (x.k).size DESC)
                             FROM (SELECT k FROM page ORDER BY (k).size DESC LIMIT p_limit) x), '[]'),
        'next_cursor', CASE WHEN (SELECT count(*) FROM page) > p_limit
                            THEN (SELECT (k).size::text FROM page ORDER BY (k).size DESC
                                   LIMIT 1 OFFSET p_limit - 1) END));
  END IF;
  RETURN (
    WITH page AS (
      SELECT k FROM audit_checkpoints k WHERE k.size > coalesce(p_after, 0)
       ORDER BY k.size LIMIT p_limit + 1)
    SELECT jsonb_build_object(
      'items', coalesce((SELECT jsonb_agg(audit_checkpoint_json(x.k) ORDER BY (x.k).size)
                           FROM (SELECT k FROM page ORDER BY (k).size LIMIT p_limit) x), '[]'),
      'next_cursor', CASE WHEN (SELECT count(*) FROM page) > p_limit
                          THEN (SELECT (k).size::text FROM page ORDER BY (k).size
                                 LIMIT 1 OFFSET p_limit - 1) END));
END $$;
