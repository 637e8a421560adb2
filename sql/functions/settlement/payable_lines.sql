-- The payable lines of a city's due orders: (order, programme, funder) with a positive
-- provider_receivable balance that is in no live payout, with the payee the programme names
-- (the offer's provider, or the order's institute) and the provider whose receivable it is.
-- Filters may be NULL. Due: orders.due_at set (by usage's acceptance and payment rules) and
-- not after p_due_before.
CREATE FUNCTION payable_lines(p_city uuid, p_program uuid, p_payee uuid, p_due_before timestamptz)
RETURNS TABLE (order_id uuid, program_id uuid, funder text, amount_fen bigint, payee_kind text,
               payee_id uuid, provider_id uuid)
LANGUAGE sql STABLE AS $$
  SELECT e.order_id, e.program_id, e.funder, sum(l.amount_fen)::bigint, g.payee,
         CASE g.payee WHEN 'institute' THEN o.institute_id ELSE f.provider_id END, f.provider_id
    FROM orders o
    JOIN offers f ON f.id = o.offer_id
    JOIN ledger_entries e ON e.order_id = o.id
    JOIN ledger_postings l ON l.entry_id = e.id AND l.account_kind = 'provider_receivable'
    JOIN programs g ON g.id = e.program_id
   WHERE o.due_at IS NOT NULL AND o.due_at <= coalesce(p_due_before, now())
     AND g.city_id = p_city
     AND (p_program IS NULL OR g.id = p_program)
     AND (p_payee IS NULL
          OR p_payee = CASE g.payee WHEN 'institute' THEN o.institute_id ELSE f.provider_id END)
     AND NOT EXISTS (SELECT 1 FROM payout_items i
                      WHERE i.order_id = o.id AND i.program_id = e.program_id
                        AND i.funder IS NOT DISTINCT FROM e.funder AND i.kind = 'order' AND i.live)
   GROUP BY e.order_id, e.program_id, e.funder, g.payee, o.institute_id, f.provider_id
  HAVING sum(l.amount_fen) > 0
$$;
