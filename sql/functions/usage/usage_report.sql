-- POST /v1/orders/{id}/usage: the provider of a completed order reports the unit-hours it
-- delivered (at most units × hours), the availability it achieved and the evidence (names and
-- SHA-256 of logs or meter exports; checked by the server). A report supersedes a disputed
-- one and opens a new window; while one awaits a decision, or once one is accepted, 409.
CREATE FUNCTION usage_report(p_actor jsonb, p_order uuid, p_body jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  o orders;
  v_hours numeric := (p_body->>'unit_hours')::numeric;
  v_days integer;
  u order_usage_reports;
BEGIN
  o := usage_order_lock(p_actor, p_order, 'provider');
  IF o.status <> 'completed' THEN
    PERFORM problem('order-state-conflict',
                    format('order %s is %s; usage is reported on completed orders', p_order, o.status));
  END IF;
  IF o.usage_state IN ('reported', 'accepted') THEN
    PERFORM problem('usage-state-conflict',
                    format('the usage of order %s is %s already; only a disputed report can be replaced',
                           p_order, o.usage_state));
  END IF;
  IF v_hours > o.units::numeric * o.hours THEN
    PERFORM problem_at('usage-above-reservation', 'unit_hours',
                       format('order %s reserved %s units for %s hours: at most %s unit-hours, %s reported',
                              p_order, o.units, o.hours, o.units::bigint * o.hours, v_hours));
  END IF;
  IF (SELECT count(*) FROM order_usage_reports WHERE order_id = p_order) >= 50 THEN
    PERFORM problem('usage-state-conflict',
                    format('order %s has 50 usage reports, as many as an order may have', p_order));
  END IF;
  v_days := usage_window_days(p_order);
  UPDATE order_usage_reports SET state = 'superseded', superseded_at = now()
   WHERE order_id = p_order AND state = 'disputed';
  INSERT INTO order_usage_reports (order_id, unit_hours, availability, evidence, accept_by,
                                   reported_by)
  VALUES (p_order, v_hours, (p_body->>'availability')::numeric, p_body->'evidence',
          now() + make_interval(days => v_days), (p_actor->>'user_id')::uuid)
  RETURNING * INTO u;
  UPDATE orders SET usage_state = 'reported' WHERE id = p_order;
  PERFORM audit_append(p_actor, 'usage.report', 'order', p_order,
                       jsonb_build_object('report_id', u.id, 'unit_hours', u.unit_hours,
                                          'availability', u.availability,
                                          'evidence', u.evidence, 'accept_by', ts(u.accept_by)),
                       usage_city(p_order));
  RETURN usage_report_json(u);
END $$;
