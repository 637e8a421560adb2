CREATE FUNCTION voucher_live(p_id uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v vouchers := voucher_settled(p_id);
BEGIN
  IF v.id IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN jsonb_build_object('id', v.id, 'status', voucher_state(v), 'balance_fen', v.balance_fen,
                            'not_before', ts(v.not_before), 'expires_at', ts(v.expires_at),
                            'program_status', (SELECT program_state(p) FROM programs p WHERE p.id = v.program_id));
END $$;
