-- One line of a settlement statement: the order's bill, the buyer's payment, and per
-- programme (payee, funder lines merged) settled_fen (what became receivable, after usage
-- re-billing), paid_fen, recovered_fen, receivable_fen and the payout that holds it.
CREATE FUNCTION settlement_json(o orders) RETURNS jsonb LANGUAGE sql STABLE AS $$
  WITH lines AS (
    SELECT e.program_id,
           coalesce(sum(l.amount_fen) FILTER (WHERE l.account_kind = 'provider_receivable'
                                               AND e.kind NOT IN ('payout', 'recover')), 0) AS settled,
           coalesce(sum(l.amount_fen) FILTER (WHERE l.account_kind = 'payee_paid' AND e.kind = 'payout'), 0) AS paid,
           coalesce(sum(l.amount_fen) FILTER (WHERE l.account_kind = 'provider_receivable'), 0) AS receivable
      FROM ledger_entries e JOIN ledger_postings l ON l.entry_id = e.id
     WHERE e.order_id = o.id
     GROUP BY e.program_id),
  progs AS (
    SELECT n.program_id, n.settled, n.paid, n.receivable, g.name, g.payee,
           (SELECT coalesce(sum(r.amount_fen), 0) FROM recoveries r
             WHERE r.order_id = o.id AND r.program_id = n.program_id) AS recovered,
           (SELECT p FROM payouts p JOIN payout_items i ON i.payout_id = p.id
             WHERE i.order_id = o.id AND i.program_id = n.program_id AND i.kind = 'order' AND i.live
             ORDER BY p.id DESC LIMIT 1) AS payout
      FROM lines n JOIN programs g ON g.id = n.program_id
     WHERE n.settled <> 0 OR n.paid <> 0 OR n.receivable <> 0)
  SELECT jsonb_build_object(
    'id', o.id, 'order_id', o.id, 'offer_id', o.offer_id, 'provider_id', f.provider_id,
    'provider_name', pv.name, 'institute_id', o.institute_id, 'institute_name', it.name,
    'status', o.status, 'usage_accepted_at', ts(o.usage_accepted_at), 'due_at', ts(o.due_at),
    'gross_fen', o.gross_fen, 'subsidy_fen', o.subsidy_fen, 'net_fen', o.net_fen,
    'buyer_paid_fen', o.buyer_paid_fen,
    'payout_state', CASE
        WHEN NOT EXISTS (SELECT 1 FROM progs) THEN 'none'
        WHEN EXISTS (SELECT 1 FROM progs WHERE (payout).id IS NULL AND receivable > 0)
          THEN CASE WHEN o.due_at IS NULL THEN 'not_due' ELSE 'due' END
        WHEN EXISTS (SELECT 1 FROM progs WHERE (payout).state = 'proposed') THEN 'proposed'
        WHEN EXISTS (SELECT 1 FROM progs WHERE (payout).state = 'approved') THEN 'approved'
        ELSE 'paid' END,
    'programs', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'program_id', program_id, 'program_name', name, 'payee', payee,
                   'settled_fen', settled, 'paid_fen', paid, 'recovered_fen', recovered,
                   'receivable_fen', receivable, 'payout_id', (payout).id,
                   'payout_state', (payout).state) ORDER BY program_id), '[]') FROM progs))
    FROM offers f JOIN organizations pv ON pv.id = f.provider_id
    JOIN organizations it ON it.id = o.institute_id
   WHERE f.id = o.offer_id
$$;
