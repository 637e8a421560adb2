-- Re-bills the subsidy of locked order o on its new gross p_gross (usage_accept_report: from
-- the delivered unit-hours, never above the reservation): each applied redemption shrinks in proportion (rounded down, so
-- that every cap the programme applied still holds) and what it gives back moves
-- provider_receivable -> its voucher, or -> the programme's budget when the voucher has
-- expired or been revoked (then counted as released), one 'usage_adjust' entry per funder's
-- share. The institute's lifetime and yearly totals shrink with it. Returns the new subsidy;
-- the caller updates the order.
CREATE FUNCTION usage_rebill(p_actor jsonb, o orders, p_gross bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_provider uuid;
  r redemptions;
  v vouchers;
  v_new bigint;
  v_back bigint;
  v_shares jsonb;
  v_to text;
  v_subsidy bigint := 0;
BEGIN
  SELECT provider_id INTO v_provider FROM offers WHERE id = o.offer_id;
  PERFORM 1 FROM vouchers
   WHERE id IN (SELECT voucher_id FROM redemptions WHERE order_id = o.id AND status = 'applied')
   ORDER BY id FOR UPDATE;
  FOR r IN SELECT * FROM redemptions WHERE order_id = o.id AND status = 'applied'
            ORDER BY id FOR UPDATE
  LOOP
    v_new := floor(r.amount_fen::numeric * p_gross / o.gross_fen)::bigint;
    v_back := r.amount_fen - v_new;
    v_subsidy := v_subsidy + v_new;
    CONTINUE WHEN v_back = 0;
    v_shares := usage_scale_shares(r.funder_shares, v_new);
    SELECT * INTO v FROM vouchers WHERE id = r.voucher_id;
    IF v.status IN ('active', 'exhausted') AND now() < v.expires_at THEN
      v_to := 'voucher';
      UPDATE vouchers SET balance_fen = balance_fen + v_back, status = 'active' WHERE id = v.id;
      PERFORM ledger_move_funded(p_actor, 'usage_adjust', r.program_id, v.id, o.id, r.id,
                                 'provider_receivable', v_provider, 'voucher', v.id, v_back,
                                 usage_shares_minus(r.funder_shares, v_shares));
    ELSE
      v_to := 'program';
      UPDATE vouchers SET released_fen = released_fen + v_back WHERE id = v.id;
      UPDATE programs SET released_fen = released_fen + v_back WHERE id = r.program_id;
      PERFORM ledger_move_funded(p_actor, 'usage_adjust', r.program_id, v.id, o.id, r.id,
                                 'provider_receivable', v_provider, 'program_budget',
                                 r.program_id, v_back,
                                 usage_shares_minus(r.funder_shares, v_shares));
    END IF;
    UPDATE program_institute_totals SET redeemed_fen = redeemed_fen - v_back
     WHERE program_id = r.program_id AND institute_id = r.institute_id;
    UPDATE program_institute_years SET redeemed_fen = redeemed_fen - v_back
     WHERE program_id = r.program_id AND institute_id = r.institute_id
       AND year = extract(year FROM r.created_at AT TIME ZONE 'UTC')::integer;
    UPDATE redemptions SET amount_fen = v_new, usage_returned_fen = usage_returned_fen + v_back,
                           usage_returned_to = v_to, funder_shares = v_shares
     WHERE id = r.id;
    PERFORM audit_append(p_actor, 'redemption.usage_adjust', 'redemption', r.id,
                         jsonb_build_object('program_id', r.program_id, 'voucher_id', r.voucher_id,
                                            'order_id', o.id, 'amount_fen', v_new,
                                            'returned_fen', v_back, 'returned_to', v_to),
                         r.city_id);
  END LOOP;
  RETURN v_subsidy;
END $$;
