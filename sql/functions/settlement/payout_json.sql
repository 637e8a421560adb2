-- A payout; with p_items its lines ({kind, order_id, program_id, funder, recovery_id,
-- amount_fen}, debts negative), else only their number.
CREATE FUNCTION payout_json(p payouts, p_items boolean) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', p.id, 'city_id', p.city_id, 'payee_kind', p.payee_kind, 'payee_id', p.payee_id,
    'payee_name', (SELECT o.name FROM organizations o WHERE o.id = p.payee_id),
    'state', p.state, 'gross_fen', p.gross_fen, 'netted_fen', p.netted_fen,
    'total_fen', p.total_fen, 'note', p.note,
    'proposed_by', p.proposed_by, 'proposed_at', ts(p.proposed_at),
    'approved_by', p.approved_by, 'approved_at', ts(p.approved_at),
    'paid_by', p.paid_by, 'paid_at', ts(p.paid_at), 'transfer_reference', p.transfer_reference,
    'cancelled_by', p.cancelled_by, 'cancelled_at', ts(p.cancelled_at),
    'item_count', (SELECT count(*) FROM payout_items i WHERE i.payout_id = p.id))
  || CASE WHEN p_items THEN jsonb_build_object('items', (
       SELECT coalesce(jsonb_agg(jsonb_build_object(
                'kind', i.kind, 'order_id', i.order_id, 'program_id', i.program_id,
                'funder', i.funder, 'recovery_id', i.recovery_id, 'amount_fen', i.amount_fen)
              ORDER BY i.id), '[]')
         FROM payout_items i WHERE i.payout_id = p.id)) ELSE '{}' END
$$;
