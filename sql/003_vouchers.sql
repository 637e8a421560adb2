-- 003 — the city's money: subsidy programmes, signed vouchers, redemptions, the ledger, the
-- registry of signing keys, and the maintenance that releases expired vouchers.
--
-- Invariants (DESIGN.md §3) and where they are kept:
-- * I1 conservation: every money movement is one ledger entry whose postings sum to zero
--   (ledger_move / voucher_issue; a deferred constraint trigger refuses an unbalanced entry at
--   commit). ledger_check() proves the sums against every stored balance.
-- * I2 no overspend: CHECK constraints on programs (issued - released <= budget), vouchers
--   (0 <= balance <= face value) and orders (002: net = gross - subsidy >= 0), with the rules
--   checked first under row locks so that a refusal is a problem type, not a constraint error.
-- * Locks are always taken in the order order -> voucher(s) (by id) -> institute total ->
--   programme, so that concurrent redemptions, reversals, revocations and expiries cannot
--   deadlock one another; issuance and budget changes lock only the programme.
--
-- Accounts of the ledger (account_kind, account_id):
--   program_committed (programme)   what the city committed to the programme: -budget
--   program_budget    (programme)   budget not yet in vouchers: the available balance
--   voucher           (voucher)     the voucher's balance
--   order_subsidy     (order)       subsidy applied to a reserved order
--   provider_receivable (provider)  subsidy the city owes a provider for completed orders
-- Movements: fund (budget set or changed) committed -> budget; issue budget -> voucher;
-- redeem voucher -> order_subsidy; reverse order_subsidy -> voucher, or -> budget when the
-- voucher has expired or been revoked; release voucher -> budget (expiry, revocation);
-- settle order_subsidy -> provider_receivable (the order completed).

-- ==== signing keys =========================================================================
-- Every server registers the public half of its keyring at start (signing_keys_sync), so that
-- GET /v1/keys answers the same on every replica. Keys are never deleted: audit checkpoints
-- and vouchers signed by a retired key stay verifiable.
CREATE TABLE signing_keys (
  kid           text PRIMARY KEY CHECK (kid LIKE 'k4.pid.%'),
  paserk        text NOT NULL UNIQUE CHECK (paserk LIKE 'k4.public.%'),
  status        text NOT NULL CHECK (status IN ('current', 'retired')),
  created_at    timestamptz NOT NULL,
  registered_at timestamptz NOT NULL DEFAULT now(),
  retired_at    timestamptz
);

-- ==== programmes ===========================================================================
CREATE TABLE programs (
  id                    uuid PRIMARY KEY DEFAULT uuid_v7(),
  city_id               uuid NOT NULL REFERENCES organizations (id),
  name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  budget_fen            bigint NOT NULL CHECK (budget_fen BETWEEN 0 AND 1000000000000000),
  starts_at             timestamptz NOT NULL,
  ends_at               timestamptz NOT NULL,
  max_subsidy_bp        integer NOT NULL CHECK (max_subsidy_bp BETWEEN 1 AND 10000),
  resource_classes      text[] NOT NULL CHECK (cardinality(resource_classes) >= 1
                                               AND resource_classes <@ ARRAY['gpu', 'npu', 'cpu']),
  regions               text[] NOT NULL CHECK (cardinality(regions) >= 1),
  min_green_share       numeric NOT NULL DEFAULT 0 CHECK (min_green_share BETWEEN 0 AND 1),
  per_institute_cap_fen bigint CHECK (per_institute_cap_fen > 0),
  status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  version               integer NOT NULL DEFAULT 1,
  issued_fen            bigint NOT NULL DEFAULT 0 CHECK (issued_fen >= 0),
  released_fen          bigint NOT NULL DEFAULT 0 CHECK (released_fen >= 0),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT programs_window CHECK (ends_at > starts_at),
  CONSTRAINT programs_no_overspend CHECK (released_fen <= issued_fen
                                          AND issued_fen - released_fen <= budget_fen),
  CONSTRAINT programs_name_unique UNIQUE (city_id, name)
);
CREATE INDEX programs_city ON programs (city_id, id);

-- What an institute has redeemed from a programme (net of reversals). The row is the lock
-- that serialises one institute's redemptions in one programme, so that per_institute_cap_fen
-- holds under concurrency; the programme's redeemed_fen is the sum of its rows.
CREATE TABLE program_institute_totals (
  program_id   uuid NOT NULL REFERENCES programs (id),
  institute_id uuid NOT NULL REFERENCES organizations (id),
  redeemed_fen bigint NOT NULL DEFAULT 0 CHECK (redeemed_fen >= 0),
  PRIMARY KEY (program_id, institute_id)
);

-- ==== vouchers =============================================================================
-- Times are stored to the millisecond, as the token's claims show them, so that a voucher's
-- token can be recomputed byte for byte from its row and kid (Ed25519 is deterministic).
-- face_value = balance + redeemed + released, where released counts what expiry, revocation
-- and reversals after expiry returned to the programme.
CREATE TABLE vouchers (
  id             uuid PRIMARY KEY,
  program_id     uuid NOT NULL REFERENCES programs (id),
  city_id        uuid NOT NULL REFERENCES organizations (id),
  institute_id   uuid NOT NULL REFERENCES organizations (id),
  face_value_fen bigint NOT NULL CHECK (face_value_fen BETWEEN 1 AND 1000000000000),
  balance_fen    bigint NOT NULL,
  released_fen   bigint NOT NULL DEFAULT 0,
  not_before     timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  issued_at      timestamptz NOT NULL,
  kid            text NOT NULL REFERENCES signing_keys (kid),
  status         text NOT NULL DEFAULT 'active'
                   CHECK (status IN ('active', 'exhausted', 'revoked', 'expired')),
  revoked_at     timestamptz,
  revoke_reason  text,
  expired_at     timestamptz,
  CONSTRAINT vouchers_balance_in_range CHECK (balance_fen >= 0 AND balance_fen <= face_value_fen),
  CONSTRAINT vouchers_released_in_range CHECK (released_fen >= 0
                                               AND released_fen + balance_fen <= face_value_fen),
  CONSTRAINT vouchers_window CHECK (expires_at > not_before),
  -- an active voucher holds money; an exhausted, revoked or expired one holds none
  CONSTRAINT vouchers_status_balance CHECK ((status = 'active') = (balance_fen > 0))
);
CREATE INDEX vouchers_program ON vouchers (program_id, id);
CREATE INDEX vouchers_city ON vouchers (city_id, id);
CREATE INDEX vouchers_institute ON vouchers (institute_id, id);
CREATE INDEX vouchers_kid ON vouchers (kid, expires_at);
CREATE INDEX vouchers_due ON vouchers (expires_at) WHERE status IN ('active', 'exhausted');

-- ==== redemptions ==========================================================================
CREATE TABLE redemptions (
  id           uuid PRIMARY KEY DEFAULT uuid_v7(),
  voucher_id   uuid NOT NULL REFERENCES vouchers (id),
  order_id     uuid NOT NULL REFERENCES orders (id),
  program_id   uuid NOT NULL REFERENCES programs (id),
  institute_id uuid NOT NULL REFERENCES organizations (id),
  city_id      uuid NOT NULL REFERENCES organizations (id),
  amount_fen   bigint NOT NULL CHECK (amount_fen > 0),
  status       text NOT NULL DEFAULT 'applied' CHECK (status IN ('applied', 'reversed')),
  reversed_to  text CHECK (reversed_to IN ('voucher', 'program')),
  created_by   uuid REFERENCES users (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  reversed_at  timestamptz,
  CONSTRAINT redemptions_reversal CHECK ((status = 'reversed') = (reversed_to IS NOT NULL))
);
CREATE INDEX redemptions_voucher ON redemptions (voucher_id, id);
CREATE INDEX redemptions_order ON redemptions (order_id, id);
CREATE INDEX redemptions_program ON redemptions (program_id, id);
CREATE INDEX redemptions_city ON redemptions (city_id, id);
CREATE INDEX redemptions_institute ON redemptions (institute_id, id);

-- ==== ledger ===============================================================================
CREATE TABLE ledger_entries (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at            timestamptz NOT NULL DEFAULT now(),
  kind          text NOT NULL CHECK (kind IN ('fund', 'issue', 'redeem', 'reverse', 'release', 'settle')),
  program_id    uuid NOT NULL REFERENCES programs (id),
  voucher_id    uuid,
  order_id      uuid,
  redemption_id uuid,
  request_id    text
);
CREATE INDEX ledger_entries_program ON ledger_entries (program_id, id);

CREATE TABLE ledger_postings (
  entry_id     bigint NOT NULL REFERENCES ledger_entries (id),
  account_kind text NOT NULL CHECK (account_kind IN ('program_committed', 'program_budget', 'voucher',
                                                     'order_subsidy', 'provider_receivable')),
  account_id   uuid NOT NULL,
  program_id   uuid NOT NULL,
  amount_fen   bigint NOT NULL CHECK (amount_fen <> 0),
  PRIMARY KEY (entry_id, account_kind, account_id)
);
CREATE INDEX ledger_postings_account ON ledger_postings (account_kind, account_id) INCLUDE (amount_fen);

-- The last line of defence for I1: at commit, every entry of the transaction must have at
-- least two postings that sum to zero.
CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_sum numeric;
  v_n integer;
BEGIN
  SELECT coalesce(sum(amount_fen), 0), count(*) INTO v_sum, v_n
    FROM ledger_postings WHERE entry_id = NEW.id;
  IF v_sum <> 0 OR v_n < 2 THEN
    RAISE EXCEPTION 'ledger entry % (%) does not balance: % postings summing to %',
                    NEW.id, NEW.kind, v_n, v_sum
      USING ERRCODE = '23514', CONSTRAINT = 'ledger_entries_balanced';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();

-- The ledger is append-only, like the audit log: a correction is a new entry.
CREATE FUNCTION ledger_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the ledger is append-only (% on % refused)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = '42501';
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
  FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();

-- One movement of p_amount from one account to another, as one balanced entry.
CREATE FUNCTION ledger_move(p_actor jsonb, p_kind text, p_program uuid, p_voucher uuid,
                            p_order uuid, p_redemption uuid, p_from_kind text, p_from uuid,
                            p_to_kind text, p_to uuid, p_amount bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_entry bigint;
BEGIN
  INSERT INTO ledger_entries (kind, program_id, voucher_id, order_id, redemption_id, request_id)
  VALUES (p_kind, p_program, p_voucher, p_order, p_redemption, p_actor->>'request_id')
  RETURNING id INTO v_entry;
  INSERT INTO ledger_postings (entry_id, account_kind, account_id, program_id, amount_fen)
  VALUES (v_entry, p_from_kind, p_from, p_program, -p_amount),
         (v_entry, p_to_kind, p_to, p_program, p_amount);
  RETURN v_entry;
END $$;

-- The system itself as an actor (expiry, key registration, settlement).
CREATE FUNCTION system_actor(p_what text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('role', 'system', 'request_id', p_what)
$$;

-- ==== JSON shapes ==========================================================================
-- A programme's state as clients see it: suspended by its city, or by its window.
CREATE FUNCTION program_state(p programs) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p.status = 'suspended' THEN 'suspended'
              WHEN now() < p.starts_at THEN 'scheduled'
              WHEN now() >= p.ends_at THEN 'ended'
              ELSE 'active' END
$$;

CREATE FUNCTION program_redeemed(p_program uuid) RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(redeemed_fen), 0)::bigint FROM program_institute_totals
   WHERE program_id = p_program
$$;

CREATE FUNCTION program_json(p programs) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', p.id, 'city_id', p.city_id, 'name', p.name, 'budget_fen', p.budget_fen,
    'starts_at', ts(p.starts_at), 'ends_at', ts(p.ends_at), 'max_subsidy_bp', p.max_subsidy_bp,
    'resource_classes', to_jsonb(p.resource_classes), 'regions', to_jsonb(p.regions),
    'min_green_share', p.min_green_share, 'per_institute_cap_fen', p.per_institute_cap_fen,
    'status', program_state(p), 'version', p.version,
    'issued_fen', p.issued_fen, 'redeemed_fen', r.redeemed, 'released_fen', p.released_fen,
    'outstanding_fen', p.issued_fen - p.released_fen - r.redeemed,
    'available_fen', p.budget_fen - p.issued_fen + p.released_fen,
    'created_at', ts(p.created_at), 'updated_at', ts(p.updated_at))
    FROM (SELECT program_redeemed(p.id) AS redeemed) r
$$;

-- A voucher whose expiry is due but not yet released (a sweep skipped it while another
-- transaction held it) already shows as expired.
CREATE FUNCTION voucher_state(v vouchers) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN v.status IN ('active', 'exhausted') AND now() >= v.expires_at THEN 'expired'
              ELSE v.status END
$$;

CREATE FUNCTION voucher_json(v vouchers) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', v.id, 'program_id', v.program_id, 'city_id', v.city_id,
    'institute_id', v.institute_id, 'face_value_fen', v.face_value_fen,
    'balance_fen', v.balance_fen,
    'redeemed_fen', v.face_value_fen - v.balance_fen - v.released_fen,
    'released_fen', v.released_fen, 'currency', 'CNY',
    'not_before', ts(v.not_before), 'expires_at', ts(v.expires_at), 'issued_at', ts(v.issued_at),
    'status', voucher_state(v), 'kid', v.kid, 'revoked_at', ts(v.revoked_at),
    'revoke_reason', v.revoke_reason, 'expired_at', ts(v.expired_at))
$$;

CREATE FUNCTION redemption_json(r redemptions) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', r.id, 'voucher_id', r.voucher_id, 'order_id', r.order_id, 'program_id', r.program_id,
    'institute_id', r.institute_id, 'amount_fen', r.amount_fen, 'status', r.status,
    'reversed_to', r.reversed_to, 'created_by', r.created_by, 'created_at', ts(r.created_at),
    'reversed_at', ts(r.reversed_at))
$$;

-- ==== visibility ===========================================================================
-- City staff see their city's programmes (a national auditor and the operator: all).
CREATE FUNCTION program_visible(p_actor jsonb, p programs) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT CASE p_actor->>'role'
    WHEN 'operator' THEN true
    WHEN 'city_admin' THEN p.city_id = actor_city(p_actor)
    WHEN 'auditor' THEN actor_city(p_actor) IS NULL OR p.city_id = actor_city(p_actor)
    ELSE false
  END
$$;

-- Institutes see their own vouchers; city staff their city's.
CREATE FUNCTION voucher_visible(p_actor jsonb, v vouchers) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT CASE p_actor->>'role'
    WHEN 'operator' THEN true
    WHEN 'city_admin' THEN v.city_id = actor_city(p_actor)
    WHEN 'auditor' THEN actor_city(p_actor) IS NULL OR v.city_id = actor_city(p_actor)
    WHEN 'institute' THEN v.institute_id = (p_actor->>'org_id')::uuid
    ELSE false
  END
$$;

-- ==== expiry ===============================================================================
-- Releases the balance of every voucher whose expiry is due (of one programme, one city, or
-- all), at most p_limit of them, and marks them expired. Idempotent and safe to run from every
-- replica at once: each voucher is locked, and one another transaction holds is skipped (it
-- is released by the next sweep). Called by the read paths before they answer and by each
-- server's maintenance thread every few seconds, so no cron is needed.
CREATE FUNCTION voucher_expire_due(p_program uuid, p_city uuid, p_limit integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_actor jsonb := system_actor('voucher-expiry');
  v vouchers;
  v_n integer := 0;
BEGIN
  FOR v IN SELECT * FROM vouchers
            WHERE status IN ('active', 'exhausted') AND expires_at <= now()
              AND (p_program IS NULL OR program_id = p_program)
              AND (p_city IS NULL OR city_id = p_city)
            ORDER BY expires_at, id LIMIT p_limit
            FOR UPDATE SKIP LOCKED
  LOOP
    UPDATE vouchers SET status = 'expired', balance_fen = 0,
                        released_fen = released_fen + v.balance_fen, expired_at = now()
     WHERE id = v.id;
    IF v.balance_fen > 0 THEN
      UPDATE programs SET released_fen = released_fen + v.balance_fen WHERE id = v.program_id;
      PERFORM ledger_move(v_actor, 'release', v.program_id, v.id, NULL, NULL,
                          'voucher', v.id, 'program_budget', v.program_id, v.balance_fen);
    END IF;
    PERFORM audit_append(v_actor, 'voucher.expire', 'voucher', v.id,
                         jsonb_build_object('program_id', v.program_id,
                                            'released_fen', v.balance_fen), v.city_id);
    v_n := v_n + 1;
  END LOOP;
  RETURN v_n;
END $$;

-- The periodic work of every server (api/maintenance.c): expired vouchers, and idempotency
-- records past their 48 hours, both in bounded batches.
CREATE FUNCTION maintenance_tick() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_expired integer;
  v_keys integer;
BEGIN
  v_expired := voucher_expire_due(NULL, NULL, 1000);
  DELETE FROM idempotency_keys k
   USING (SELECT user_id, key FROM idempotency_keys
           WHERE created_at < now() - interval '48 hours'
           ORDER BY created_at LIMIT 1000
           FOR UPDATE SKIP LOCKED) old
   WHERE k.user_id = old.user_id AND k.key = old.key;
  GET DIAGNOSTICS v_keys = ROW_COUNT;
  RETURN jsonb_build_object('vouchers_expired', v_expired, 'idempotency_keys_deleted', v_keys);
END $$;

-- ==== signing keys =========================================================================
-- Registers a server's keyring ([{kid, paserk, created_at}]); the newest key by creation time
-- is current, all others retired.
CREATE FUNCTION signing_keys_sync(p_keys jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  k record;
  v_current text;
BEGIN
  FOR k IN SELECT e->>'kid' AS kid, e->>'paserk' AS paserk,
                  coalesce(nullif(e->>'created_at', '')::timestamptz, now()) AS created_at
             FROM jsonb_array_elements(p_keys) e
  LOOP
    INSERT INTO signing_keys (kid, paserk, status, created_at)
    VALUES (k.kid, k.paserk, 'retired', k.created_at)
    ON CONFLICT (kid) DO NOTHING;
    IF FOUND THEN
      PERFORM audit_append(system_actor('key-registration'), 'signing_key.register',
                           'signing_key', NULL, jsonb_build_object('kid', k.kid, 'paserk', k.paserk));
    END IF;
  END LOOP;
  -- one registration at a time decides which key is current
  PERFORM pg_advisory_xact_lock(7243519871);
  SELECT kid INTO v_current FROM signing_keys ORDER BY created_at DESC, kid DESC LIMIT 1;
  UPDATE signing_keys SET status = 'retired', retired_at = now()
   WHERE status = 'current' AND kid <> v_current;
  UPDATE signing_keys SET status = 'current', retired_at = NULL
   WHERE kid = v_current AND status <> 'current';
END $$;

-- GET /v1/keys: every key, with not_after for a retired key = when the last voucher it signed
-- expires (after that it verifies only old audit checkpoints).
CREATE FUNCTION signing_key_list() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'items', coalesce(jsonb_agg(jsonb_build_object(
               'kid', k.kid, 'paserk', k.paserk, 'status', k.status,
               'created_at', ts(k.created_at), 'retired_at', ts(k.retired_at),
               'not_after', CASE WHEN k.status = 'retired'
                                 THEN ts((SELECT max(v.expires_at) FROM vouchers v WHERE v.kid = k.kid)) END)
             ORDER BY k.created_at DESC, k.kid), '[]'),
    'next_cursor', NULL)
    FROM signing_keys k
$$;

-- ==== programmes: create, read, update =====================================================
-- Region codes and resource classes of a request, or all of them when absent; unknown ones
-- are refused naming the field.
CREATE FUNCTION program_rule_lists(p_body jsonb, OUT classes text[], OUT regions text[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_bad text;
BEGIN
  classes := CASE WHEN jsonb_typeof(p_body->'resource_classes') = 'array'
                  THEN ARRAY(SELECT DISTINCT c FROM jsonb_array_elements_text(p_body->'resource_classes') c ORDER BY c)
                  ELSE ARRAY['cpu', 'gpu', 'npu'] END;
  regions := CASE WHEN jsonb_typeof(p_body->'regions') = 'array'
                  THEN ARRAY(SELECT DISTINCT r FROM jsonb_array_elements_text(p_body->'regions') r ORDER BY r)
                  ELSE ARRAY(SELECT code FROM regions ORDER BY code) END;
  SELECT c INTO v_bad FROM unnest(classes) c WHERE c NOT IN ('gpu', 'npu', 'cpu') LIMIT 1;
  IF FOUND THEN
    PERFORM problem('validation-failed', 'resource_classes: unknown resource class ' || v_bad);
  END IF;
  SELECT r INTO v_bad FROM unnest(regions) r WHERE NOT EXISTS (SELECT 1 FROM regions g WHERE g.code = r) LIMIT 1;
  IF FOUND THEN
    PERFORM problem('validation-failed', 'regions: unknown region ' || v_bad);
  END IF;
END $$;

-- POST /v1/programs. p_body was checked by the server (types, ranges, known fields). A city
-- administrator creates in its own city; the operator names the city.
CREATE FUNCTION program_create(p_actor jsonb, p_body jsonb)
RETURNS TABLE (program jsonb, version integer) LANGUAGE plpgsql AS $$
DECLARE
  v_role text := p_actor->>'role';
  v_city uuid := coalesce((p_body->>'city_id')::uuid, actor_city(p_actor));
  v_lists record;
  v_starts timestamptz := coalesce((p_body->>'starts_at')::timestamptz, now());
  v_ends timestamptz := (p_body->>'ends_at')::timestamptz;
  v_p programs;
BEGIN
  IF v_role NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('forbidden', 'only city administrators and the operator create programmes');
  END IF;
  IF v_role = 'city_admin' AND v_city IS DISTINCT FROM actor_city(p_actor) THEN
    PERFORM problem('not-found', 'no city ' || v_city);
  END IF;
  IF v_city IS NULL THEN
    PERFORM problem('validation-failed', 'city_id: required when the operator creates a programme');
  END IF;
  PERFORM 1 FROM organizations WHERE id = v_city AND type = 'city';
  IF NOT FOUND THEN
    PERFORM problem('not-found', 'no city ' || v_city);
  END IF;
  IF v_ends <= v_starts THEN
    PERFORM problem('validation-failed', 'ends_at: must be after starts_at');
  END IF;
  IF v_ends <= now() THEN
    PERFORM problem('validation-failed', 'ends_at: must be in the future');
  END IF;
  SELECT * INTO v_lists FROM program_rule_lists(p_body);
  INSERT INTO programs (city_id, name, budget_fen, starts_at, ends_at, max_subsidy_bp,
                        resource_classes, regions, min_green_share, per_institute_cap_fen)
  VALUES (v_city, p_body->>'name', (p_body->>'budget_fen')::bigint, v_starts, v_ends,
          (p_body->>'max_subsidy_bp')::integer, v_lists.classes, v_lists.regions,
          coalesce((p_body->>'min_green_share')::numeric, 0),
          (p_body->>'per_institute_cap_fen')::bigint)
  RETURNING * INTO v_p;
  IF v_p.budget_fen > 0 THEN
    PERFORM ledger_move(p_actor, 'fund', v_p.id, NULL, NULL, NULL, 'program_committed', v_p.id,
                        'program_budget', v_p.id, v_p.budget_fen);
  END IF;
  PERFORM audit_append(p_actor, 'program.create', 'program', v_p.id,
                       program_json(v_p) || jsonb_build_object('program_id', v_p.id), v_p.city_id);
  RETURN QUERY SELECT program_json(v_p), v_p.version;
END $$;

-- GET /v1/programs/{id}: releases the programme's due expiries first, so that its balances
-- are current.
CREATE FUNCTION program_get(p_actor jsonb, p_id uuid)
RETURNS TABLE (program jsonb, version integer) LANGUAGE plpgsql AS $$
DECLARE
  v_p programs;
BEGIN
  SELECT * INTO v_p FROM programs WHERE id = p_id;
  IF NOT FOUND OR NOT program_visible(p_actor, v_p) THEN
    RETURN;
  END IF;
  IF voucher_expire_due(p_id, NULL, 1000) > 0 THEN
    SELECT * INTO v_p FROM programs WHERE id = p_id;
  END IF;
  RETURN QUERY SELECT program_json(v_p), v_p.version;
END $$;

CREATE FUNCTION program_list(p_actor jsonb, p_city uuid, p_after uuid, p_limit integer)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  PERFORM voucher_expire_due(NULL, coalesce(actor_city(p_actor), p_city), 1000);
  RETURN (
    WITH page AS (
      SELECT p FROM programs p
       WHERE program_visible(p_actor, p)
         AND (p_city IS NULL OR p.city_id = p_city)
         AND (p_after IS NULL OR p.id > p_after)
       ORDER BY p.id LIMIT p_limit + 1)
    SELECT jsonb_build_object(
      'items', coalesce((SELECT jsonb_agg(program_json(x.p) ORDER BY (x.p).id)
                           FROM (SELECT p FROM page ORDER BY (p).id LIMIT p_limit) x), '[]'),
      'next_cursor', CASE WHEN (SELECT count(*) FROM page) > p_limit
                          THEN (SELECT (p).id::text FROM page ORDER BY (p).id LIMIT 1 OFFSET p_limit - 1) END));
END $$;

-- PATCH /v1/programs/{id} with If-Match. A field absent from p_patch is unchanged;
-- per_institute_cap_fen: null removes the cap. The budget can never drop below what is issued
-- and not released (I2); a change of budget is a ledger entry.
CREATE FUNCTION program_update(p_actor jsonb, p_id uuid, p_version integer, p_patch jsonb)
RETURNS TABLE (program jsonb, version integer) LANGUAGE plpgsql AS $$
DECLARE
  v_old programs;
  v_new programs;
  v_lists record;
  v_budget bigint;
BEGIN
  SELECT * INTO v_old FROM programs WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR NOT program_visible(p_actor, v_old)
     OR p_actor->>'role' NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('not-found', 'no programme ' || p_id);
  END IF;
  IF p_version IS NOT NULL AND p_version <> v_old.version THEN
    PERFORM problem('precondition-failed',
                    format('the programme is at version %s, not %s; read it again', v_old.version, p_version));
  END IF;
  IF NOT EXISTS (SELECT 1 FROM jsonb_each(p_patch) WHERE value <> 'null' OR key = 'per_institute_cap_fen') THEN
    RETURN QUERY SELECT program_json(v_old), v_old.version;
    RETURN;
  END IF;
  v_budget := coalesce((p_patch->>'budget_fen')::bigint, v_old.budget_fen);
  IF v_budget < v_old.issued_fen - v_old.released_fen THEN
    PERFORM problem('budget-below-committed',
                    format('budget_fen: %s fen are issued and not released; the budget cannot be lower',
                           v_old.issued_fen - v_old.released_fen));
  END IF;
  SELECT * INTO v_lists FROM program_rule_lists(jsonb_build_object(
    'resource_classes', coalesce(nullif(p_patch->'resource_classes', 'null'), to_jsonb(v_old.resource_classes)),
    'regions', coalesce(nullif(p_patch->'regions', 'null'), to_jsonb(v_old.regions))));
  UPDATE programs p SET
    name = coalesce(p_patch->>'name', p.name),
    budget_fen = v_budget,
    starts_at = coalesce((p_patch->>'starts_at')::timestamptz, p.starts_at),
    ends_at = coalesce((p_patch->>'ends_at')::timestamptz, p.ends_at),
    max_subsidy_bp = coalesce((p_patch->>'max_subsidy_bp')::integer, p.max_subsidy_bp),
    resource_classes = v_lists.classes,
    regions = v_lists.regions,
    min_green_share = coalesce((p_patch->>'min_green_share')::numeric, p.min_green_share),
    per_institute_cap_fen = CASE WHEN p_patch ? 'per_institute_cap_fen'
                                 THEN (p_patch->>'per_institute_cap_fen')::bigint
                                 ELSE p.per_institute_cap_fen END,
    status = coalesce(p_patch->>'status', p.status),
    version = p.version + 1,
    updated_at = now()
   WHERE p.id = p_id RETURNING * INTO v_new;
  IF v_new.ends_at <= v_new.starts_at THEN
    PERFORM problem('validation-failed', 'ends_at: must be after starts_at');
  END IF;
  IF v_new.budget_fen <> v_old.budget_fen THEN
    PERFORM ledger_move(p_actor, 'fund', p_id, NULL, NULL, NULL, 'program_committed', p_id,
                        'program_budget', p_id, v_new.budget_fen - v_old.budget_fen);
  END IF;
  PERFORM audit_append(p_actor, 'program.update', 'program', p_id,
                       jsonb_build_object('program_id', p_id, 'from_version', v_old.version,
                                          'changes', p_patch), v_new.city_id);
  RETURN QUERY SELECT program_json(v_new), v_new.version;
END $$;

-- ==== vouchers: issuance ===================================================================
-- POST /v1/programs/{id}/vouchers: p_items is [{institute_id, face_value_fen, not_before?,
-- expires_at}] (1 to 10 000, shapes checked by the server), p_kid the key that signs their
-- tokens. All or nothing: every voucher must be for an institute of the programme's city, lie
-- inside the programme's window, and together they must fit in the available budget. The
-- programme row lock serialises issuance, so racing batches can never overspend (I2).
-- Answers {"items": [voucher…]} in the order of p_items.
CREATE FUNCTION voucher_issue(p_actor jsonb, p_program uuid, p_kid text, p_items jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_p programs;
  v_now timestamptz := date_trunc('milliseconds', now());
  v_default_nbf timestamptz;
  v_bad record;
  v_total numeric;
  v_count integer;
  v_available bigint;
  v_ids uuid[];
  v_entry bigint;
BEGIN
  SELECT * INTO v_p FROM programs WHERE id = p_program FOR UPDATE;
  IF NOT FOUND OR NOT program_visible(p_actor, v_p)
     OR p_actor->>'role' NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('not-found', 'no programme ' || p_program);
  END IF;
  IF v_p.status = 'suspended' OR now() >= v_p.ends_at THEN
    PERFORM problem('program-not-active',
                    format('programme %s is %s; it issues no vouchers', p_program, program_state(v_p)));
  END IF;
  PERFORM 1 FROM signing_keys WHERE kid = p_kid;
  IF NOT FOUND THEN
    PERFORM problem('service-unavailable', 'the signing key is not registered yet; retry shortly');
  END IF;
  v_default_nbf := greatest(v_now, date_trunc('milliseconds', v_p.starts_at));

  SELECT x.n - 1 AS i, x.institute_id, x.nbf, x.exp, o.id IS NULL AS unknown INTO v_bad
    FROM (SELECT t.n, (t.e->>'institute_id')::uuid AS institute_id,
                 date_trunc('milliseconds', coalesce((t.e->>'not_before')::timestamptz, v_default_nbf)) AS nbf,
                 date_trunc('milliseconds', (t.e->>'expires_at')::timestamptz) AS exp
            FROM jsonb_array_elements(p_items) WITH ORDINALITY t(e, n)) x
    LEFT JOIN organizations o ON o.id = x.institute_id AND o.type = 'institute'
                             AND o.city_id = v_p.city_id
   WHERE o.id IS NULL OR x.exp <= x.nbf OR x.exp <= v_now OR x.exp > v_p.ends_at
   ORDER BY x.n LIMIT 1;
  IF FOUND THEN
    IF v_bad.unknown THEN
      PERFORM problem('not-found', format('vouchers[%s].institute_id: no institute %s in the programme''s city',
                                          v_bad.i, v_bad.institute_id));
    ELSIF v_bad.exp <= v_now THEN
      PERFORM problem('validation-failed', format('vouchers[%s].expires_at: must be in the future', v_bad.i));
    ELSIF v_bad.exp <= v_bad.nbf THEN
      PERFORM problem('validation-failed', format('vouchers[%s].expires_at: must be after not_before (%s)',
                                                  v_bad.i, ts(v_bad.nbf)));
    ELSE
      PERFORM problem('validation-failed', format('vouchers[%s].expires_at: must not be after the programme ends (%s)',
                                                  v_bad.i, ts(v_p.ends_at)));
    END IF;
  END IF;

  SELECT coalesce(sum((e->>'face_value_fen')::bigint), 0), count(*) INTO v_total, v_count
    FROM jsonb_array_elements(p_items) e;
  v_available := v_p.budget_fen - v_p.issued_fen + v_p.released_fen;
  IF v_total > v_available THEN
    PERFORM problem('budget-exceeded',
                    format('the %s vouchers need %s fen; programme %s has %s fen available',
                           v_count, v_total, p_program, v_available));
  END IF;

  WITH input AS MATERIALIZED (
    SELECT t.n, uuid_v7() AS id, (t.e->>'institute_id')::uuid AS institute_id,
           (t.e->>'face_value_fen')::bigint AS face,
           date_trunc('milliseconds', coalesce((t.e->>'not_before')::timestamptz, v_default_nbf)) AS nbf,
           date_trunc('milliseconds', (t.e->>'expires_at')::timestamptz) AS exp
      FROM jsonb_array_elements(p_items) WITH ORDINALITY t(e, n)),
  ins AS (
    INSERT INTO vouchers (id, program_id, city_id, institute_id, face_value_fen, balance_fen,
                          not_before, expires_at, issued_at, kid)
    SELECT id, p_program, v_p.city_id, institute_id, face, face, nbf, exp, v_now, p_kid
      FROM input ORDER BY n
    RETURNING id)
  SELECT array_agg(input.id ORDER BY input.n) INTO v_ids FROM input;

  UPDATE programs SET issued_fen = issued_fen + v_total::bigint WHERE id = p_program;
  INSERT INTO ledger_entries (kind, program_id, voucher_id, request_id)
  VALUES ('issue', p_program, CASE WHEN v_count = 1 THEN v_ids[1] END, p_actor->>'request_id')
  RETURNING id INTO v_entry;
  INSERT INTO ledger_postings (entry_id, account_kind, account_id, program_id, amount_fen)
  SELECT v_entry, 'program_budget', p_program, p_program, -v_total::bigint
  UNION ALL
  SELECT v_entry, 'voucher', v.id, p_program, v.face_value_fen
    FROM vouchers v WHERE v.id = ANY (v_ids);
  PERFORM audit_append(p_actor, 'voucher.issue', 'voucher', v.id,
                       jsonb_build_object('program_id', p_program, 'institute_id', v.institute_id,
                                          'face_value_fen', v.face_value_fen,
                                          'not_before', ts(v.not_before),
                                          'expires_at', ts(v.expires_at), 'kid', p_kid,
                                          'batch_size', v_count),
                       v_p.city_id)
     FROM vouchers v WHERE v.id = ANY (v_ids);
  RETURN jsonb_build_object('items', (SELECT jsonb_agg(voucher_json(v) ORDER BY u.n)
                                        FROM unnest(v_ids) WITH ORDINALITY u(id, n)
                                        JOIN vouchers v ON v.id = u.id));
END $$;

-- ==== vouchers: reads ======================================================================
CREATE FUNCTION voucher_get(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v vouchers;
BEGIN
  SELECT * INTO v FROM vouchers WHERE id = p_id;
  IF NOT FOUND OR NOT voucher_visible(p_actor, v) THEN
    RETURN NULL;
  END IF;
  IF v.status IN ('active', 'exhausted') AND now() >= v.expires_at
     AND voucher_expire_due(v.program_id, NULL, 1000) > 0 THEN
    SELECT * INTO v FROM vouchers WHERE id = p_id;
  END IF;
  RETURN voucher_json(v);
END $$;

-- GET /v1/vouchers with optional filters; status filters on the state clients see.
CREATE FUNCTION voucher_list(p_actor jsonb, p_program uuid, p_institute uuid, p_status text,
                             p_after uuid, p_limit integer)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  PERFORM voucher_expire_due(p_program, actor_city(p_actor), 1000);
  RETURN (
    WITH page AS (
      SELECT v FROM vouchers v
       WHERE CASE p_actor->>'role'
               WHEN 'institute' THEN v.institute_id = (p_actor->>'org_id')::uuid
               WHEN 'city_admin' THEN v.city_id = actor_city(p_actor)
               ELSE voucher_visible(p_actor, v)
             END
         AND (p_program IS NULL OR v.program_id = p_program)
         AND (p_institute IS NULL OR v.institute_id = p_institute)
         AND (p_status IS NULL OR voucher_state(v) = p_status)
         AND (p_after IS NULL OR v.id > p_after)
       ORDER BY v.id LIMIT p_limit + 1)
    SELECT jsonb_build_object(
      'items', coalesce((SELECT jsonb_agg(voucher_json(x.v) ORDER BY (x.v).id)
                           FROM (SELECT v FROM page ORDER BY (v).id LIMIT p_limit) x), '[]'),
      'next_cursor', CASE WHEN (SELECT count(*) FROM page) > p_limit
                          THEN (SELECT (v).id::text FROM page ORDER BY (v).id LIMIT 1 OFFSET p_limit - 1) END));
END $$;

-- The live state of a voucher whose token verified (POST /v1/vouchers/verify): any caller who
-- holds the token may see it. NULL when there is no such voucher.
CREATE FUNCTION voucher_live(p_id uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v vouchers;
BEGIN
  SELECT * INTO v FROM vouchers WHERE id = p_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF v.status IN ('active', 'exhausted') AND now() >= v.expires_at
     AND voucher_expire_due(v.program_id, NULL, 1000) > 0 THEN
    SELECT * INTO v FROM vouchers WHERE id = p_id;
  END IF;
  RETURN jsonb_build_object('id', v.id, 'status', voucher_state(v), 'balance_fen', v.balance_fen,
                            'not_before', ts(v.not_before), 'expires_at', ts(v.expires_at),
                            'program_status', (SELECT program_state(p) FROM programs p WHERE p.id = v.program_id));
END $$;

-- ==== vouchers: revocation =================================================================
-- POST /v1/vouchers/{id}/revoke: the unspent balance returns to the programme.
CREATE FUNCTION voucher_revoke(p_actor jsonb, p_id uuid, p_reason text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v vouchers;
BEGIN
  SELECT * INTO v FROM vouchers WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR NOT voucher_visible(p_actor, v)
     OR p_actor->>'role' NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('not-found', 'no voucher ' || p_id);
  END IF;
  IF v.status = 'revoked' THEN
    PERFORM problem('voucher-revoked', format('voucher %s was revoked at %s', p_id, ts(v.revoked_at)));
  END IF;
  IF v.status = 'expired' OR now() >= v.expires_at THEN
    PERFORM problem('voucher-expired', format('voucher %s expired at %s', p_id, ts(v.expires_at)));
  END IF;
  UPDATE vouchers SET status = 'revoked', balance_fen = 0,
                      released_fen = released_fen + v.balance_fen, revoked_at = now(),
                      revoke_reason = p_reason
   WHERE id = p_id;
  IF v.balance_fen > 0 THEN
    UPDATE programs SET released_fen = released_fen + v.balance_fen WHERE id = v.program_id;
    PERFORM ledger_move(p_actor, 'release', v.program_id, p_id, NULL, NULL,
                        'voucher', p_id, 'program_budget', v.program_id, v.balance_fen);
  END IF;
  PERFORM audit_append(p_actor, 'voucher.revoke', 'voucher', p_id,
                       jsonb_build_object('program_id', v.program_id, 'released_fen', v.balance_fen,
                                          'reason', p_reason), v.city_id);
  SELECT * INTO v FROM vouchers WHERE id = p_id;
  RETURN voucher_json(v);
END $$;

-- ==== redemptions ==========================================================================
-- Applies p_amount (NULL: as much as the rules allow) of voucher p_voucher to order p_order
-- and returns the redemption. Every condition of DESIGN.md §2 is checked, each failing one
-- with its own problem type, before anything changes; p_field prefixes the field names in
-- details (e.g. "vouchers[2]."). A voucher of another institute is 404 when named by id (as if
-- it did not exist) and voucher-not-yours when named by a token, whose signature already
-- proves that it exists.
CREATE FUNCTION redeem_one(p_actor jsonb, p_voucher uuid, p_order uuid, p_amount bigint,
                           p_via_token boolean, p_field text)
RETURNS redemptions LANGUAGE plpgsql AS $$
DECLARE
  v_org uuid := (p_actor->>'org_id')::uuid;
  v_field text := p_field || CASE WHEN p_via_token THEN 'token' ELSE 'voucher_id' END;
  o orders;
  v vouchers;
  p programs;
  f offers;
  v_total bigint;
  v_ratio_room bigint;
  v_cap_room bigint;
  v_amount bigint;
  r redemptions;
BEGIN
  SELECT * INTO o FROM orders WHERE id = p_order FOR UPDATE;
  IF NOT FOUND OR o.institute_id IS DISTINCT FROM v_org OR p_actor->>'role' <> 'institute' THEN
    PERFORM problem('not-found', format('%sorder_id: no order %s', p_field, p_order));
  END IF;
  SELECT * INTO v FROM vouchers WHERE id = p_voucher FOR UPDATE;
  IF NOT FOUND OR (v.institute_id <> v_org AND NOT p_via_token) THEN
    PERFORM problem('not-found', format('%s: no voucher %s', v_field, p_voucher));
  END IF;
  IF v.institute_id <> v_org THEN
    PERFORM problem('voucher-not-yours',
                    format('%s: voucher %s belongs to another institute', v_field, p_voucher));
  END IF;
  IF v.status = 'revoked' THEN
    PERFORM problem('voucher-revoked',
                    format('%s: voucher %s was revoked at %s', v_field, p_voucher, ts(v.revoked_at)));
  END IF;
  IF v.status = 'expired' OR now() >= v.expires_at THEN
    PERFORM problem('voucher-expired',
                    format('%s: voucher %s expired at %s', v_field, p_voucher, ts(v.expires_at)));
  END IF;
  IF now() < v.not_before THEN
    PERFORM problem('voucher-not-yet-valid',
                    format('%s: voucher %s is valid from %s', v_field, p_voucher, ts(v.not_before)));
  END IF;
  SELECT * INTO p FROM programs WHERE id = v.program_id;
  IF program_state(p) <> 'active' THEN
    PERFORM problem('program-not-active',
                    format('%s: programme %s of voucher %s is %s', v_field, p.id, p_voucher, program_state(p)));
  END IF;
  IF o.status <> 'reserved' THEN
    PERFORM problem('order-state-conflict',
                    format('order %s is %s; vouchers apply to reserved orders only', p_order, o.status));
  END IF;
  SELECT * INTO f FROM offers WHERE id = o.offer_id;
  IF NOT f.resource_class = ANY (p.resource_classes) THEN
    PERFORM problem('offer-not-eligible',
                    format('%s: programme %s subsidises %s capacity, not %s', v_field, p.id,
                           array_to_string(p.resource_classes, ', '), f.resource_class));
  END IF;
  IF NOT f.region = ANY (p.regions) THEN
    PERFORM problem('offer-not-eligible',
                    format('%s: programme %s subsidises the regions %s, not %s', v_field, p.id,
                           array_to_string(p.regions, ', '), f.region));
  END IF;
  IF f.green_share < p.min_green_share THEN
    PERFORM problem('offer-not-eligible',
                    format('%s: programme %s requires a green share of at least %s; offer %s has %s',
                           v_field, p.id, p.min_green_share, f.id, f.green_share));
  END IF;
  -- the institute's running total in this programme: its row lock serialises the cap check
  INSERT INTO program_institute_totals (program_id, institute_id) VALUES (p.id, v_org)
  ON CONFLICT DO NOTHING;
  SELECT t.redeemed_fen INTO v_total FROM program_institute_totals t
   WHERE t.program_id = p.id AND t.institute_id = v_org FOR UPDATE;
  v_ratio_room := floor(o.gross_fen::numeric * p.max_subsidy_bp / 10000)::bigint - o.subsidy_fen;
  v_cap_room := CASE WHEN p.per_institute_cap_fen IS NULL THEN v.balance_fen
                     ELSE p.per_institute_cap_fen - v_total END;
  v_amount := coalesce(p_amount, greatest(least(v.balance_fen, v_ratio_room, v_cap_room), 0));
  IF v_amount > v.balance_fen OR v.balance_fen = 0 THEN
    PERFORM problem('insufficient-balance',
                    format('%samount_fen: voucher %s holds %s fen; %s requested', p_field, p_voucher,
                           v.balance_fen, coalesce(p_amount::text, 'some')));
  END IF;
  IF v_amount > v_ratio_room OR v_ratio_room <= 0 THEN
    PERFORM problem('subsidy-ratio-exceeded',
                    format('%samount_fen: programme %s covers at most %s bp of order %s (gross %s fen): %s fen more at most, %s requested',
                           p_field, p.id, p.max_subsidy_bp, p_order, o.gross_fen,
                           greatest(v_ratio_room, 0), coalesce(p_amount::text, 'some')));
  END IF;
  IF v_amount > v_cap_room OR v_cap_room <= 0 THEN
    PERFORM problem('institute-cap-exceeded',
                    format('%samount_fen: programme %s caps each institute at %s fen; %s fen are redeemed, %s requested',
                           p_field, p.id, p.per_institute_cap_fen, v_total,
                           coalesce(p_amount::text, 'some')));
  END IF;

  UPDATE vouchers SET balance_fen = balance_fen - v_amount,
                      status = CASE WHEN balance_fen = v_amount THEN 'exhausted' ELSE status END
   WHERE id = p_voucher;
  UPDATE orders SET subsidy_fen = subsidy_fen + v_amount, net_fen = net_fen - v_amount
   WHERE id = p_order;
  UPDATE program_institute_totals SET redeemed_fen = redeemed_fen + v_amount
   WHERE program_id = p.id AND institute_id = v_org;
  INSERT INTO redemptions (voucher_id, order_id, program_id, institute_id, city_id, amount_fen,
                           created_by)
  VALUES (p_voucher, p_order, p.id, v_org, p.city_id, v_amount, (p_actor->>'user_id')::uuid)
  RETURNING * INTO r;
  PERFORM ledger_move(p_actor, 'redeem', p.id, p_voucher, p_order, r.id,
                      'voucher', p_voucher, 'order_subsidy', p_order, v_amount);
  PERFORM audit_append(p_actor, 'redemption.create', 'redemption', r.id,
                       jsonb_build_object('program_id', p.id, 'voucher_id', p_voucher,
                                          'order_id', p_order, 'amount_fen', v_amount,
                                          'via', CASE WHEN p_via_token THEN 'token' ELSE 'voucher_id' END),
                       p.city_id);
  RETURN r;
END $$;

-- POST /v1/redemptions: one round trip, one transaction.
CREATE FUNCTION redemption_create(p_actor jsonb, p_voucher uuid, p_order uuid, p_amount bigint,
                                  p_via_token boolean)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  RETURN redemption_json(redeem_one(p_actor, p_voucher, p_order, p_amount, p_via_token, ''));
END $$;

CREATE FUNCTION redemption_list(p_actor jsonb, p_voucher uuid, p_order uuid, p_program uuid,
                                p_after uuid, p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_org uuid := (p_actor->>'org_id')::uuid;
  v_city uuid := actor_city(p_actor);
BEGIN
  RETURN (
    WITH page AS (
      SELECT r FROM redemptions r
       WHERE CASE p_actor->>'role'
               WHEN 'operator' THEN true
               WHEN 'institute' THEN r.institute_id = v_org
               WHEN 'city_admin' THEN r.city_id = v_city
               WHEN 'auditor' THEN v_city IS NULL OR r.city_id = v_city
               WHEN 'provider' THEN EXISTS (SELECT 1 FROM orders o JOIN offers f ON f.id = o.offer_id
                                             WHERE o.id = r.order_id AND f.provider_id = v_org)
               ELSE false
             END
         AND (p_voucher IS NULL OR r.voucher_id = p_voucher)
         AND (p_order IS NULL OR r.order_id = p_order)
         AND (p_program IS NULL OR r.program_id = p_program)
         AND (p_after IS NULL OR r.id > p_after)
       ORDER BY r.id LIMIT p_limit + 1)
    SELECT jsonb_build_object(
      'items', coalesce((SELECT jsonb_agg(redemption_json(x.r) ORDER BY (x.r).id)
                           FROM (SELECT r FROM page ORDER BY (r).id LIMIT p_limit) x), '[]'),
      'next_cursor', CASE WHEN (SELECT count(*) FROM page) > p_limit
                          THEN (SELECT (r).id::text FROM page ORDER BY (r).id LIMIT 1 OFFSET p_limit - 1) END));
END $$;

-- ==== seams of sql/002_marketplace.sql =====================================================
-- Called inside order_create: redeems each of p_vouchers ([{voucher_id, amount_fen?,
-- via_token?}]) on the new order. The server has already verified every token and replaced it
-- by its voucher_id (api_vouchers_resolve_tokens); a token that reaches SQL was not verified
-- and is refused. The vouchers are locked in id order first, so that two orders naming the
-- same vouchers in different orders cannot deadlock.
CREATE OR REPLACE FUNCTION order_apply_vouchers(p_actor jsonb, p_order uuid, p_vouchers jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  e record;
  v_dup record;
BEGIN
  IF jsonb_typeof(p_vouchers) <> 'array' OR jsonb_array_length(p_vouchers) = 0 THEN
    RETURN;
  END IF;
  SELECT t.n - 1 AS i INTO e FROM jsonb_array_elements(p_vouchers) WITH ORDINALITY t(x, n)
   WHERE t.x ? 'token' OR NOT t.x ? 'voucher_id' ORDER BY t.n LIMIT 1;
  IF FOUND THEN
    PERFORM problem('validation-failed',
                    format('vouchers[%s].token: voucher tokens must be verified by the server first', e.i));
  END IF;
  SELECT t.n - 1 AS i, t.x->>'voucher_id' AS id INTO v_dup
    FROM jsonb_array_elements(p_vouchers) WITH ORDINALITY t(x, n)
   WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(p_vouchers) WITH ORDINALITY u(y, m)
                  WHERE u.m < t.n AND u.y->>'voucher_id' = t.x->>'voucher_id')
   ORDER BY t.n LIMIT 1;
  IF FOUND THEN
    PERFORM problem('validation-failed',
                    format('vouchers[%s].voucher_id: voucher %s is named twice', v_dup.i, v_dup.id));
  END IF;
  PERFORM 1 FROM orders WHERE id = p_order FOR UPDATE;
  PERFORM 1 FROM vouchers
   WHERE id IN (SELECT (x->>'voucher_id')::uuid FROM jsonb_array_elements(p_vouchers) x)
   ORDER BY id FOR UPDATE;
  FOR e IN SELECT t.n - 1 AS i, (t.x->>'voucher_id')::uuid AS voucher_id,
                  (t.x->>'amount_fen')::bigint AS amount,
                  coalesce((t.x->>'via_token')::boolean, false) AS via_token
             FROM jsonb_array_elements(p_vouchers) WITH ORDINALITY t(x, n) ORDER BY t.n
  LOOP
    PERFORM redeem_one(p_actor, e.voucher_id, p_order, e.amount, e.via_token,
                       format('vouchers[%s].', e.i));
  END LOOP;
END $$;

-- Called by order_cancel before the order is marked cancelled: every applied redemption is
-- reversed. The amount returns to its voucher, or to the programme when the voucher has since
-- expired or been revoked (then it counts as released).
CREATE OR REPLACE FUNCTION order_reverse_redemptions(p_actor jsonb, p_order uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  r redemptions;
  v vouchers;
  v_to text;
BEGIN
  PERFORM 1 FROM vouchers
   WHERE id IN (SELECT voucher_id FROM redemptions WHERE order_id = p_order AND status = 'applied')
   ORDER BY id FOR UPDATE;
  FOR r IN SELECT * FROM redemptions WHERE order_id = p_order AND status = 'applied'
            ORDER BY id FOR UPDATE
  LOOP
    SELECT * INTO v FROM vouchers WHERE id = r.voucher_id;
    IF v.status IN ('active', 'exhausted') AND now() < v.expires_at THEN
      v_to := 'voucher';
      UPDATE vouchers SET balance_fen = balance_fen + r.amount_fen, status = 'active'
       WHERE id = v.id;
      PERFORM ledger_move(p_actor, 'reverse', r.program_id, v.id, p_order, r.id,
                          'order_subsidy', p_order, 'voucher', v.id, r.amount_fen);
    ELSE
      v_to := 'program';
      UPDATE vouchers SET released_fen = released_fen + r.amount_fen WHERE id = v.id;
      UPDATE programs SET released_fen = released_fen + r.amount_fen WHERE id = r.program_id;
      PERFORM ledger_move(p_actor, 'reverse', r.program_id, v.id, p_order, r.id,
                          'order_subsidy', p_order, 'program_budget', r.program_id, r.amount_fen);
    END IF;
    UPDATE program_institute_totals SET redeemed_fen = redeemed_fen - r.amount_fen
     WHERE program_id = r.program_id AND institute_id = r.institute_id;
    UPDATE redemptions SET status = 'reversed', reversed_to = v_to, reversed_at = now()
     WHERE id = r.id;
    PERFORM audit_append(p_actor, 'redemption.reverse', 'redemption', r.id,
                         jsonb_build_object('program_id', r.program_id, 'voucher_id', r.voucher_id,
                                            'order_id', p_order, 'amount_fen', r.amount_fen,
                                            'returned_to', v_to), r.city_id);
  END LOOP;
  UPDATE orders SET subsidy_fen = 0, net_fen = gross_fen WHERE id = p_order AND subsidy_fen <> 0;
END $$;

-- When an order completes, its subsidy becomes owed to the provider: a trigger, so that no
-- completion path can forget the ledger.
CREATE FUNCTION order_settle_subsidy() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  x record;
  v_provider uuid;
BEGIN
  SELECT provider_id INTO v_provider FROM offers WHERE id = NEW.offer_id;
  FOR x IN SELECT program_id, sum(amount_fen)::bigint AS amount FROM redemptions
            WHERE order_id = NEW.id AND status = 'applied' GROUP BY program_id ORDER BY program_id
  LOOP
    PERFORM ledger_move(system_actor('order-settlement'), 'settle', x.program_id, NULL, NEW.id,
                        NULL, 'order_subsidy', NEW.id, 'provider_receivable', v_provider, x.amount);
  END LOOP;
  RETURN NULL;
END $$;
CREATE TRIGGER orders_settle_subsidy AFTER UPDATE OF status ON orders FOR EACH ROW
  WHEN (OLD.status = 'reserved' AND NEW.status = 'completed' AND NEW.subsidy_fen > 0)
  EXECUTE FUNCTION order_settle_subsidy();

-- What vouchers p_voucher_ids of the actor would pay on an order of p_gross on p_offer, under
-- their programmes' rules, applied in the given order (for pricing match plans; nothing is
-- locked or changed). Vouchers that could not pay (foreign, spent, expired, ineligible) add 0.
CREATE OR REPLACE FUNCTION match_subsidy(p_actor jsonb, p_offer uuid, p_gross bigint,
                                         p_voucher_ids uuid[])
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
  f offers;
  x record;
  v_total bigint := 0;
  v_used jsonb := '{}';
  v_room bigint;
  v_amount bigint;
BEGIN
  SELECT * INTO f FROM offers WHERE id = p_offer;
  IF NOT FOUND OR p_gross IS NULL OR p_gross <= 0 OR p_voucher_ids IS NULL THEN
    RETURN 0;
  END IF;
  FOR x IN SELECT v.id, v.balance_fen, v.program_id, p.max_subsidy_bp, p.per_institute_cap_fen,
                  coalesce(t.redeemed_fen, 0) AS redeemed
             FROM unnest(p_voucher_ids) WITH ORDINALITY u(id, n)
             JOIN vouchers v ON v.id = u.id
             JOIN programs p ON p.id = v.program_id
             LEFT JOIN program_institute_totals t ON t.program_id = p.id AND t.institute_id = v.institute_id
            WHERE v.institute_id = (p_actor->>'org_id')::uuid AND v.status = 'active'
              AND now() >= v.not_before AND now() < v.expires_at
              AND program_state(p) = 'active'
              AND f.resource_class = ANY (p.resource_classes) AND f.region = ANY (p.regions)
              AND f.green_share >= p.min_green_share
            ORDER BY u.n
  LOOP
    v_room := floor(p_gross::numeric * x.max_subsidy_bp / 10000)::bigint - v_total;
    IF x.per_institute_cap_fen IS NOT NULL THEN
      v_room := least(v_room, x.per_institute_cap_fen - x.redeemed
                              - coalesce((v_used->>(x.program_id::text))::bigint, 0));
    END IF;
    v_amount := greatest(least(x.balance_fen, v_room), 0);
    v_total := v_total + v_amount;
    v_used := v_used || jsonb_build_object(x.program_id::text,
                          coalesce((v_used->>(x.program_id::text))::bigint, 0) + v_amount);
  END LOOP;
  RETURN v_total;
END $$;

-- ==== ledger check =========================================================================
-- Proves I1 and I2 and that every stored balance equals its ledger sum (`suanlid
-- ledger-check`, and the tests after every scenario). Answers {"ok", "checked", "problems":
-- [{check, subject, detail}]} with at most 100 problems.
CREATE FUNCTION ledger_check() RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_problems jsonb := '[]';
  x record;
BEGIN
  -- every entry balances, and so does the whole ledger
  FOR x IN SELECT e.id, e.kind, coalesce(sum(p.amount_fen), 0) AS total, count(p.entry_id) AS n
             FROM ledger_entries e LEFT JOIN ledger_postings p ON p.entry_id = e.id
            GROUP BY e.id HAVING coalesce(sum(p.amount_fen), 0) <> 0 OR count(p.entry_id) < 2 LIMIT 100
  LOOP
    v_problems := v_problems || jsonb_build_object('check', 'entry_balanced', 'subject', x.id::text,
                    'detail', format('%s entry has %s postings summing to %s', x.kind, x.n, x.total));
  END LOOP;
  IF (SELECT coalesce(sum(amount_fen), 0) FROM ledger_postings) <> 0 THEN
    v_problems := v_problems || jsonb_build_object('check', 'ledger_sums_to_zero', 'subject', 'ledger',
                    'detail', format('all postings sum to %s', (SELECT sum(amount_fen) FROM ledger_postings)));
  END IF;

  -- programmes: stored budget, issued, released and redeemed against the ledger, and I1/I2
  FOR x IN
    WITH l AS (
      SELECT p.program_id,
             sum(p.amount_fen) FILTER (WHERE p.account_kind = 'program_committed') AS committed,
             sum(p.amount_fen) FILTER (WHERE p.account_kind = 'program_budget') AS available,
             -sum(p.amount_fen) FILTER (WHERE p.account_kind = 'program_budget' AND e.kind = 'issue') AS issued,
             sum(p.amount_fen) FILTER (WHERE p.account_kind = 'program_budget' AND e.kind IN ('release', 'reverse')) AS released,
             sum(p.amount_fen) FILTER (WHERE p.account_kind IN ('order_subsidy', 'provider_receivable')) AS redeemed
        FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
       GROUP BY p.program_id)
    SELECT g.id, g.budget_fen, g.issued_fen, g.released_fen, program_redeemed(g.id) AS redeemed,
           coalesce(l.committed, 0) AS l_committed, coalesce(l.available, 0) AS l_available,
           coalesce(l.issued, 0) AS l_issued, coalesce(l.released, 0) AS l_released,
           coalesce(l.redeemed, 0) AS l_redeemed,
           (SELECT coalesce(sum(v.balance_fen), 0) FROM vouchers v WHERE v.program_id = g.id) AS balances
      FROM programs g LEFT JOIN l ON l.program_id = g.id
  LOOP
    IF -x.l_committed <> x.budget_fen
       OR x.l_available <> x.budget_fen - x.issued_fen + x.released_fen
       OR x.l_issued <> x.issued_fen OR x.l_released <> x.released_fen
       OR x.l_redeemed <> x.redeemed THEN
      v_problems := v_problems || jsonb_build_object('check', 'program_matches_ledger', 'subject', x.id::text,
                      'detail', format('stored budget %s issued %s released %s redeemed %s; ledger budget %s available %s issued %s released %s redeemed %s',
                                       x.budget_fen, x.issued_fen, x.released_fen, x.redeemed,
                                       -x.l_committed, x.l_available, x.l_issued, x.l_released, x.l_redeemed));
    END IF;
    IF x.issued_fen - x.released_fen <> x.balances + x.redeemed THEN
      v_problems := v_problems || jsonb_build_object('check', 'I1_conservation', 'subject', x.id::text,
                      'detail', format('issued %s - released %s <> outstanding balances %s + redeemed %s',
                                       x.issued_fen, x.released_fen, x.balances, x.redeemed));
    END IF;
    IF x.issued_fen - x.released_fen > x.budget_fen OR x.released_fen > x.issued_fen THEN
      v_problems := v_problems || jsonb_build_object('check', 'I2_no_overspend', 'subject', x.id::text,
                      'detail', format('issued %s - released %s exceeds budget %s',
                                       x.issued_fen, x.released_fen, x.budget_fen));
    END IF;
  END LOOP;

  -- vouchers: balance equals the ledger; what left it equals its applied redemptions
  FOR x IN SELECT v.id, v.balance_fen, v.face_value_fen, v.released_fen,
                  (SELECT coalesce(sum(p.amount_fen), 0) FROM ledger_postings p
                    WHERE p.account_kind = 'voucher' AND p.account_id = v.id) AS l_balance,
                  (SELECT coalesce(sum(r.amount_fen), 0) FROM redemptions r
                    WHERE r.voucher_id = v.id AND r.status = 'applied') AS applied
             FROM vouchers v
  LOOP
    IF x.l_balance <> x.balance_fen OR x.balance_fen < 0
       OR x.face_value_fen - x.balance_fen - x.released_fen <> x.applied THEN
      v_problems := v_problems || jsonb_build_object('check', 'voucher_matches_ledger', 'subject', x.id::text,
                      'detail', format('balance %s (ledger %s), face %s, released %s, applied redemptions %s',
                                       x.balance_fen, x.l_balance, x.face_value_fen, x.released_fen, x.applied));
    END IF;
  END LOOP;

  -- orders with vouchers: subsidy equals the ledger (order_subsidy while reserved,
  -- provider_receivable once completed, nothing once cancelled) and its applied redemptions
  FOR x IN SELECT o.id, o.status, o.subsidy_fen, o.gross_fen, o.net_fen,
                  (SELECT coalesce(sum(p.amount_fen), 0) FROM ledger_postings p
                    WHERE p.account_kind = 'order_subsidy' AND p.account_id = o.id) AS l_subsidy,
                  (SELECT coalesce(sum(p.amount_fen), 0) FROM ledger_postings p
                     JOIN ledger_entries e ON e.id = p.entry_id
                    WHERE p.account_kind = 'provider_receivable' AND e.order_id = o.id) AS l_receivable,
                  (SELECT coalesce(sum(r.amount_fen), 0) FROM redemptions r
                    WHERE r.order_id = o.id AND r.status = 'applied') AS applied
             FROM orders o
            WHERE o.subsidy_fen <> 0
               OR EXISTS (SELECT 1 FROM redemptions r WHERE r.order_id = o.id)
  LOOP
    IF x.subsidy_fen <> x.applied OR x.net_fen <> x.gross_fen - x.subsidy_fen
       OR x.subsidy_fen > x.gross_fen
       OR (x.status = 'reserved' AND (x.l_subsidy <> x.subsidy_fen OR x.l_receivable <> 0))
       OR (x.status = 'completed' AND (x.l_subsidy <> 0 OR x.l_receivable <> x.subsidy_fen))
       OR (x.status = 'cancelled' AND (x.l_subsidy <> 0 OR x.subsidy_fen <> 0)) THEN
      v_problems := v_problems || jsonb_build_object('check', 'order_matches_ledger', 'subject', x.id::text,
                      'detail', format('%s order: subsidy %s of gross %s (ledger: order %s, receivable %s), applied redemptions %s',
                                       x.status, x.subsidy_fen, x.gross_fen, x.l_subsidy, x.l_receivable, x.applied));
    END IF;
  END LOOP;

  -- institute totals (the cap) equal their applied redemptions
  FOR x IN SELECT t.program_id, t.institute_id, t.redeemed_fen,
                  (SELECT coalesce(sum(r.amount_fen), 0) FROM redemptions r
                    WHERE r.program_id = t.program_id AND r.institute_id = t.institute_id
                      AND r.status = 'applied') AS applied
             FROM program_institute_totals t
  LOOP
    IF x.redeemed_fen <> x.applied THEN
      v_problems := v_problems || jsonb_build_object('check', 'institute_total_matches', 'subject',
                      x.program_id || '/' || x.institute_id,
                      'detail', format('stored %s, applied redemptions %s', x.redeemed_fen, x.applied));
    END IF;
  END LOOP;

  RETURN jsonb_build_object(
    'ok', jsonb_array_length(v_problems) = 0,
    'checked', jsonb_build_object(
      'entries', (SELECT count(*) FROM ledger_entries),
      'postings', (SELECT count(*) FROM ledger_postings),
      'programs', (SELECT count(*) FROM programs),
      'vouchers', (SELECT count(*) FROM vouchers),
      'redemptions', (SELECT count(*) FROM redemptions)),
    'problems', (SELECT coalesce(jsonb_agg(p), '[]') FROM (SELECT p FROM jsonb_array_elements(v_problems) p LIMIT 100) q));
END $$;

-- ==== demo =================================================================================
-- DESIGN.md §6: Chengdu's programme and the Sichuan University AI Lab's voucher, signed with
-- the current key (the server registers its keyring before it seeds).
CREATE FUNCTION demo_seed_20_vouchers(p_actor jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_city uuid;
  v_scu uuid;
  v_program uuid;
  v_kid text;
  v_start timestamptz := date_trunc('day', now());
BEGIN
  SELECT id INTO v_city FROM organizations WHERE type = 'city' AND name = 'Chengdu';
  SELECT id INTO v_scu FROM organizations WHERE type = 'institute' AND name = 'Sichuan University AI Lab';
  IF v_city IS NULL OR v_scu IS NULL THEN
    RETURN;
  END IF;
  SELECT id INTO v_program FROM programs WHERE city_id = v_city AND name = 'Chengdu Compute Voucher 2026';
  IF NOT FOUND THEN
    SELECT c.program->>'id' INTO v_program
      FROM program_create(p_actor, jsonb_build_object(
             'city_id', v_city, 'name', 'Chengdu Compute Voucher 2026', 'budget_fen', 1000000000,
             'starts_at', v_start, 'ends_at', v_start + interval '2 years',
             'max_subsidy_bp', 5000, 'min_green_share', 0)) c;
  END IF;
  SELECT kid INTO v_kid FROM signing_keys WHERE status = 'current';
  IF v_kid IS NULL OR EXISTS (SELECT 1 FROM vouchers WHERE program_id = v_program AND institute_id = v_scu) THEN
    RETURN;
  END IF;
  PERFORM voucher_issue(p_actor, v_program, v_kid, jsonb_build_array(jsonb_build_object(
            'institute_id', v_scu, 'face_value_fen', 50000000,
            'expires_at', v_start + interval '1 year')));
END $$;
