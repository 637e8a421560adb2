CREATE FUNCTION redemption_json(r redemptions) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', r.id, 'voucher_id', r.voucher_id, 'order_id', r.order_id, 'program_id', r.program_id,
    'institute_id', r.institute_id, 'amount_fen', r.amount_fen, 'status', r.status,
    'reversed_to', r.reversed_to, 'created_by', r.created_by, 'created_at', ts(r.created_at),
    'reversed_at', ts(r.reversed_at))
$$;
