-- What POST /v1/vouchers/verify and a redemption by token need of a voucher, read only, under
-- the display-time rule of voucher_release_due. NULL when there is no such voucher.
CREATE FUNCTION voucher_live(p_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', v.id, 'status', voucher_state(v),
                            'balance_fen', CASE WHEN voucher_release_due(v) THEN 0 ELSE v.balance_fen END,
                            'not_before', ts(v.not_before), 'expires_at', ts(v.expires_at),
                            'program_status', (SELECT program_state(p) FROM programs p WHERE p.id = v.program_id))
    FROM vouchers v WHERE v.id = p_id
$$;
