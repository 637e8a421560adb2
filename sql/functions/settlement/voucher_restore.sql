-- Gives p_amount of a recovery back to a voucher that paid the order (program_recovered ->
-- voucher): an expired or revoked voucher refuses (409); an exhausted one is active again.
CREATE FUNCTION voucher_restore(p_actor jsonb, p_voucher uuid, p_program uuid, p_order uuid,
                                p_recovery uuid, p_amount bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v vouchers;
BEGIN
  SELECT * INTO v FROM vouchers WHERE id = p_voucher FOR UPDATE;
  IF v.status = 'revoked' THEN
    PERFORM problem('voucher-revoked', format('voucher %s is revoked: its balance cannot be restored', v.id));
  END IF;
  IF v.status = 'expired' OR v.expires_at <= now() THEN
    PERFORM problem('voucher-expired', format('voucher %s has expired: its balance cannot be restored', v.id));
  END IF;
  UPDATE vouchers SET balance_fen = balance_fen + p_amount, status = 'active' WHERE id = v.id;
  PERFORM ledger_move(p_actor, 'recover', p_program, v.id, p_order, NULL, 'program_recovered',
                      p_program, 'voucher', v.id, p_amount, NULL, p_recovery);
END $$;
