-- Every money movement of a visible programme in [p_from, p_to) that the report counts, one row
-- per voucher touched, from the ledger: issue (budget -> voucher; a batch entry has one voucher
-- posting per voucher), redeem (voucher -> order subsidy), reverse (order subsidy -> voucher,
-- or -> budget when the voucher had expired or was revoked: then it is also released) and
-- release (voucher -> budget), and usage_adjust (what re-billing on accepted usage gave back,
-- receivable -> voucher or budget), reported as a reverse; funder is the co-funder whose share
-- a redeem or reverse entry moves (NULL when the programme has no split). Fund and settle entries move no voucher money and are left out.
CREATE FUNCTION report_movements(p_actor jsonb, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (at timestamptz, kind text, program_id uuid, institute_id uuid, order_id uuid,
               amount_fen bigint, to_program boolean, funder text)
LANGUAGE sql STABLE AS $$
  SELECT e.at, CASE e.kind WHEN 'usage_adjust' THEN 'reverse' ELSE e.kind END, e.program_id,
         v.institute_id, e.order_id, x.amount_fen, x.to_program, e.funder
    FROM ledger_entries e
    JOIN programs p ON p.id = e.program_id
    CROSS JOIN LATERAL (
      SELECT lp.account_id AS voucher_id, lp.amount_fen, false AS to_program
        FROM ledger_postings lp
       WHERE e.kind = 'issue' AND lp.entry_id = e.id AND lp.account_kind = 'voucher'
      UNION ALL
      SELECT e.voucher_id, lp.amount_fen, lp.account_kind = 'program_budget'
        FROM ledger_postings lp
       WHERE e.kind IN ('redeem', 'reverse', 'release', 'usage_adjust') AND lp.entry_id = e.id
         AND lp.amount_fen > 0
    ) x
    JOIN vouchers v ON v.id = x.voucher_id
   WHERE e.kind IN ('issue', 'redeem', 'reverse', 'release', 'usage_adjust')
     AND program_visible(p_actor, p)
     AND (p_from IS NULL OR e.at >= p_from)
     AND (p_to IS NULL OR e.at < p_to)
$$;
