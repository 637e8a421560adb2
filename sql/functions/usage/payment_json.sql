CREATE FUNCTION payment_json(p order_payments) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', p.id, 'order_id', p.order_id, 'amount_fen', p.amount_fen,
                            'reference', p.reference, 'recorded_by', p.recorded_by,
                            'created_at', ts(p.created_at))
$$;
