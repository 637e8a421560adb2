-- POST /v1/orders/{id}/usage/dispute: the institute of the order disputes the pending report
-- within its window, with a reason; the provider may then report again.
CREATE FUNCTION usage_dispute(p_actor jsonb, p_order uuid, p_reason text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  o orders;
  u order_usage_reports;
BEGIN
  o := usage_order_lock(p_actor, p_order, 'institute');
  u := usage_pending_lock(o);
  UPDATE order_usage_reports SET state = 'disputed', decided_by = (p_actor->>'user_id')::uuid,
                                 decided_at = now(), dispute_reason = p_reason
   WHERE id = u.id RETURNING * INTO u;
  UPDATE orders SET usage_state = 'disputed' WHERE id = p_order;
  PERFORM audit_append(p_actor, 'usage.dispute', 'order', p_order,
                       jsonb_build_object('report_id', u.id, 'unit_hours', u.unit_hours,
                                          'reason', p_reason),
                       usage_city(p_order));
  RETURN usage_report_json(u);
END $$;
