-- POST /v1/orders/{id}/payments: the institute of the order records a payment of its net
-- amount, once the usage is accepted (the net amount is final then). All its payments sum to
-- at most net_fen (payment-above-net); a reference used before on the order is 409 duplicate
-- (a retry with the same Idempotency-Key is replayed instead). When the payment completes the
-- net amount of an order a programme settles only after the buyer pays, the order is due.
CREATE FUNCTION payment_create(p_actor jsonb, p_order uuid, p_amount bigint, p_reference text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  o orders;
  p order_payments;
BEGIN
  o := usage_order_lock(p_actor, p_order, 'institute');
  IF o.usage_state <> 'accepted' THEN
    PERFORM problem('usage-state-conflict',
                    format('order %s: usage is %s; payments are recorded once the usage is accepted and the net amount final',
                           p_order, o.usage_state));
  END IF;
  IF EXISTS (SELECT 1 FROM order_payments WHERE order_id = p_order AND reference = p_reference) THEN
    PERFORM problem_at('duplicate', 'reference',
                       format('a payment with reference %s is recorded on order %s already',
                              p_reference, p_order));
  END IF;
  IF (SELECT count(*) FROM order_payments WHERE order_id = p_order) >= 100 THEN
    PERFORM problem('conflict', format('order %s has 100 payments, as many as an order may have',
                                       p_order));
  END IF;
  IF o.buyer_paid_fen + p_amount > o.net_fen THEN
    PERFORM problem_at('payment-above-net', 'amount_fen',
                       format('order %s: net %s fen, %s fen paid; at most %s fen more, %s recorded',
                              p_order, o.net_fen, o.buyer_paid_fen, o.net_fen - o.buyer_paid_fen,
                              p_amount));
  END IF;
  INSERT INTO order_payments (order_id, amount_fen, reference, recorded_by)
  VALUES (p_order, p_amount, p_reference, (p_actor->>'user_id')::uuid)
  RETURNING * INTO p;
  UPDATE orders SET buyer_paid_fen = buyer_paid_fen + p_amount,
                    due_at = CASE WHEN due_at IS NULL AND buyer_paid_fen + p_amount >= net_fen
                                  THEN now() ELSE due_at END
   WHERE id = p_order RETURNING * INTO o;
  PERFORM audit_append(p_actor, 'payment.create', 'order', p_order,
                       jsonb_build_object('payment_id', p.id, 'amount_fen', p_amount,
                                          'reference', p_reference,
                                          'buyer_paid_fen', o.buyer_paid_fen,
                                          'net_fen', o.net_fen, 'due_at', ts(o.due_at)),
                       usage_city(p_order));
  RETURN payment_json(p) || jsonb_build_object('order', order_json(o));
END $$;
