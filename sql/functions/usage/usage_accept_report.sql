-- Accepts report u of locked order o: by p_by (the institute's user), or by silence (NULL,
-- the maintenance tick once the window has passed). Re-bills the order on the delivered
-- unit-hours: gross = ceil(price × unit-hours), never above the reservation, and the subsidy
-- shrinks with it (usage_rebill). Sets due_at when nothing more is awaited: no programme of
-- the order waits for the buyer's payment, or the buyer has paid the net amount in full.
-- Returns the order.
CREATE FUNCTION usage_accept_report(p_actor jsonb, o orders, u order_usage_reports, p_by uuid)
RETURNS orders LANGUAGE plpgsql AS $$
DECLARE
  v_gross bigint := least(o.gross_fen, ceil(o.price_fen_per_unit_hour * u.unit_hours)::bigint);
  v_subsidy bigint;
BEGIN
  UPDATE order_usage_reports SET state = 'accepted', decided_by = p_by, decided_at = now()
   WHERE id = u.id;
  v_subsidy := usage_rebill(p_actor, o, v_gross);
  UPDATE orders SET reserved_gross_fen = gross_fen, reserved_subsidy_fen = subsidy_fen,
                    gross_fen = v_gross, subsidy_fen = v_subsidy, net_fen = v_gross - v_subsidy,
                    usage_state = 'accepted', delivered_unit_hours = u.unit_hours,
                    availability = u.availability, usage_accepted_at = now(),
                    due_at = CASE WHEN NOT usage_requires_payment(o.id)
                                       OR buyer_paid_fen >= v_gross - v_subsidy THEN now() END
   WHERE id = o.id RETURNING * INTO o;
  PERFORM audit_append(p_actor, 'usage.accept', 'order', o.id,
                       jsonb_build_object('report_id', u.id, 'unit_hours', u.unit_hours,
                                          'by_silence', p_by IS NULL,
                                          'reserved_gross_fen', o.reserved_gross_fen,
                                          'gross_fen', o.gross_fen,
                                          'reserved_subsidy_fen', o.reserved_subsidy_fen,
                                          'subsidy_fen', o.subsidy_fen, 'net_fen', o.net_fen,
                                          'due_at', ts(o.due_at)),
                       usage_city(o.id));
  RETURN o;
END $$;
