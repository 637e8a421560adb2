-- 009 — paying the subsidy out (兑付) and taking it back (追回), issue 14. The functions are in
-- sql/functions/settlement.
--
-- What is payable: an order's subsidy sits in provider_receivable (account_id = the provider
-- of its offer, entry order_id = the order) once completed; usage (008) re-bills it on accepted
-- usage and sets orders.due_at when it becomes payable. The payable amount of one line
-- (order, programme, funder) is its provider_receivable balance.
--
-- Who is paid: programs.payee — 'provider' (the provider of the order's offer) or 'institute'
-- (Beijing's model: the institute that bought). One payout batch is proposed per payee and
-- city (the programme's city), with one item per payable line of its due orders and one
-- (negative) item per debt of the payee that the batch nets off, in the same programme.
--
-- States: proposed -> approved (a second administrator of the city: the two-person rule) ->
-- paid (the bank transfer's reference recorded); proposed or approved -> cancelled. Only the
-- step to paid moves money in the ledger.
--
-- Accounts (account_kind, account_id), all per programme:
--   payee_paid        (payee)      what was transferred to the payee
--   payee_debt        (payee)      negative: what a payee owes back after a recovery
--   program_recovered (programme)  subsidy recovered and not given back to a voucher
-- Movements: payout provider_receivable -> payee_paid (per item, per funder share);
-- net payee_paid -> payee_debt (a debt netted off by a payout); recover provider_receivable
-- -> program_recovered (offset against the order's unpaid receivable), payee_debt ->
-- program_recovered (the rest, owed), program_recovered -> voucher (restore_voucher).
--
-- Locks: a proposal, and a recovery, lock the payee's organization row (FOR NO KEY UPDATE)
-- before reading what is due, so that two processes proposing at once see each other's
-- batches; the partial UNIQUE index on payout_items is the last line of defence (I8).

-- 008 adds these with usage; here only if it has not (so that 009 stands on its own).
ALTER TABLE programs ADD COLUMN IF NOT EXISTS payee text NOT NULL DEFAULT 'provider'
  CHECK (payee IN ('provider', 'institute'));
ALTER TABLE orders ADD COLUMN IF NOT EXISTS usage_accepted_at timestamptz;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS due_at timestamptz;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS buyer_paid_fen bigint NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS orders_due ON orders (due_at) WHERE due_at IS NOT NULL;

-- ==== payouts ==============================================================================
CREATE TABLE payouts (
  id                 uuid PRIMARY KEY DEFAULT uuid_v7(),
  city_id            uuid NOT NULL REFERENCES organizations (id),
  payee_kind         text NOT NULL CHECK (payee_kind IN ('provider', 'institute')),
  payee_id           uuid NOT NULL REFERENCES organizations (id),
  state              text NOT NULL DEFAULT 'proposed'
                       CHECK (state IN ('proposed', 'approved', 'paid', 'cancelled')),
  gross_fen          bigint NOT NULL CHECK (gross_fen > 0),
  netted_fen         bigint NOT NULL DEFAULT 0 CHECK (netted_fen >= 0),
  total_fen          bigint NOT NULL,
  note               text CHECK (length(note) <= 500),
  proposed_by        uuid NOT NULL REFERENCES users (id),
  proposed_at        timestamptz NOT NULL DEFAULT now(),
  approved_by        uuid REFERENCES users (id),
  approved_at        timestamptz,
  paid_by            uuid REFERENCES users (id),
  paid_at            timestamptz,
  transfer_reference text CHECK (length(transfer_reference) BETWEEN 1 AND 200),
  cancelled_by       uuid REFERENCES users (id),
  cancelled_at       timestamptz,
  CONSTRAINT payouts_total CHECK (total_fen = gross_fen - netted_fen AND total_fen >= 0),
  CONSTRAINT payouts_two_persons CHECK (approved_by IS NULL OR approved_by <> proposed_by),
  CONSTRAINT payouts_approved CHECK ((state IN ('approved', 'paid')) = (approved_at IS NOT NULL)
                                     OR state = 'cancelled'),
  CONSTRAINT payouts_paid CHECK ((state = 'paid') = (paid_at IS NOT NULL AND transfer_reference IS NOT NULL))
);
CREATE INDEX payouts_city ON payouts (city_id, id);
CREATE INDEX payouts_payee ON payouts (payee_id, id);

-- One item per payable line (kind 'order', amount > 0) and per debt netted off (kind 'debt',
-- amount < 0, recovery_id set). live is false once the payout is cancelled: a line is in at
-- most one live payout (proposed, approved or paid), whatever the processes proposing.
CREATE TABLE payout_items (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payout_id   uuid NOT NULL REFERENCES payouts (id),
  kind        text NOT NULL CHECK (kind IN ('order', 'debt')),
  order_id    uuid NOT NULL REFERENCES orders (id),
  program_id  uuid NOT NULL REFERENCES programs (id),
  funder      text,
  recovery_id uuid,
  amount_fen  bigint NOT NULL,
  live        boolean NOT NULL DEFAULT true,
  CONSTRAINT payout_items_sign CHECK ((kind = 'order') = (amount_fen > 0)
                                      AND (kind = 'debt') = (recovery_id IS NOT NULL))
);
CREATE INDEX payout_items_payout ON payout_items (payout_id, id);
CREATE INDEX payout_items_order ON payout_items (order_id);
CREATE UNIQUE INDEX payout_items_once ON payout_items (order_id, program_id, funder)
  NULLS NOT DISTINCT WHERE live AND kind = 'order';

-- ==== recoveries ===========================================================================
-- amount = offset (taken from the order's receivable not yet in a payout) + debt (owed by the
-- debtor, netted off by its next payouts in the programme: netted_fen so far).
CREATE TABLE recoveries (
  id              uuid PRIMARY KEY DEFAULT uuid_v7(),
  city_id         uuid NOT NULL REFERENCES organizations (id),
  order_id        uuid NOT NULL REFERENCES orders (id),
  program_id      uuid NOT NULL REFERENCES programs (id),
  amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
  reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  debtor_kind     text NOT NULL CHECK (debtor_kind IN ('provider', 'institute')),
  debtor_id       uuid NOT NULL REFERENCES organizations (id),
  restore_voucher boolean NOT NULL DEFAULT false,
  offset_fen      bigint NOT NULL CHECK (offset_fen >= 0),
  debt_fen        bigint NOT NULL CHECK (debt_fen >= 0),
  netted_fen      bigint NOT NULL DEFAULT 0,
  created_by      uuid NOT NULL REFERENCES users (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT recoveries_split CHECK (offset_fen + debt_fen = amount_fen),
  CONSTRAINT recoveries_netted CHECK (netted_fen BETWEEN 0 AND debt_fen)
);
CREATE INDEX recoveries_city ON recoveries (city_id, id);
CREATE INDEX recoveries_order ON recoveries (order_id);
CREATE INDEX recoveries_open ON recoveries (debtor_id, program_id) WHERE netted_fen < debt_fen;

ALTER TABLE payout_items ADD CONSTRAINT payout_items_recovery
  FOREIGN KEY (recovery_id) REFERENCES recoveries (id);

-- ==== ledger ===============================================================================
-- The entry names its payout or recovery; the new kinds and accounts join the lists (which
-- 008 may have extended: every name a CHECK on the column admits stays admitted).
ALTER TABLE ledger_entries ADD COLUMN payout_id uuid, ADD COLUMN recovery_id uuid;
CREATE INDEX ledger_entries_payout ON ledger_entries (payout_id) WHERE payout_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ledger_entries_order ON ledger_entries (order_id) WHERE order_id IS NOT NULL;

DO $$
DECLARE
  t record;
  c record;
  v_names text[];
BEGIN
  FOR t IN SELECT * FROM (VALUES
             ('ledger_entries', 'kind', ARRAY['payout', 'net', 'recover']),
             ('ledger_postings', 'account_kind', ARRAY['payee_paid', 'payee_debt', 'program_recovered'])
           ) AS x(tab, col, added)
  LOOP
    v_names := t.added;
    FOR c IN SELECT k.conname, pg_get_constraintdef(k.oid) AS def
               FROM pg_constraint k
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
              WHERE k.conrelid = t.tab::regclass AND k.contype = 'c' AND a.attname = t.col
                AND cardinality(k.conkey) = 1
    LOOP
      v_names := v_names || ARRAY(SELECT m[1] FROM regexp_matches(c.def, '''([a-z_]+)''', 'g') AS m);
      EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', t.tab, c.conname);
    END LOOP;
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (%I = ANY (%L::text[]))',
                   t.tab, t.tab || '_' || t.col || '_check', t.col,
                   ARRAY(SELECT DISTINCT n FROM unnest(v_names) n ORDER BY n));
  END LOOP;
END $$;
