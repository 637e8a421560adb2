-- What vouchers p_voucher_ids of the actor would pay on an order of p_gross on p_offer, under
-- their programmes' rules (voucher_room), applied in the given order (for pricing match plans; nothing is
-- locked or changed). Vouchers that could not pay (foreign, spent, expired, ineligible) add 0.
CREATE FUNCTION match_subsidy(p_actor jsonb, p_offer uuid, p_gross bigint,
                                         p_voucher_ids uuid[])
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
  f offers;
  x record;
  v_total bigint := 0;
  v_used jsonb := '{}';
  v_room bigint;
  v_amount bigint;
BEGIN
  SELECT * INTO f FROM offers WHERE id = p_offer;
  IF NOT FOUND OR p_gross IS NULL OR p_gross <= 0 OR p_voucher_ids IS NULL THEN
    RETURN 0;
  END IF;
  FOR x IN SELECT * FROM voucher_payers((p_actor->>'org_id')::uuid, f, p_voucher_ids) ORDER BY n
  LOOP
    v_room := voucher_room(p_gross, v_total, x.max_subsidy_bp, x.per_institute_cap_fen,
                           x.redeemed, x.year_cap_fen, x.year_redeemed,
                           coalesce((v_used->>(x.program_id::text))::bigint, 0), x.contract_bp,
                           x.contract_value_fen,
                           x.contract_used + coalesce((v_used->>('a' || x.application_id))::bigint, 0));
    v_amount := greatest(least(x.balance_fen, v_room), 0);
    v_total := v_total + v_amount;
    v_used := v_used || jsonb_build_object(x.program_id::text,
                          coalesce((v_used->>(x.program_id::text))::bigint, 0) + v_amount);
    IF x.application_id IS NOT NULL THEN
      v_used := v_used || jsonb_build_object('a' || x.application_id,
                            coalesce((v_used->>('a' || x.application_id))::bigint, 0) + v_amount);
    END IF;
  END LOOP;
  RETURN v_total;
END $$;
