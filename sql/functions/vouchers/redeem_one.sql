-- Applies p_amount (NULL: as much as the rules allow) of voucher p_voucher to order p_order
-- and returns the redemption. Every condition of DESIGN.md §2 is checked, each failing one
-- with its own problem type, before anything changes; p_field prefixes the field names in
-- details (e.g. "vouchers[2]."). A voucher of another institute is 404 when named by id (as if
-- it did not exist) and voucher-not-yours when named by a token, whose signature already
-- proves that it exists. The rules of issue 13 are here too, each refusal naming its rule: the
-- provider accredited for the programme, no related parties, the tiered ratio
-- (program_subsidy_bp), the per-contract cap, the yearly and lifetime caps per institute; the
-- amount is split between the programme's funders in the ledger.
CREATE FUNCTION redeem_one(p_actor jsonb, p_voucher uuid, p_order uuid, p_amount bigint,
                           p_via_token boolean, p_field text)
RETURNS redemptions LANGUAGE plpgsql AS $$
DECLARE
  v_org uuid := (p_actor->>'org_id')::uuid;
  v_field text := p_field || CASE WHEN p_via_token THEN 'token' ELSE 'voucher_id' END;
  o orders;
  v vouchers;
  p programs;
  f offers;
  v_total bigint;
  v_year integer := extract(year FROM now() AT TIME ZONE 'UTC')::integer;
  v_year_total bigint;
  v_year_room bigint;
  v_tier record;
  v_contract_value bigint;
  v_contract_used bigint;
  v_contract_room bigint;
  v_shares jsonb;
  v_ratio_room bigint;
  v_cap_room bigint;
  v_amount bigint;
  r redemptions;
BEGIN
  SELECT * INTO o FROM orders WHERE id = p_order FOR UPDATE;
  IF NOT FOUND OR o.institute_id IS DISTINCT FROM v_org OR p_actor->>'role' <> 'institute' THEN
    PERFORM problem_at('not-found', p_field || 'order_id', format('no order %s', p_order));
  END IF;
  SELECT * INTO v FROM vouchers WHERE id = p_voucher FOR UPDATE;
  IF NOT FOUND OR (v.institute_id <> v_org AND NOT p_via_token) THEN
    PERFORM problem_at('not-found', v_field, format('no voucher %s', p_voucher));
  END IF;
  IF v.institute_id <> v_org THEN
    PERFORM problem_at('voucher-not-yours', v_field,
                       format('voucher %s belongs to another institute', p_voucher));
  END IF;
  IF v.status = 'revoked' THEN
    PERFORM problem_at('voucher-revoked', v_field,
                       format('voucher %s was revoked at %s', p_voucher, ts(v.revoked_at)));
  END IF;
  IF v.status = 'expired' OR now() >= v.expires_at THEN
    PERFORM problem_at('voucher-expired', v_field,
                       format('voucher %s expired at %s', p_voucher, ts(v.expires_at)));
  END IF;
  IF now() < v.not_before THEN
    PERFORM problem_at('voucher-not-yet-valid', v_field,
                       format('voucher %s is valid from %s', p_voucher, ts(v.not_before)));
  END IF;
  SELECT * INTO p FROM programs WHERE id = v.program_id;
  IF program_state(p) <> 'active' THEN
    PERFORM problem_at('program-not-active', v_field,
                       format('programme %s of voucher %s is %s', p.id, p_voucher, program_state(p)));
  END IF;
  IF o.status <> 'reserved' THEN
    PERFORM problem('order-state-conflict',
                    format('order %s is %s; vouchers apply to reserved orders only', p_order, o.status));
  END IF;
  SELECT * INTO f FROM offers WHERE id = o.offer_id;
  IF NOT f.resource_class = ANY (p.resource_classes) THEN
    PERFORM problem_at('offer-not-eligible', v_field,
                       format('programme %s subsidises %s capacity, not %s', p.id,
                           array_to_string(p.resource_classes, ', '), f.resource_class));
  END IF;
  IF NOT f.region = ANY (p.regions) THEN
    PERFORM problem_at('offer-not-eligible', v_field,
                       format('programme %s subsidises the regions %s, not %s', p.id,
                           array_to_string(p.regions, ', '), f.region));
  END IF;
  IF f.green_share < p.min_green_share THEN
    PERFORM problem_at('offer-not-eligible', v_field,
                       format('programme %s requires a green share of at least %s; offer %s has %s', p.id, p.min_green_share, f.id, f.green_share));
  END IF;
  IF NOT program_provider_admitted(p, f.provider_id) THEN
    PERFORM problem_at('provider-not-accredited', v_field,
                       format('programme %s does not accredit provider %s of offer %s', p.id,
                           f.provider_id, f.id));
  END IF;
  IF related_party_exists(f.provider_id, v_org) THEN
    PERFORM problem_at('related-parties', v_field,
                       format('provider %s and institute %s are related parties; no voucher pays for orders between them',
                           f.provider_id, v_org));
  END IF;
  -- the institute's running totals in this programme, lifetime and this year: their row locks
  -- serialise the cap checks
  INSERT INTO program_institute_totals (program_id, institute_id) VALUES (p.id, v_org)
  ON CONFLICT DO NOTHING;
  SELECT t.redeemed_fen INTO v_total FROM program_institute_totals t
   WHERE t.program_id = p.id AND t.institute_id = v_org FOR UPDATE;
  INSERT INTO program_institute_years (program_id, institute_id, year) VALUES (p.id, v_org, v_year)
  ON CONFLICT DO NOTHING;
  SELECT y.redeemed_fen INTO v_year_total FROM program_institute_years y
   WHERE y.program_id = p.id AND y.institute_id = v_org AND y.year = v_year FOR UPDATE;
  SELECT * INTO v_tier FROM program_subsidy_bp(p, f);
  v_ratio_room := floor(o.gross_fen::numeric * v_tier.bp / 10000)::bigint - o.subsidy_fen;
  v_cap_room := CASE WHEN p.per_institute_cap_fen IS NULL THEN v.balance_fen
                     ELSE p.per_institute_cap_fen - v_total END;
  v_year_room := CASE WHEN p.per_institute_year_cap_fen IS NULL THEN v.balance_fen
                      ELSE p.per_institute_year_cap_fen - v_year_total END;
  -- the contract: the approved application the voucher was issued for, else the order itself
  IF p.per_contract_cap_bp IS NOT NULL THEN
    SELECT a.contract_value_fen INTO v_contract_value FROM applications a
     WHERE a.id = v.application_id AND a.contract_value_fen IS NOT NULL;
    IF FOUND THEN
      SELECT coalesce(sum(r2.amount_fen), 0) INTO v_contract_used
        FROM redemptions r2 JOIN vouchers v2 ON v2.id = r2.voucher_id
       WHERE v2.application_id = v.application_id AND r2.status = 'applied';
    ELSE
      v_contract_value := o.gross_fen;
      v_contract_used := o.subsidy_fen;
    END IF;
    v_contract_room := floor(v_contract_value::numeric * p.per_contract_cap_bp / 10000)::bigint
                       - v_contract_used;
  ELSE
    v_contract_room := v.balance_fen;
  END IF;
  v_amount := coalesce(p_amount, greatest(least(v.balance_fen, v_ratio_room, v_cap_room,
                                                v_year_room, v_contract_room), 0));
  IF v_amount > v.balance_fen OR v.balance_fen = 0 THEN
    PERFORM problem_at('insufficient-balance', p_field || 'amount_fen',
                       format('voucher %s holds %s fen; %s requested', p_voucher,
                           v.balance_fen, coalesce(p_amount::text, 'some')));
  END IF;
  IF v_amount > v_ratio_room OR v_ratio_room <= 0 THEN
    PERFORM problem_at('subsidy-ratio-exceeded', p_field || 'amount_fen',
                       format('programme %s covers at most %s bp (%s tier) of order %s (gross %s fen): %s fen more at most, %s requested', p.id, v_tier.bp, v_tier.tier, p_order, o.gross_fen,
                           greatest(v_ratio_room, 0), coalesce(p_amount::text, 'some')));
  END IF;
  IF v_amount > v_cap_room OR v_cap_room <= 0 THEN
    PERFORM problem_at('institute-cap-exceeded', p_field || 'amount_fen',
                       format('programme %s caps each institute at %s fen; %s fen are redeemed, %s requested', p.id, p.per_institute_cap_fen, v_total,
                           coalesce(p_amount::text, 'some')));
  END IF;
  IF v_amount > v_year_room OR v_year_room <= 0 THEN
    PERFORM problem_at('institute-year-cap-exceeded', p_field || 'amount_fen',
                       format('programme %s caps each institute at %s fen a calendar year; %s fen are redeemed in %s, %s requested', p.id, p.per_institute_year_cap_fen, v_year_total, v_year,
                           coalesce(p_amount::text, 'some')));
  END IF;
  IF v_amount > v_contract_room OR v_contract_room <= 0 THEN
    PERFORM problem_at('contract-cap-exceeded', p_field || 'amount_fen',
                       format('programme %s subsidises at most %s bp of a contract (value %s fen): %s fen more at most, %s requested', p.id, p.per_contract_cap_bp, v_contract_value,
                           greatest(v_contract_room, 0), coalesce(p_amount::text, 'some')));
  END IF;

  v_shares := program_funder_shares(p.funders, v_amount);
  UPDATE vouchers SET balance_fen = balance_fen - v_amount,
                      status = CASE WHEN balance_fen = v_amount THEN 'exhausted' ELSE status END
   WHERE id = p_voucher;
  UPDATE orders SET subsidy_fen = subsidy_fen + v_amount, net_fen = net_fen - v_amount
   WHERE id = p_order;
  UPDATE program_institute_totals SET redeemed_fen = redeemed_fen + v_amount
   WHERE program_id = p.id AND institute_id = v_org;
  UPDATE program_institute_years SET redeemed_fen = redeemed_fen + v_amount
   WHERE program_id = p.id AND institute_id = v_org AND year = v_year;
  INSERT INTO redemptions (voucher_id, order_id, program_id, institute_id, city_id, amount_fen,
                           created_by, funder_shares)
  VALUES (p_voucher, p_order, p.id, v_org, p.city_id, v_amount, (p_actor->>'user_id')::uuid,
          v_shares)
  RETURNING * INTO r;
  PERFORM ledger_move_funded(p_actor, 'redeem', p.id, p_voucher, p_order, r.id,
                             'voucher', p_voucher, 'order_subsidy', p_order, v_amount, v_shares);
  PERFORM audit_append(p_actor, 'redemption.create', 'redemption', r.id,
                       jsonb_build_object('program_id', p.id, 'voucher_id', p_voucher,
                                          'order_id', p_order, 'amount_fen', v_amount,
                                          'via', CASE WHEN p_via_token THEN 'token' ELSE 'voucher_id' END,
                                          'subsidy_bp', v_tier.bp, 'tier', v_tier.tier,
                                          'funders', v_shares),
                       p.city_id);
  RETURN r;
END $$;
