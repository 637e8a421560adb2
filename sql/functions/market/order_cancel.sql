-- The institute cancels its own reserved order before it ends; the units are free again and
-- every redemption on it is reversed.
CREATE FUNCTION order_cancel(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_order orders;
BEGIN
  SELECT * INTO v_order FROM orders
   WHERE id = p_id AND institute_id = (p_actor->>'org_id')::uuid FOR UPDATE;
  IF NOT FOUND OR p_actor->>'role' <> 'institute' THEN
    PERFORM problem('not-found', 'no order ' || p_id);
  END IF;
  IF v_order.status <> 'reserved' THEN
    PERFORM problem('order-state-conflict', format('order %s is %s', p_id, v_order.status));
  END IF;
  IF now() >= v_order.end_at THEN
    PERFORM problem('order-state-conflict',
                    format('order %s ended at %s and can no longer be cancelled', p_id, ts(v_order.end_at)));
  END IF;
  PERFORM order_reverse_redemptions(p_actor, p_id);
  UPDATE orders SET status = 'cancelled', cancelled_at = now() WHERE id = p_id
  RETURNING * INTO v_order;
  PERFORM audit_append(p_actor, 'order.cancel', 'order', p_id,
                       jsonb_build_object('offer_id', v_order.offer_id, 'units', v_order.units));
  RETURN order_json(v_order);
END $$;
