-- 003 — the city's money: subsidy programmes, signed vouchers, redemptions, the ledger, the
-- registry of signing keys (the functions are in sql/functions/vouchers and ledger).
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
