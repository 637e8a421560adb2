-- POST /v1/quotes: what a plan ([{offer_id, units, start, end}]) would cost the actor, priced as
-- order_create bills (per started hour at the offer's price) and subsidised as redeem_one
-- applies vouchers: p_voucher_ids in the given order, each paying on each leg in turn as much
-- as its balance left and its programme's limits allow (voucher_room: the ratio of the leg's
-- gross, the institute's lifetime and yearly caps, the cap per contract),
-- and all of them together at most p_amount (NULL: no limit). Each leg lists the vouchers that
-- pay on it with their amounts, the body POST /v1/plans takes. Nothing is locked or changed.
-- Vouchers that cannot pay now (spent, expired, ineligible for an offer) pay nothing; one that
-- is not the actor's is not found.
CREATE FUNCTION plan_price(p_actor jsonb, p_legs jsonb, p_voucher_ids uuid[], p_amount bigint)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_org uuid := (p_actor->>'org_id')::uuid;
  l record;
  f offers;
  x record;
  v_start timestamptz;
  v_end timestamptz;
  v_hours bigint;
  v_gross bigint;
  v_leg_subsidy bigint;
  v_room bigint;
  v_amount bigint;
  v_left bigint := p_amount;
  v_balance jsonb := '{}';
  v_used jsonb := '{}';
  v_pay jsonb;
  v_legs jsonb := '[]';
  v_total_gross bigint := 0;
  v_total_subsidy bigint := 0;
BEGIN
  IF p_actor->>'role' <> 'institute' THEN
    PERFORM problem('forbidden', 'only institutes price plans with their vouchers');
  END IF;
  SELECT u.n - 1 AS i, u.id INTO x FROM unnest(p_voucher_ids) WITH ORDINALITY u(id, n)
   WHERE NOT EXISTS (SELECT 1 FROM vouchers v WHERE v.id = u.id AND v.institute_id = v_org)
   ORDER BY u.n LIMIT 1;
  IF FOUND THEN
    PERFORM problem_at('not-found', format('voucher_ids[%s]', x.i), format('no voucher %s', x.id));
  END IF;
  SELECT u.n - 1 AS i, u.id INTO x FROM unnest(p_voucher_ids) WITH ORDINALITY u(id, n)
   WHERE EXISTS (SELECT 1 FROM unnest(p_voucher_ids) WITH ORDINALITY w(id, m)
                  WHERE w.m < u.n AND w.id = u.id)
   ORDER BY u.n LIMIT 1;
  IF FOUND THEN
    PERFORM problem_at('validation-failed', format('voucher_ids[%s]', x.i),
                       format('voucher %s is named twice', x.id));
  END IF;
  FOR l IN SELECT t.n - 1 AS i, t.x FROM jsonb_array_elements(p_legs) WITH ORDINALITY t(x, n)
            ORDER BY t.n
  LOOP
    v_start := (l.x->>'start')::timestamptz;
    v_end := (l.x->>'end')::timestamptz;
    IF v_end <= v_start THEN
      PERFORM problem_at('validation-failed', format('legs[%s].end', l.i), 'must be after start');
    END IF;
    SELECT * INTO f FROM offers o WHERE o.id = (l.x->>'offer_id')::uuid AND offer_visible(p_actor, o);
    IF NOT FOUND THEN
      PERFORM problem_at('not-found', format('legs[%s].offer_id', l.i),
                         format('no offer %s', l.x->>'offer_id'));
    END IF;
    v_hours := billed_hours(v_start, v_end);
    v_gross := gross_fen((l.x->>'units')::integer, v_hours, f.price_fen_per_unit_hour);
    v_leg_subsidy := 0;
    v_pay := '[]';
    FOR x IN SELECT * FROM voucher_payers(v_org, f, p_voucher_ids) ORDER BY n
    LOOP
      v_room := voucher_room(v_gross, v_leg_subsidy, x.max_subsidy_bp, x.per_institute_cap_fen,
                             x.redeemed, x.year_cap_fen, x.year_redeemed,
                             coalesce((v_used->>(x.program_id::text))::bigint, 0), x.contract_bp,
                             x.contract_value_fen,
                             x.contract_used + coalesce((v_used->>('a' || x.application_id))::bigint, 0));
      v_amount := least(x.balance_fen - coalesce((v_balance->>(x.id::text))::bigint, 0), v_room,
                        coalesce(v_left, v_room));
      CONTINUE WHEN v_amount <= 0;
      v_leg_subsidy := v_leg_subsidy + v_amount;
      v_left := v_left - v_amount;
      v_balance := v_balance || jsonb_build_object(x.id::text,
                     coalesce((v_balance->>(x.id::text))::bigint, 0) + v_amount);
      v_used := v_used || jsonb_build_object(x.program_id::text,
                  coalesce((v_used->>(x.program_id::text))::bigint, 0) + v_amount);
      IF x.application_id IS NOT NULL THEN
        v_used := v_used || jsonb_build_object('a' || x.application_id,
                    coalesce((v_used->>('a' || x.application_id))::bigint, 0) + v_amount);
      END IF;
      v_pay := v_pay || jsonb_build_array(jsonb_build_object('voucher_id', x.id,
                                                             'amount_fen', v_amount));
    END LOOP;
    v_legs := v_legs || jsonb_build_array(jsonb_build_object(
      'offer_id', f.id, 'units', (l.x->>'units')::integer, 'start', ts(v_start),
      'end', ts(v_end), 'hours', v_hours, 'price_fen_per_unit_hour', f.price_fen_per_unit_hour,
      'free_units', greatest(f.units - offer_reserved_peak(f.id, v_start, v_end), 0),
      'gross_fen', v_gross, 'subsidy_fen', v_leg_subsidy, 'net_fen', v_gross - v_leg_subsidy,
      'vouchers', v_pay));
    v_total_gross := v_total_gross + v_gross;
    v_total_subsidy := v_total_subsidy + v_leg_subsidy;
  END LOOP;
  RETURN jsonb_build_object('legs', v_legs, 'gross_fen', v_total_gross,
                            'subsidy_fen', v_total_subsidy,
                            'net_fen', v_total_gross - v_total_subsidy);
END $$;
