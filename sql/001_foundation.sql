-- 001 — foundation: ids, problems, audit log, organisations, users, sessions, API keys,
-- login throttling, idempotency records.
--
-- Conventions for every later migration:
-- * Every state-changing function takes p_actor jsonb first ({user_id, role, org_id, city_id,
--   request_id, ip}) and appends its audit event through audit_append in the same transaction.
-- * Domain errors are raised with problem(slug, detail): SQLSTATE 'SL000', the message is the
--   problem slug that the server maps to its HTTP status (server/problems.def).
-- * Functions that answer the API return jsonb in the exact shape of openapi.yaml.

-- Time-ordered UUIDs (version 7), so that keyset pagination by id follows creation order.
CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
           PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
           FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;

CREATE FUNCTION problem(p_slug text, p_detail text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'SL000', MESSAGE = p_slug, DETAIL = p_detail;
END $$;

-- RFC 3339 rendering used in every JSON answer.
CREATE FUNCTION ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
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

CREATE FUNCTION audit_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP USING ERRCODE = '42501';
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_forbid_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_forbid_change();

CREATE FUNCTION audit_append(p_actor jsonb, p_action text, p_subject_type text,
                             p_subject_id uuid, p_data jsonb, p_city uuid DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO audit_events (actor_user, actor_role, actor_org, city_id, action, subject_type,
                            subject_id, data, request_id, client_ip)
  VALUES ((p_actor->>'user_id')::uuid, p_actor->>'role', (p_actor->>'org_id')::uuid,
          coalesce(p_city, nullif(p_actor->>'city_id', '')::uuid), p_action, p_subject_type,
          p_subject_id, coalesce(p_data, '{}'), p_actor->>'request_id', p_actor->>'ip')
$$;

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

-- ==== JSON shapes ==========================================================================
CREATE FUNCTION org_json(o organizations) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', o.id, 'type', o.type, 'name', o.name,
                            'city_id', CASE WHEN o.type IN ('provider', 'institute') THEN o.city_id END,
                            'created_at', ts(o.created_at))
$$;

CREATE FUNCTION user_json(u users) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', u.id, 'email', u.email, 'role', u.role,
                            'organization_id', u.organization_id,
                            'organization', (SELECT jsonb_build_object('id', o.id, 'type', o.type, 'name', o.name)
                                               FROM organizations o WHERE o.id = u.organization_id),
                            'city_id', (SELECT o.city_id FROM organizations o WHERE o.id = u.organization_id),
                            'created_at', ts(u.created_at))
$$;

-- The city an actor is confined to; NULL for the operator and national auditors.
CREATE FUNCTION actor_city(p_actor jsonb) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
  SELECT nullif(p_actor->>'city_id', '')::uuid
$$;

-- Whether the actor may see organisation o (a foreign one answers 404).
CREATE FUNCTION org_visible(p_actor jsonb, o organizations) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN p_actor->>'role' = 'operator' THEN true
    WHEN p_actor->>'role' IN ('city_admin', 'auditor') THEN actor_city(p_actor) IS NULL OR o.city_id = actor_city(p_actor)
    ELSE o.id = (p_actor->>'org_id')::uuid OR o.id = actor_city(p_actor)
  END
$$;

-- ==== organisations ========================================================================
CREATE FUNCTION org_create(p_actor jsonb, p_type text, p_name text, p_city uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_role text := p_actor->>'role';
  v_city uuid := p_city;
  v_org organizations;
  v_id uuid := uuid_v7();
BEGIN
  IF v_role = 'city_admin' THEN
    IF p_type NOT IN ('provider', 'institute') THEN
      PERFORM problem('forbidden', 'a city administrator registers providers and institutes only');
    END IF;
    IF v_city IS NOT NULL AND v_city <> actor_city(p_actor) THEN
      PERFORM problem('not-found', 'no city ' || v_city);
    END IF;
    v_city := actor_city(p_actor);
  ELSIF v_role <> 'operator' THEN
    PERFORM problem('forbidden', 'only operators and city administrators create organisations');
  END IF;
  IF p_type = 'operator' THEN
    PERFORM problem('validation-failed', 'type: the operator organisation exists already');
  ELSIF p_type = 'city' THEN
    IF p_city IS NOT NULL THEN
      PERFORM problem('validation-failed', 'city_id: a city is not inside another city');
    END IF;
    v_city := v_id;
  ELSE
    IF v_city IS NULL THEN
      PERFORM problem('validation-failed', 'city_id: required for a ' || p_type);
    END IF;
    PERFORM 1 FROM organizations WHERE id = v_city AND type = 'city';
    IF NOT FOUND THEN
      PERFORM problem('not-found', 'no city ' || v_city);
    END IF;
  END IF;
  INSERT INTO organizations (id, type, name, city_id) VALUES (v_id, p_type, p_name, v_city)
  RETURNING * INTO v_org;
  PERFORM audit_append(p_actor, 'organization.create', 'organization', v_org.id,
                       jsonb_build_object('type', p_type, 'name', p_name), v_org.city_id);
  RETURN org_json(v_org);
END $$;

CREATE FUNCTION org_list(p_actor jsonb, p_type text, p_after uuid, p_limit int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  WITH page AS (
    SELECT o FROM organizations o
     WHERE org_visible(p_actor, o)
       AND (p_type IS NULL OR o.type = p_type)
       AND (p_after IS NULL OR o.id > p_after)
     ORDER BY o.id LIMIT p_limit + 1)
  SELECT jsonb_build_object(
    'items', coalesce((SELECT jsonb_agg(org_json(x.o) ORDER BY (x.o).id)
                         FROM (SELECT o FROM page ORDER BY (o).id LIMIT p_limit) x), '[]'),
    'next_cursor', CASE WHEN (SELECT count(*) FROM page) > p_limit
                        THEN (SELECT (o).id::text FROM page ORDER BY (o).id LIMIT 1 OFFSET p_limit - 1) END)
$$;

CREATE FUNCTION org_get(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT org_json(o) FROM organizations o WHERE o.id = p_id AND org_visible(p_actor, o)
$$;

-- ==== users ================================================================================
CREATE FUNCTION user_create(p_actor jsonb, p_email text, p_hash text, p_role text, p_org uuid)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_org organizations;
  v_user users;
BEGIN
  SELECT * INTO v_org FROM organizations WHERE id = p_org;
  IF NOT FOUND OR NOT org_visible(p_actor, v_org) THEN
    PERFORM problem('not-found', 'no organization ' || p_org);
  END IF;
  IF p_actor->>'role' = 'city_admin' AND v_org.city_id IS DISTINCT FROM actor_city(p_actor) THEN
    PERFORM problem('not-found', 'no organization ' || p_org);
  ELSIF p_actor->>'role' NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('forbidden', 'only operators and city administrators create users');
  END IF;
  IF NOT ((v_org.type = 'operator' AND p_role IN ('operator', 'auditor'))
       OR (v_org.type = 'city' AND p_role IN ('city_admin', 'auditor'))
       OR (v_org.type = 'provider' AND p_role = 'provider')
       OR (v_org.type = 'institute' AND p_role = 'institute')) THEN
    PERFORM problem('validation-failed',
                    format('role: a %s user cannot belong to a %s organization', p_role, v_org.type));
  END IF;
  IF p_role = 'operator' AND p_actor->>'role' <> 'operator' THEN
    PERFORM problem('forbidden', 'only an operator creates operators');
  END IF;
  INSERT INTO users (email, password_hash, role, organization_id)
  VALUES (lower(p_email), p_hash, p_role, p_org) RETURNING * INTO v_user;
  PERFORM audit_append(p_actor, 'user.create', 'user', v_user.id,
                       jsonb_build_object('email', v_user.email, 'role', p_role, 'organization_id', p_org),
                       v_org.city_id);
  RETURN user_json(v_user);
END $$;

CREATE FUNCTION user_get(p_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT user_json(u) FROM users u WHERE u.id = p_id
$$;

-- ==== sessions =============================================================================
-- Returns the throttle state and, when not throttled, the user's hash (NULL if no such user).
CREATE FUNCTION login_check(p_email text, p_ip text, p_max int) RETURNS TABLE (
  throttled boolean, user_id uuid, password_hash text)
LANGUAGE sql STABLE AS $$
  SELECT (SELECT count(*) FROM login_failures f
           WHERE f.email = lower(p_email) AND f.client_ip = p_ip
             AND f.at > now() - interval '1 minute') >= p_max,
         u.id, u.password_hash
    FROM (SELECT 1) one
    LEFT JOIN users u ON u.email = lower(p_email) AND u.disabled_at IS NULL
$$;

CREATE FUNCTION login_failed(p_actor jsonb, p_email text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO login_failures (email, client_ip) VALUES (lower(p_email), p_actor->>'ip');
  DELETE FROM login_failures WHERE at < now() - interval '1 hour';
  PERFORM audit_append(p_actor, 'session.login_failed', 'user',
                       (SELECT id FROM users WHERE email = lower(p_email)),
                       jsonb_build_object('email', lower(p_email)));
END $$;

CREATE FUNCTION session_create(p_actor jsonb, p_user uuid, p_token_hash text, p_csrf_hash text,
                               p_ttl_s int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_session uuid;
  v_user users;
  v_city uuid;
BEGIN
  SELECT * INTO v_user FROM users WHERE id = p_user;
  SELECT city_id INTO v_city FROM organizations WHERE id = v_user.organization_id;
  INSERT INTO sessions (user_id, token_hash, csrf_hash, client_ip, expires_at)
  VALUES (p_user, p_token_hash, p_csrf_hash, p_actor->>'ip', now() + make_interval(secs => p_ttl_s))
  RETURNING id INTO v_session;
  DELETE FROM login_failures WHERE email = v_user.email AND client_ip = p_actor->>'ip';
  DELETE FROM sessions WHERE expires_at < now() - interval '1 day';
  PERFORM audit_append(p_actor || jsonb_build_object('user_id', p_user, 'role', v_user.role,
                                                     'org_id', v_user.organization_id),
                       'session.create', 'session', v_session, '{}', v_city);
  RETURN user_json(v_user);
END $$;

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

-- ==== API keys =============================================================================
CREATE FUNCTION api_key_json(k api_keys) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', k.id, 'name', k.name, 'prefix', k.prefix,
                            'created_at', ts(k.created_at), 'revoked_at', ts(k.revoked_at))
$$;

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

CREATE FUNCTION api_key_list(p_actor jsonb, p_after uuid, p_limit int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  WITH page AS (
    SELECT k FROM api_keys k
     WHERE k.user_id = (p_actor->>'user_id')::uuid AND (p_after IS NULL OR k.id > p_after)
     ORDER BY k.id LIMIT p_limit + 1)
  SELECT jsonb_build_object(
    'items', coalesce((SELECT jsonb_agg(api_key_json(x.k) ORDER BY (x.k).id)
                         FROM (SELECT k FROM page ORDER BY (k).id LIMIT p_limit) x), '[]'),
    'next_cursor', CASE WHEN (SELECT count(*) FROM page) > p_limit
                        THEN (SELECT (k).id::text FROM page ORDER BY (k).id LIMIT 1 OFFSET p_limit - 1) END)
$$;

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

-- ==== bootstrap and demo ===================================================================
CREATE FUNCTION operator_bootstrap(p_email text, p_hash text) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  v_org uuid;
  v_user uuid;
  v_actor jsonb := jsonb_build_object('role', 'operator', 'request_id', 'cli');
BEGIN
  SELECT id INTO v_org FROM organizations WHERE type = 'operator';
  IF NOT FOUND THEN
    INSERT INTO organizations (type, name) VALUES ('operator', 'Suanli Operations') RETURNING id INTO v_org;
    PERFORM audit_append(v_actor, 'organization.create', 'organization', v_org,
                         jsonb_build_object('type', 'operator', 'name', 'Suanli Operations'));
  END IF;
  INSERT INTO users (email, password_hash, role, organization_id)
  VALUES (lower(p_email), p_hash, 'operator', v_org) RETURNING id INTO v_user;
  PERFORM audit_append(v_actor, 'user.create', 'user', v_user,
                       jsonb_build_object('email', lower(p_email), 'role', 'operator'));
  RETURN v_user;
END $$;

-- The demo of DESIGN.md §6. Idempotent. Later migrations add their part of the demo as
-- functions demo_seed_NN_<area>(p_actor jsonb) that this calls in name order, each of which
-- must itself be idempotent.
CREATE FUNCTION demo_seed_parts(p_actor jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  f text;
BEGIN
  FOR f IN SELECT proname FROM pg_proc WHERE proname LIKE 'demo\_seed\_%' AND proname <> 'demo_seed_parts'
           ORDER BY proname LOOP
    EXECUTE format('SELECT %I($1)', f) USING p_actor;
  END LOOP;
END $$;

CREATE FUNCTION demo_seed(p_hash text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_actor jsonb := jsonb_build_object('role', 'operator', 'request_id', 'demo-seed');
  v_op uuid;
  v_city uuid;
  v_west uuid;
  v_east uuid;
  v_scu uuid;
BEGIN
  IF EXISTS (SELECT 1 FROM users WHERE email = 'lab@scu.suanli.demo') THEN
    PERFORM demo_seed_parts(v_actor);
    RETURN 'already seeded';
  END IF;
  SELECT id INTO v_op FROM organizations WHERE type = 'operator';
  IF NOT FOUND THEN
    INSERT INTO organizations (type, name) VALUES ('operator', 'Suanli Operations') RETURNING id INTO v_op;
  END IF;
  v_city := uuid_v7();
  INSERT INTO organizations (id, type, name, city_id) VALUES (v_city, 'city', 'Chengdu', v_city);
  INSERT INTO organizations (type, name, city_id) VALUES ('provider', 'West Cloud', v_city) RETURNING id INTO v_west;
  INSERT INTO organizations (type, name, city_id) VALUES ('provider', 'East Compute', v_city) RETURNING id INTO v_east;
  INSERT INTO organizations (type, name, city_id) VALUES ('institute', 'Sichuan University AI Lab', v_city) RETURNING id INTO v_scu;
  INSERT INTO users (email, password_hash, role, organization_id) VALUES
    ('operator@suanli.demo', p_hash, 'operator', v_op),
    ('admin@chengdu.suanli.demo', p_hash, 'city_admin', v_city),
    ('auditor@chengdu.suanli.demo', p_hash, 'auditor', v_city),
    ('ops@westcloud.suanli.demo', p_hash, 'provider', v_west),
    ('ops@eastcompute.suanli.demo', p_hash, 'provider', v_east),
    ('lab@scu.suanli.demo', p_hash, 'institute', v_scu);
  PERFORM audit_append(v_actor, 'demo.seed', 'organization', v_city,
                       jsonb_build_object('city', 'Chengdu'), v_city);
  PERFORM demo_seed_parts(v_actor);
  RETURN 'seeded Chengdu with 6 logins';
END $$;
