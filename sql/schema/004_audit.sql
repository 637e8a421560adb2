-- 004 — the tamper-evident audit log: the hash chain over audit_events, signed checkpoints,
-- the sealer's bookkeeping (the read side of GET /v1/audit/* is in sql/functions/audit).
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

-- Events that name a programme in their data, for the programme filter of GET /v1/audit/events.
-- Partial, so that events without one cost the writers nothing.
CREATE INDEX audit_events_program ON audit_events (((data->>'program_id')), seq)
  WHERE data ? 'program_id';

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
