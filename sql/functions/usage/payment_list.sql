-- GET /v1/orders/{id}/payments: the buyer's payments of an order, oldest first, with the
-- totals, for whoever may see the order; NULL (404) for anyone else.
CREATE FUNCTION payment_list(p_actor jsonb, p_order uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'order_id', o.id, 'net_fen', o.net_fen, 'buyer_paid_fen', o.buyer_paid_fen,
    'due_at', ts(o.due_at),
    'items', (SELECT coalesce(jsonb_agg(payment_json(p) ORDER BY p.created_at, p.id), '[]')
                FROM order_payments p WHERE p.order_id = o.id))
    FROM orders o WHERE o.id = p_order AND order_visible(p_actor, o)
$$;
