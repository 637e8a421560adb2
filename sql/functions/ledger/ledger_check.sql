-- Proves I1, I2 and I8 and that every stored balance equals its ledger sum (`suanlid
-- ledger-check`, and the tests after every scenario). Subsidy redeemed stays in the programme's
-- ledger as it moves on: order_subsidy -> provider_receivable -> payee_paid (payouts), or ->
-- program_recovered / payee_debt (recoveries), or back to a voucher (restore_voucher). Answers {"ok", "checked", "problems":
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
             sum(p.amount_fen) FILTER (WHERE p.account_kind = 'program_budget' AND e.kind IN ('release', 'reverse', 'usage_adjust')) AS released,
             sum(p.amount_fen) FILTER (WHERE p.account_kind IN ('order_subsidy', 'provider_receivable',
                                                                'payee_paid', 'payee_debt',
                                                                'program_recovered')) AS redeemed,
             sum(p.amount_fen) FILTER (WHERE p.account_kind = 'voucher' AND e.kind = 'recover') AS restored
        FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
       GROUP BY p.program_id)
    SELECT g.id, g.budget_fen, g.issued_fen, g.released_fen, program_redeemed(g.id) AS redeemed,
           coalesce(l.committed, 0) AS l_committed, coalesce(l.available, 0) AS l_available,
           coalesce(l.issued, 0) AS l_issued, coalesce(l.released, 0) AS l_released,
           coalesce(l.redeemed, 0) AS l_redeemed, coalesce(l.restored, 0) AS restored,
           (SELECT coalesce(sum(v.balance_fen), 0) FROM vouchers v WHERE v.program_id = g.id) AS balances
      FROM programs g LEFT JOIN l ON l.program_id = g.id
  LOOP
    IF -x.l_committed <> x.budget_fen
       OR x.l_available <> x.budget_fen - x.issued_fen + x.released_fen
       OR x.l_issued <> x.issued_fen OR x.l_released <> x.released_fen
       OR x.l_redeemed <> x.redeemed - x.restored THEN
      v_problems := v_problems || jsonb_build_object('check', 'program_matches_ledger', 'subject', x.id::text,
                      'detail', format('stored budget %s issued %s released %s redeemed %s; ledger budget %s available %s issued %s released %s redeemed %s',
                                       x.budget_fen, x.issued_fen, x.released_fen, x.redeemed,
                                       -x.l_committed, x.l_available, x.l_issued, x.l_released, x.l_redeemed));
    END IF;
    IF x.issued_fen - x.released_fen <> x.balances + x.redeemed - x.restored THEN
      v_problems := v_problems || jsonb_build_object('check', 'I1_conservation', 'subject', x.id::text,
                      'detail', format('issued %s - released %s <> outstanding balances %s + redeemed %s - restored by recoveries %s',
                                       x.issued_fen, x.released_fen, x.balances, x.redeemed, x.restored));
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
                    WHERE r.voucher_id = v.id AND r.status = 'applied') AS applied,
                  (SELECT coalesce(sum(p.amount_fen), 0) FROM ledger_postings p
                     JOIN ledger_entries e ON e.id = p.entry_id
                    WHERE p.account_kind = 'voucher' AND p.account_id = v.id AND e.kind = 'recover') AS restored
             FROM vouchers v
  LOOP
    IF x.l_balance <> x.balance_fen OR x.balance_fen < 0
       OR x.face_value_fen - x.balance_fen - x.released_fen <> x.applied - x.restored THEN
      v_problems := v_problems || jsonb_build_object('check', 'voucher_matches_ledger', 'subject', x.id::text,
                      'detail', format('balance %s (ledger %s), face %s, released %s, applied redemptions %s, restored by recoveries %s',
                                       x.balance_fen, x.l_balance, x.face_value_fen, x.released_fen, x.applied, x.restored));
    END IF;
  END LOOP;

  -- orders with vouchers: subsidy equals the ledger (order_subsidy while reserved,
  -- provider_receivable once completed, less what payouts paid and recoveries offset, nothing
  -- once cancelled) and its applied redemptions
  FOR x IN SELECT o.id, o.status, o.subsidy_fen, o.gross_fen, o.net_fen,
                  (SELECT coalesce(sum(p.amount_fen), 0) FROM ledger_postings p
                    WHERE p.account_kind = 'order_subsidy' AND p.account_id = o.id) AS l_subsidy,
                  (SELECT coalesce(sum(p.amount_fen), 0) FROM ledger_postings p
                     JOIN ledger_entries e ON e.id = p.entry_id
                    WHERE p.account_kind = 'provider_receivable' AND e.order_id = o.id
                      AND e.kind NOT IN ('payout', 'recover')) AS l_receivable,
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

  -- usage (008): an accepted order is billed on its delivered unit-hours, never above the
  -- reservation, its subsidy no more than before (the receivable above proves the ledger
  -- side); the buyer's payments sum to buyer_paid_fen, at most the net amount; an order is
  -- due exactly when accepted and not waiting for a payment its programmes require; the
  -- order's usage state is that of its live report
  FOR x IN SELECT o.id, o.usage_state, o.gross_fen, o.subsidy_fen, o.net_fen, o.due_at,
                  o.reserved_gross_fen, o.reserved_subsidy_fen, o.buyer_paid_fen,
                  o.delivered_unit_hours, o.units, o.hours, o.price_fen_per_unit_hour,
                  (SELECT coalesce(sum(p.amount_fen), 0) FROM order_payments p
                    WHERE p.order_id = o.id) AS paid,
                  (SELECT u.state FROM order_usage_reports u
                    WHERE u.order_id = o.id ORDER BY u.created_at DESC, u.id DESC LIMIT 1) AS last_report
             FROM orders o
            WHERE o.usage_state <> 'none' OR o.buyer_paid_fen <> 0
               OR EXISTS (SELECT 1 FROM order_payments p WHERE p.order_id = o.id)
  LOOP
    IF x.paid <> x.buyer_paid_fen OR x.buyer_paid_fen > x.net_fen
       OR coalesce(x.last_report, 'none') <> x.usage_state
       OR (x.usage_state = 'accepted' AND (
             x.delivered_unit_hours > x.units::numeric * x.hours
             OR x.gross_fen <> least(x.reserved_gross_fen,
                                     ceil(x.price_fen_per_unit_hour * x.delivered_unit_hours)::bigint)
             OR x.subsidy_fen > x.reserved_subsidy_fen
             OR (x.due_at IS NOT NULL) <> (NOT usage_requires_payment(x.id)
                                           OR x.buyer_paid_fen >= x.net_fen)))
       OR (x.usage_state <> 'accepted' AND (x.due_at IS NOT NULL OR x.buyer_paid_fen <> 0)) THEN
      v_problems := v_problems || jsonb_build_object('check', 'order_usage_consistent', 'subject', x.id::text,
                      'detail', format('usage %s (last report %s): gross %s of reserved %s for %s unit-hours, subsidy %s of %s, net %s, paid %s (payments %s), due %s',
                                       x.usage_state, x.last_report, x.gross_fen, x.reserved_gross_fen,
                                       x.delivered_unit_hours, x.subsidy_fen, x.reserved_subsidy_fen,
                                       x.net_fen, x.buyer_paid_fen, x.paid, x.due_at));
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

  -- I8 settled once: per order and programme, receivable = settled - paid - recovered (offset),
  -- never negative, and what payouts paid and recoveries offset is what their rows say
  FOR x IN
    WITH l AS (
      SELECT e.order_id, e.program_id,
             sum(p.amount_fen) AS receivable,
             sum(p.amount_fen) FILTER (WHERE e.kind NOT IN ('payout', 'recover')) AS settled,
             -coalesce(sum(p.amount_fen) FILTER (WHERE e.kind = 'payout'), 0) AS paid,
             -coalesce(sum(p.amount_fen) FILTER (WHERE e.kind = 'recover'), 0) AS offset
        FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
       WHERE p.account_kind = 'provider_receivable'
       GROUP BY e.order_id, e.program_id)
    SELECT l.*,
           (SELECT coalesce(sum(i.amount_fen), 0) FROM payout_items i JOIN payouts q ON q.id = i.payout_id
             WHERE i.order_id = l.order_id AND i.program_id = l.program_id AND i.kind = 'order'
               AND q.state = 'paid') AS items_paid,
           (SELECT coalesce(sum(r.offset_fen), 0) FROM recoveries r
             WHERE r.order_id = l.order_id AND r.program_id = l.program_id) AS offset_rows
      FROM l
     WHERE l.receivable < 0 OR l.receivable <> l.settled - l.paid - l.offset
        OR l.paid <> (SELECT coalesce(sum(i.amount_fen), 0) FROM payout_items i JOIN payouts q ON q.id = i.payout_id
                       WHERE i.order_id = l.order_id AND i.program_id = l.program_id AND i.kind = 'order'
                         AND q.state = 'paid')
        OR l.offset <> (SELECT coalesce(sum(r.offset_fen), 0) FROM recoveries r
                         WHERE r.order_id = l.order_id AND r.program_id = l.program_id)
     LIMIT 100
  LOOP
    v_problems := v_problems || jsonb_build_object('check', 'I8_receivable', 'subject',
                    coalesce(x.order_id::text, '-') || '/' || x.program_id,
                    'detail', format('receivable %s <> settled %s - paid %s (paid payout items %s) - recovered %s (recoveries offset %s), or negative',
                                     x.receivable, x.settled, x.paid, x.items_paid, x.offset, x.offset_rows));
  END LOOP;
  -- no account of a provider or payee on the wrong side: receivable and paid >= 0, debt <= 0
  FOR x IN SELECT p.account_kind, p.account_id, p.program_id, sum(p.amount_fen) AS balance
             FROM ledger_postings p
            WHERE p.account_kind IN ('provider_receivable', 'payee_paid', 'payee_debt', 'program_recovered')
            GROUP BY p.account_kind, p.account_id, p.program_id
           HAVING (p.account_kind = 'payee_debt') = (sum(p.amount_fen) > 0) AND sum(p.amount_fen) <> 0
            LIMIT 100
  LOOP
    v_problems := v_problems || jsonb_build_object('check', 'I8_not_negative', 'subject',
                    x.account_kind || '/' || x.account_id || '/' || x.program_id,
                    'detail', format('%s balance %s in programme %s', x.account_kind, x.balance, x.program_id));
  END LOOP;
  -- payouts: totals = their items = their ledger entries (only once paid)
  FOR x IN SELECT q.id, q.state, q.gross_fen, q.netted_fen, q.total_fen,
                  (SELECT coalesce(sum(i.amount_fen), 0) FROM payout_items i
                    WHERE i.payout_id = q.id AND i.kind = 'order') AS gross_items,
                  (SELECT -coalesce(sum(i.amount_fen), 0) FROM payout_items i
                    WHERE i.payout_id = q.id AND i.kind = 'debt') AS netted_items,
                  (SELECT coalesce(sum(p.amount_fen), 0) FROM ledger_postings p
                     JOIN ledger_entries e ON e.id = p.entry_id
                    WHERE e.payout_id = q.id AND p.account_kind = 'payee_paid') AS l_paid,
                  (SELECT count(*) FROM ledger_entries e WHERE e.payout_id = q.id) AS l_entries
             FROM payouts q
  LOOP
    IF x.gross_items <> x.gross_fen OR x.netted_items <> x.netted_fen
       OR x.total_fen <> x.gross_fen - x.netted_fen
       OR (x.state = 'paid' AND x.l_paid <> x.total_fen)
       OR (x.state <> 'paid' AND x.l_entries <> 0) THEN
      v_problems := v_problems || jsonb_build_object('check', 'payout_matches_ledger', 'subject', x.id::text,
                      'detail', format('%s payout: gross %s (items %s), netted %s (items %s), total %s, ledger paid %s in %s entries',
                                       x.state, x.gross_fen, x.gross_items, x.netted_fen, x.netted_items,
                                       x.total_fen, x.l_paid, x.l_entries));
    END IF;
  END LOOP;
  -- recoveries: amount = offset + debt in the ledger; the debt left = debt - netted by paid
  -- payouts; netted_fen = the debt lines of live payouts
  FOR x IN SELECT r.id, r.amount_fen, r.offset_fen, r.debt_fen, r.netted_fen,
                  (SELECT coalesce(sum(p.amount_fen), 0) FROM ledger_postings p
                     JOIN ledger_entries e ON e.id = p.entry_id
                    WHERE e.recovery_id = r.id AND e.kind = 'recover'
                      AND p.account_kind = 'program_recovered' AND p.amount_fen > 0) AS l_recovered,
                  (SELECT -coalesce(sum(p.amount_fen), 0) FROM ledger_postings p
                     JOIN ledger_entries e ON e.id = p.entry_id
                    WHERE e.recovery_id = r.id AND p.account_kind = 'payee_debt') AS l_debt_left,
                  (SELECT -coalesce(sum(i.amount_fen), 0) FROM payout_items i JOIN payouts q ON q.id = i.payout_id
                    WHERE i.recovery_id = r.id AND q.state = 'paid') AS netted_paid,
                  (SELECT -coalesce(sum(i.amount_fen), 0) FROM payout_items i
                    WHERE i.recovery_id = r.id AND i.live) AS netted_live
             FROM recoveries r
  LOOP
    IF x.l_recovered <> x.amount_fen OR x.l_debt_left <> x.debt_fen - x.netted_paid
       OR x.netted_live <> x.netted_fen THEN
      v_problems := v_problems || jsonb_build_object('check', 'recovery_matches_ledger', 'subject', x.id::text,
                      'detail', format('amount %s (ledger %s), offset %s, debt %s, netted %s (live payout lines %s, paid %s), ledger debt left %s',
                                       x.amount_fen, x.l_recovered, x.offset_fen, x.debt_fen, x.netted_fen,
                                       x.netted_live, x.netted_paid, x.l_debt_left));
    END IF;
  END LOOP;

  RETURN jsonb_build_object(
    'ok', jsonb_array_length(v_problems) = 0,
    'checked', jsonb_build_object(
      'entries', (SELECT count(*) FROM ledger_entries),
      'postings', (SELECT count(*) FROM ledger_postings),
      'programs', (SELECT count(*) FROM programs),
      'vouchers', (SELECT count(*) FROM vouchers),
      'redemptions', (SELECT count(*) FROM redemptions),
      'usage_reports', (SELECT count(*) FROM order_usage_reports),
      'payments', (SELECT count(*) FROM order_payments),
      'payouts', (SELECT count(*) FROM payouts),
      'recoveries', (SELECT count(*) FROM recoveries)),
    'problems', (SELECT coalesce(jsonb_agg(p), '[]') FROM (SELECT p FROM jsonb_array_elements(v_problems) p LIMIT 100) q));
END $$;
