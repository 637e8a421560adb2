CREATE FUNCTION order_json(o orders) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', o.id, 'offer_id', o.offer_id, 'institute_id', o.institute_id,
    'created_by', o.created_by, 'units', o.units, 'start', ts(o.start_at), 'end', ts(o.end_at),
    'hours', o.hours, 'price_fen_per_unit_hour', o.price_fen_per_unit_hour,
    'gross_fen', o.gross_fen, 'subsidy_fen', o.subsidy_fen, 'net_fen', o.net_fen,
    'status', o.status, 'created_at', ts(o.created_at),
    'cancelled_at', ts(o.cancelled_at), 'completed_at', ts(o.completed_at),
    'usage_state', o.usage_state, 'delivered_unit_hours', o.delivered_unit_hours,
    'availability', o.availability, 'usage_accepted_at', ts(o.usage_accepted_at),
    'reserved_gross_fen', o.reserved_gross_fen, 'reserved_subsidy_fen', o.reserved_subsidy_fen,
    'buyer_paid_fen', o.buyer_paid_fen, 'due_at', ts(o.due_at))
$$;
