-- ledger_move for a co-funded movement: one balanced entry per funder's share of p_shares
-- ([{funder, amount_fen}], from program_funder_shares), or one plain entry when p_shares is
-- NULL. Shares of 0 fen move nothing. p_payout, p_recovery: as for ledger_move.
CREATE FUNCTION ledger_move_funded(p_actor jsonb, p_kind text, p_program uuid, p_voucher uuid,
                                   p_order uuid, p_redemption uuid, p_from_kind text,
                                   p_from uuid, p_to_kind text, p_to uuid, p_amount bigint,
                                   p_shares jsonb, p_payout uuid DEFAULT NULL,
                                   p_recovery uuid DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  s record;
  v_entry bigint;
BEGIN
  IF p_shares IS NULL THEN
    PERFORM ledger_move(p_actor, p_kind, p_program, p_voucher, p_order, p_redemption,
                        p_from_kind, p_from, p_to_kind, p_to, p_amount, p_payout, p_recovery);
    RETURN;
  END IF;
  FOR s IN SELECT x->>'funder' AS funder, (x->>'amount_fen')::bigint AS amount
             FROM jsonb_array_elements(p_shares) WITH ORDINALITY t(x, n) ORDER BY n
  LOOP
    CONTINUE WHEN s.amount = 0;
    INSERT INTO ledger_entries (kind, program_id, voucher_id, order_id, redemption_id, request_id,
                                funder, payout_id, recovery_id)
    VALUES (p_kind, p_program, p_voucher, p_order, p_redemption, p_actor->>'request_id', s.funder,
            p_payout, p_recovery)
    RETURNING id INTO v_entry;
    INSERT INTO ledger_postings (entry_id, account_kind, account_id, program_id, amount_fen)
    VALUES (v_entry, p_from_kind, p_from, p_program, -s.amount),
           (v_entry, p_to_kind, p_to, p_program, s.amount);
  END LOOP;
END $$;
