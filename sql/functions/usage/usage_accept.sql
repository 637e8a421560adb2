-- POST /v1/orders/{id}/usage/accept: the institute of the order accepts the pending report
-- within its window; the order is re-billed on it (usage_accept_report).
CREATE FUNCTION usage_accept(p_actor jsonb, p_order uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  o orders;
BEGIN
  o := usage_order_lock(p_actor, p_order, 'institute');
  o := usage_accept_report(p_actor, o, usage_pending_lock(o), (p_actor->>'user_id')::uuid);
  RETURN order_json(o);
END $$;
