-- A recovery with what went back to vouchers (restored_fen) and the debt still open.
CREATE FUNCTION recovery_json(r recoveries) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', r.id, 'city_id', r.city_id, 'order_id', r.order_id, 'program_id', r.program_id,
    'amount_fen', r.amount_fen, 'reason', r.reason, 'debtor', r.debtor_kind,
    'debtor_id', r.debtor_id, 'restore_voucher', r.restore_voucher,
    'offset_fen', r.offset_fen, 'debt_fen', r.debt_fen, 'netted_fen', r.netted_fen,
    'debt_open_fen', r.debt_fen - r.netted_fen,
    'restored_fen', (SELECT coalesce(sum(p.amount_fen), 0) FROM ledger_postings p
                       JOIN ledger_entries e ON e.id = p.entry_id
                      WHERE e.recovery_id = r.id AND p.account_kind = 'voucher'),
    'created_by', r.created_by, 'created_at', ts(r.created_at))
$$;
