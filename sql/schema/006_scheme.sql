-- 006 — the voucher scheme of issue 13: applications (申领 → 审核 → 发放), the providers a
-- programme accredits, related parties, and the rules cities publish (a yearly cap per
-- institute, a cap per contract, tiered subsidy ratios, a co-funding split). The functions are
-- in sql/functions/scheme; the rules are enforced in redeem_one (sql/functions/vouchers).
--
-- Locks: an approval locks its application, then the programme (as voucher_issue does), so
-- that concurrent approvals are decided one at a time against the available budget. A
-- redemption takes order -> voucher(s) -> institute total -> institute year total, as before.

-- ==== the rules ============================================================================
-- per_institute_year_cap_fen: what one institute may redeem from the programme in a calendar
--   year (UTC), beside the lifetime per_institute_cap_fen.
-- per_contract_cap_bp: the subsidy of one contract (an approved application's contract value,
--   else the order's gross) at most this share.
-- domestic_subsidy_bp / west_subsidy_bp: the ratio for offers of a domestic accelerator
--   (domestic_accelerators) or in a western hub, where higher than max_subsidy_bp.
-- funders: the co-funding split [{"funder": "province", "share_bp": 5000}, …] (shares sum to
--   10 000; empty: the city alone); each redemption is one ledger entry per funder's share.
ALTER TABLE programs
  ADD COLUMN open_to_all_providers boolean NOT NULL DEFAULT true,
  ADD COLUMN per_institute_year_cap_fen bigint CHECK (per_institute_year_cap_fen > 0),
  ADD COLUMN per_contract_cap_bp integer CHECK (per_contract_cap_bp BETWEEN 1 AND 10000),
  ADD COLUMN domestic_subsidy_bp integer CHECK (domestic_subsidy_bp BETWEEN 1 AND 10000),
  ADD COLUMN west_subsidy_bp integer CHECK (west_subsidy_bp BETWEEN 1 AND 10000),
  ADD COLUMN funders jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(funders) = 'array');

-- Accelerator families made in China (matched case-insensitively against offers.accelerator).
CREATE TABLE domestic_accelerators (
  accelerator text PRIMARY KEY CHECK (accelerator = lower(accelerator)),
  vendor      text NOT NULL
);
INSERT INTO domestic_accelerators (accelerator, vendor) VALUES
  ('ascend-910b', 'Huawei'), ('ascend-910c', 'Huawei'), ('ascend-310p', 'Huawei'),
  ('mlu370', 'Cambricon'), ('mlu590', 'Cambricon'), ('kunlun-r200', 'Kunlunxin'),
  ('kunlun-p800', 'Kunlunxin'), ('dcu-z100', 'Hygon'), ('br100', 'Biren'),
  ('mtt-s4000', 'Moore Threads');

-- What an institute redeemed from a programme in one calendar year (net of reversals); the row
-- lock serialises the yearly cap as program_institute_totals does the lifetime one.
CREATE TABLE program_institute_years (
  program_id   uuid NOT NULL REFERENCES programs (id),
  institute_id uuid NOT NULL REFERENCES organizations (id),
  year         integer NOT NULL,
  redeemed_fen bigint NOT NULL DEFAULT 0 CHECK (redeemed_fen >= 0),
  PRIMARY KEY (program_id, institute_id, year)
);

-- ==== accredited providers =================================================================
CREATE TABLE program_providers (
  program_id  uuid NOT NULL REFERENCES programs (id),
  provider_id uuid NOT NULL REFERENCES organizations (id),
  status      text NOT NULL CHECK (status IN ('pending', 'accredited', 'suspended')),
  note        text CHECK (length(note) <= 500),
  updated_by  uuid REFERENCES users (id),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (program_id, provider_id)
);

-- ==== related parties ======================================================================
-- A provider and an institute declared related (ownership, shared management): a voucher never
-- pays for an order between them. city_id is the institute's city (its administrator declares).
CREATE TABLE related_parties (
  id           uuid PRIMARY KEY DEFAULT uuid_v7(),
  city_id      uuid NOT NULL REFERENCES organizations (id),
  provider_id  uuid NOT NULL REFERENCES organizations (id),
  institute_id uuid NOT NULL REFERENCES organizations (id),
  note         text CHECK (length(note) <= 500),
  created_by   uuid REFERENCES users (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT related_parties_pair UNIQUE (provider_id, institute_id)
);
CREATE INDEX related_parties_city ON related_parties (city_id, id);

-- ==== applications =========================================================================
CREATE TABLE applications (
  id                 uuid PRIMARY KEY DEFAULT uuid_v7(),
  program_id         uuid NOT NULL REFERENCES programs (id),
  city_id            uuid NOT NULL REFERENCES organizations (id),
  institute_id       uuid NOT NULL REFERENCES organizations (id),
  provider_id        uuid REFERENCES organizations (id),
  requested_fen      bigint NOT NULL CHECK (requested_fen BETWEEN 1 AND 1000000000000),
  contract_value_fen bigint CHECK (contract_value_fen BETWEEN 1 AND 1000000000000000),
  purpose            text NOT NULL CHECK (length(purpose) BETWEEN 1 AND 2000),
  contract_reference text NOT NULL CHECK (length(contract_reference) BETWEEN 1 AND 200),
  attachments        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(attachments) = 'array'),
  status             text NOT NULL DEFAULT 'submitted'
                       CHECK (status IN ('submitted', 'waitlisted', 'approved', 'rejected', 'withdrawn')),
  approved_fen       bigint CHECK (approved_fen > 0),
  decision_note      text,
  voucher_id         uuid REFERENCES vouchers (id),
  created_by         uuid REFERENCES users (id),
  decided_by         uuid REFERENCES users (id),
  created_at         timestamptz NOT NULL DEFAULT now(),
  decided_at         timestamptz,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT applications_approved CHECK ((status = 'approved') = (voucher_id IS NOT NULL)
                                          AND (status = 'approved') = (approved_fen IS NOT NULL))
);
-- one live application per contract reference and programme (a rejected or withdrawn one
-- frees the reference)
CREATE UNIQUE INDEX applications_contract ON applications (program_id, contract_reference)
  WHERE status IN ('submitted', 'waitlisted', 'approved');
CREATE INDEX applications_city ON applications (city_id, id);
CREATE INDEX applications_institute ON applications (institute_id, id);
CREATE INDEX applications_program ON applications (program_id, institute_id) WHERE status = 'approved';

-- The application a voucher was issued for (NULL: issued directly).
ALTER TABLE vouchers ADD COLUMN application_id uuid REFERENCES applications (id);

-- Co-funding: the funder of a ledger entry (NULL: not split), and the split of a redemption,
-- [{"funder", "amount_fen"}], that its reversal returns share by share.
ALTER TABLE ledger_entries ADD COLUMN funder text;
ALTER TABLE redemptions ADD COLUMN funder_shares jsonb;

-- The yearly totals of redemptions made before this migration.
INSERT INTO program_institute_years (program_id, institute_id, year, redeemed_fen)
SELECT program_id, institute_id, extract(year FROM created_at AT TIME ZONE 'UTC')::integer,
       sum(amount_fen)
  FROM redemptions WHERE status = 'applied' GROUP BY 1, 2, 3;
