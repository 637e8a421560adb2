-- Called by order_cancel before the order is marked cancelled: every applied redemption is
-- reversed. The amount returns to its voucher, or to the programme when the voucher has since
-- expired or been revoked (then it counts as released).
CREATE FUNCTION order_reverse_redemptions(p_actor jsonb, p_order uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  r redemptions;
  v vouchers;
  v_to text;
BEGIN
  PERFORM 1 FROM vouchers
   WHERE id IN (SELECT voucher_id FROM redemptions WHERE order_id = p_order AND status = 'applied')
   ORDER BY id FOR UPDATE;
  FOR r IN SELECT * FROM redemptions WHERE order_id = p_order AND status = 'applied'
            ORDER BY id FOR UPDATE
  LOOP
    SELECT * INTO v FROM vouchers WHERE id = r.voucher_id;
    IF v.status IN ('active', 'exhausted') AND now() < v.expires_at THEN
      v_to := 'voucher';
      UPDATE vouchers SET balance_fen = balance_fen + r.amount_fen, status = 'active'
       WHERE id = v.id;
      PERFORM ledger_move_funded(p_actor, 'reverse', r.program_id, v.id, p_order, r.id,
                                 'order_subsidy', p_order, 'voucher', v.id, r.amount_fen,
                                 r.funder_shares);
    ELSE
      v_to := 'program';
      UPDATE vouchers SET released_fen = released_fen + r.amount_fen WHERE id = v.id;
      UPDATE programs SET released_fen = released_fen + r.amount_fen WHERE id = r.program_id;
      PERFORM ledger_move_funded(p_actor, 'reverse', r.program_id, v.id, p_order, r.id,
                                 'order_subsidy', p_order, 'program_budget', r.program_id,
                                 r.amount_fen, r.funder_shares);
    END IF;
    UPDATE program_institute_totals SET redeemed_fen = redeemed_fen - r.amount_fen
     WHERE program_id = r.program_id AND institute_id = r.institute_id;
    UPDATE program_institute_years SET redeemed_fen = redeemed_fen - r.amount_fen
     WHERE program_id = r.program_id AND institute_id = r.institute_id
       AND year = extract(year FROM r.created_at AT TIME ZONE 'UTC')::integer;
    UPDATE redemptions SET status = 'reversed', reversed_to = v_to, reversed_at = now()
     WHERE id = r.id;
    PERFORM audit_append(p_actor, 'redemption.reverse', 'redemption', r.id,
                         jsonb_build_object('program_id', r.program_id, 'voucher_id', r.voucher_id,
                                            'order_id', p_order, 'amount_fen', r.amount_fen,
                                            'returned_to', v_to), r.city_id);
  END LOOP;
  UPDATE orders SET subsidy_fen = 0, net_fen = gross_fen WHERE id = p_order AND subsidy_fen <> 0;
END $$;
