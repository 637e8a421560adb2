-- 008 — delivery and usage-based billing (issue 14): the provider reports the unit-hours it
-- delivered on a completed order, the institute accepts or disputes the report within the
-- programme's window (silence = accepted, by the maintenance tick), acceptance re-bills the
-- order on what was delivered, and the institute records its own payment of the net amount.
-- The functions are in sql/functions/usage.
--
-- Re-billing (usage_rebill): gross = ceil(price × delivered unit-hours), never above the
-- reservation; every applied redemption shrinks in proportion (rounded down, so that no cap
-- of the programme can be exceeded), and what it gave back moves provider_receivable -> its
-- voucher (or -> the programme's budget once the voucher has expired or been revoked), as a
-- 'usage_adjust' entry with the order, voucher and redemption, one per funder's share.
-- So the payable subsidy of an order is its provider_receivable balance (postings whose entry
-- names the order), per programme and per funder.
--
-- Locks: order -> its report -> vouchers (by id) -> institute totals -> programme, as the
-- redemptions take them.

-- ==== programme rules ======================================================================
-- usage_dispute_days: how long an institute has to accept or dispute a usage report (the
--   shortest over the programmes that subsidise an order; 7 for an order without vouchers).
-- settle_after_buyer_pays: the order's subsidy is due only once the institute has paid its
--   net amount in full.
-- payee: who the payouts of issue 14 pay the subsidy to: the provider, or the institute
--   (Beijing's model).
-- (009 adds payee, usage_accepted_at, due_at, buyer_paid_fen and two indexes too, IF NOT
-- EXISTS, so that each file stands whichever a database applied first; so does this one.)
ALTER TABLE programs
  ADD COLUMN usage_dispute_days integer NOT NULL DEFAULT 7 CHECK (usage_dispute_days BETWEEN 1 AND 90),
  ADD COLUMN settle_after_buyer_pays boolean NOT NULL DEFAULT false,
  ADD COLUMN IF NOT EXISTS payee text NOT NULL DEFAULT 'provider'
    CHECK (payee IN ('provider', 'institute'));

-- ==== orders ===============================================================================
-- usage_state: none (nothing reported) -> reported -> accepted, or -> disputed -> reported
--   (a new report) ...; delivered_unit_hours and availability: those of the accepted report.
-- reserved_gross_fen / reserved_subsidy_fen: gross and subsidy before the re-billing (set on
--   acceptance). buyer_paid_fen: the sum of order_payments.
-- due_at: the instant the order's subsidy became payable: usage accepted AND (no programme of
--   the order requires the buyer's payment OR buyer_paid_fen >= net_fen).
ALTER TABLE orders
  ADD COLUMN usage_state text NOT NULL DEFAULT 'none'
    CHECK (usage_state IN ('none', 'reported', 'disputed', 'accepted')),
  ADD COLUMN delivered_unit_hours numeric CHECK (delivered_unit_hours > 0),
  ADD COLUMN availability numeric CHECK (availability BETWEEN 0 AND 1),
  ADD COLUMN IF NOT EXISTS usage_accepted_at timestamptz,
  ADD COLUMN reserved_gross_fen bigint CHECK (reserved_gross_fen > 0),
  ADD COLUMN reserved_subsidy_fen bigint CHECK (reserved_subsidy_fen >= 0),
  ADD COLUMN IF NOT EXISTS buyer_paid_fen bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS due_at timestamptz,
  ADD CONSTRAINT orders_usage_accepted CHECK (
    (usage_state = 'accepted') = (usage_accepted_at IS NOT NULL)
    AND (usage_state = 'accepted') = (delivered_unit_hours IS NOT NULL)
    AND (usage_state = 'accepted') = (reserved_gross_fen IS NOT NULL)
    AND (usage_state = 'none' OR status = 'completed')),
  ADD CONSTRAINT orders_buyer_paid CHECK (buyer_paid_fen BETWEEN 0 AND net_fen),
  ADD CONSTRAINT orders_due CHECK (due_at IS NULL OR usage_state = 'accepted');
-- the tick's work list and the payouts' due orders
CREATE INDEX IF NOT EXISTS orders_due ON orders (due_at) WHERE due_at IS NOT NULL;

-- ==== usage reports ========================================================================
-- Every report of an order, kept: reported (awaiting the institute until accept_by), accepted
-- (decided_by NULL: by silence), disputed (with the reason), superseded (a disputed report a
-- newer one replaced). At most one report of an order is reported or accepted.
CREATE TABLE order_usage_reports (
  id             uuid PRIMARY KEY DEFAULT uuid_v7(),
  order_id       uuid NOT NULL REFERENCES orders (id),
  unit_hours     numeric NOT NULL CHECK (unit_hours > 0),
  availability   numeric NOT NULL CHECK (availability BETWEEN 0 AND 1),
  evidence       jsonb NOT NULL CHECK (jsonb_typeof(evidence) = 'array'
                                       AND jsonb_array_length(evidence) BETWEEN 1 AND 20),
  state          text NOT NULL DEFAULT 'reported'
                   CHECK (state IN ('reported', 'accepted', 'disputed', 'superseded')),
  accept_by      timestamptz NOT NULL,
  reported_by    uuid REFERENCES users (id),
  created_at     timestamptz NOT NULL DEFAULT now(),
  decided_by     uuid REFERENCES users (id),
  decided_at     timestamptz,
  dispute_reason text CHECK (length(dispute_reason) BETWEEN 1 AND 2000),
  superseded_at  timestamptz,
  CONSTRAINT order_usage_reports_decided CHECK ((state = 'reported') = (decided_at IS NULL)),
  CONSTRAINT order_usage_reports_reason CHECK
    ((state IN ('disputed', 'superseded')) = (dispute_reason IS NOT NULL))
);
CREATE UNIQUE INDEX order_usage_reports_live ON order_usage_reports (order_id)
  WHERE state IN ('reported', 'accepted');
CREATE INDEX order_usage_reports_order ON order_usage_reports (order_id, created_at);
CREATE INDEX order_usage_reports_due ON order_usage_reports (accept_by) WHERE state = 'reported';

-- ==== the buyer's payments =================================================================
CREATE TABLE order_payments (
  id          uuid PRIMARY KEY DEFAULT uuid_v7(),
  order_id    uuid NOT NULL REFERENCES orders (id),
  amount_fen  bigint NOT NULL CHECK (amount_fen BETWEEN 1 AND 1000000000000000),
  reference   text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
  recorded_by uuid REFERENCES users (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT order_payments_reference UNIQUE (order_id, reference)
);

-- ==== redemptions after re-billing =========================================================
-- amount_fen is what the redemption pays after re-billing (0 when delivery was so small that
-- its share rounded to nothing); usage_returned_fen what re-billing gave back, and where.
ALTER TABLE redemptions
  ADD COLUMN usage_returned_fen bigint NOT NULL DEFAULT 0 CHECK (usage_returned_fen >= 0),
  ADD COLUMN usage_returned_to text CHECK (usage_returned_to IN ('voucher', 'program')),
  DROP CONSTRAINT redemptions_amount_fen_check,
  ADD CONSTRAINT redemptions_amount CHECK (amount_fen >= 0
                                           AND (amount_fen > 0 OR usage_returned_fen > 0)),
  ADD CONSTRAINT redemptions_usage_returned CHECK
    ((usage_returned_fen > 0) = (usage_returned_to IS NOT NULL));

-- ==== ledger ===============================================================================
-- usage_adjust: provider_receivable -> voucher or program_budget (re-billing on usage). The
-- kinds the column's CHECK admits now (003's, and 009's when it came first) stay admitted:
-- read from its definition, whether Postgres shows the list as ARRAY['a'::text, ...] or as
-- '{a,...}'::text[]; the new CHECK is written as a list of literals (shown as ARRAY[...]).
DO $$
DECLARE
  c record;
  v_names text[] := ARRAY['usage_adjust'];
BEGIN
  FOR c IN SELECT k.conname, pg_get_constraintdef(k.oid) AS def
             FROM pg_constraint k
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
            WHERE k.conrelid = 'ledger_entries'::regclass AND k.contype = 'c'
              AND a.attname = 'kind' AND cardinality(k.conkey) = 1
  LOOP
    v_names := v_names
               || ARRAY(SELECT m[1] FROM regexp_matches(c.def, '''([a-z_]+)''', 'g') AS m)
               || ARRAY(SELECT unnest(string_to_array(m[1], ','))
                          FROM regexp_matches(c.def, '\{([a-z_,]+)\}', 'g') AS m);
    EXECUTE format('ALTER TABLE ledger_entries DROP CONSTRAINT %I', c.conname);
  END LOOP;
  EXECUTE format('ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN (%s))',
                 (SELECT string_agg(quote_literal(n), ', ' ORDER BY n)
                    FROM (SELECT DISTINCT n FROM unnest(v_names) n) d));
END $$;
CREATE INDEX IF NOT EXISTS ledger_entries_order ON ledger_entries (order_id) WHERE order_id IS NOT NULL;
