-- A voucher as the API shows it, with its programme's name (institutes may not read
-- programmes, yet see which one funds their voucher), under the display-time rule of
-- voucher_release_due.
CREATE FUNCTION voucher_json(v vouchers) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', v.id, 'program_id', v.program_id,
    'program_name', (SELECT p.name FROM programs p WHERE p.id = v.program_id),
    'city_id', v.city_id, 'institute_id', v.institute_id, 'face_value_fen', v.face_value_fen,
    'balance_fen', CASE WHEN voucher_release_due(v) THEN 0 ELSE v.balance_fen END,
    'redeemed_fen', v.face_value_fen - v.balance_fen - v.released_fen,
    'released_fen', v.released_fen + CASE WHEN voucher_release_due(v) THEN v.balance_fen ELSE 0 END,
    'currency', 'CNY',
    'not_before', ts(v.not_before), 'expires_at', ts(v.expires_at), 'issued_at', ts(v.issued_at),
    'status', voucher_state(v), 'kid', v.kid, 'revoked_at', ts(v.revoked_at),
    'revoke_reason', v.revoke_reason, 'expired_at', ts(v.expired_at))
$$;
