-- 001 — foundation tables: the audit log, organisations, users, sessions, API keys, login
-- throttling, idempotency records. Schema files hold tables, indexes and data changes only
-- and are never edited once applied; functions live in sql/functions (README.md, "How it is
-- built").

-- Time-ordered UUIDs (version 7), so that keyset pagination by id follows creation order.
-- The one function kept in a schema file: column defaults depend on it, so it must outlive
-- the reload of sql/functions (which drops schema "api" with everything in it).
CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
           PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
           FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;

-- ==== audit log ============================================================================
-- Rows are append-only: a trigger refuses UPDATE, DELETE and TRUNCATE for every role but a
-- superuser who disables it on purpose (which the chain then exposes).
CREATE TABLE audit_events (
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor_user  uuid,
  actor_role  text,
  actor_org   uuid,
  city_id     uuid,
  action      text NOT NULL,
  subject_type text NOT NULL,
  subject_id  uuid,
  data        jsonb NOT NULL DEFAULT '{}',
  request_id  text,
  client_ip   text
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_subject ON audit_events (subject_id);
CREATE INDEX audit_events_city ON audit_events (city_id, seq);

-- ==== organisations and users ==============================================================
CREATE TABLE organizations (
  id         uuid PRIMARY KEY DEFAULT uuid_v7(),
  type       text NOT NULL CHECK (type IN ('operator', 'city', 'provider', 'institute')),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  city_id    uuid REFERENCES organizations (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT organizations_city_scope CHECK ((type = 'operator') = (city_id IS NULL)),
  CONSTRAINT organizations_city_self CHECK (type <> 'city' OR city_id = id),
  CONSTRAINT organizations_name_unique UNIQUE (type, name)
);
CREATE INDEX organizations_city ON organizations (city_id, id);

CREATE TABLE users (
  id              uuid PRIMARY KEY DEFAULT uuid_v7(),
  email           text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  password_hash   text NOT NULL,
  role            text NOT NULL CHECK (role IN ('operator', 'city_admin', 'auditor', 'provider', 'institute')),
  organization_id uuid NOT NULL REFERENCES organizations (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  disabled_at     timestamptz,
  CONSTRAINT users_email_unique UNIQUE (email)
);
CREATE INDEX users_org ON users (organization_id);

CREATE TABLE sessions (
  id          uuid PRIMARY KEY DEFAULT uuid_v7(),
  user_id     uuid NOT NULL REFERENCES users (id),
  token_hash  text NOT NULL UNIQUE,
  csrf_hash   text NOT NULL,
  client_ip   text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE api_keys (
  id          uuid PRIMARY KEY DEFAULT uuid_v7(),
  user_id     uuid NOT NULL REFERENCES users (id),
  name        text NOT NULL,
  prefix      text NOT NULL,
  key_hash    text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX api_keys_user ON api_keys (user_id, id);

CREATE TABLE login_failures (
  email     text NOT NULL,
  client_ip text NOT NULL,
  at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_lookup ON login_failures (email, client_ip, at);

-- Stripe-style idempotency: the reply of the first request under a key, kept 48 hours.
CREATE TABLE idempotency_keys (
  user_id      uuid NOT NULL,
  key          text NOT NULL,
  request_hash text NOT NULL,
  status       integer,
  content_type text,
  body         text,
  headers      jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
