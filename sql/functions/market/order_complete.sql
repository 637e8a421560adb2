-- The provider of the offer marks a reserved order completed once it has started.
CREATE FUNCTION order_complete(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_order orders;
BEGIN
  SELECT o.* INTO v_order FROM orders o JOIN offers f ON f.id = o.offer_id
   WHERE o.id = p_id AND f.provider_id = (p_actor->>'org_id')::uuid FOR UPDATE OF o;
  IF NOT FOUND OR p_actor->>'role' <> 'provider' THEN
    PERFORM problem('not-found', 'no order ' || p_id);
  END IF;
  IF v_order.status <> 'reserved' THEN
    PERFORM problem('order-state-conflict', format('order %s is %s', p_id, v_order.status));
  END IF;
  IF now() < v_order.start_at THEN
    PERFORM problem('order-state-conflict',
                    format('order %s starts at %s and cannot be completed before', p_id, ts(v_order.start_at)));
  END IF;
  UPDATE orders SET status = 'completed', completed_at = now() WHERE id = p_id
  RETURNING * INTO v_order;
  PERFORM audit_append(p_actor, 'order.complete', 'order', p_id,
                       jsonb_build_object('offer_id', v_order.offer_id, 'gross_fen', v_order.gross_fen));
  RETURN order_json(v_order);
END $$;
