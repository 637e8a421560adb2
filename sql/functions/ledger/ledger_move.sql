-- One movement of p_amount from one account to another, as one balanced entry (naming the
-- payout or recovery it belongs to, if any).
CREATE FUNCTION ledger_move(p_actor jsonb, p_kind text, p_program uuid, p_voucher uuid,
                            p_order uuid, p_redemption uuid, p_from_kind text, p_from uuid,
                            p_to_kind text, p_to uuid, p_amount bigint,
                            p_payout uuid DEFAULT NULL, p_recovery uuid DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_entry bigint;
BEGIN
  INSERT INTO ledger_entries (kind, program_id, voucher_id, order_id, redemption_id, request_id,
                              payout_id, recovery_id)
  VALUES (p_kind, p_program, p_voucher, p_order, p_redemption, p_actor->>'request_id', p_payout,
          p_recovery)
  RETURNING id INTO v_entry;
  INSERT INTO ledger_postings (entry_id, account_kind, account_id, program_id, amount_fen)
  VALUES (v_entry, p_from_kind, p_from, p_program, -p_amount),
         (v_entry, p_to_kind, p_to, p_program, p_amount);
  RETURN v_entry;
END $$;
