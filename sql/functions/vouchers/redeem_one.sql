-- Applies p_amount (NULL: as much as the rules allow) of voucher p_voucher to order p_order
-- and returns the redemption. Every condition of DESIGN.md §2 is checked, each failing one
-- with its own problem type, before anything changes; p_field prefixes the field names in
-- details (e.g. "vouchers[2]."). A voucher of another institute is 404 when named by id (as if
-- it did not exist) and voucher-not-yours when named by a token, whose signature already
-- proves that it exists.
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
  -- the institute's running total in this programme: its row lock serialises the cap check
  INSERT INTO program_institute_totals (program_id, institute_id) VALUES (p.id, v_org)
  ON CONFLICT DO NOTHING;
  SELECT t.redeemed_fen INTO v_total FROM program_institute_totals t
   WHERE t.program_id = p.id AND t.institute_id = v_org FOR UPDATE;
  v_ratio_room := floor(o.gross_fen::numeric * p.max_subsidy_bp / 10000)::bigint - o.subsidy_fen;
  v_cap_room := CASE WHEN p.per_institute_cap_fen IS NULL THEN v.balance_fen
                     ELSE p.per_institute_cap_fen - v_total END;
  v_amount := coalesce(p_amount, greatest(least(v.balance_fen, v_ratio_room, v_cap_room), 0));
  IF v_amount > v.balance_fen OR v.balance_fen = 0 THEN
    PERFORM problem_at('insufficient-balance', p_field || 'amount_fen',
                       format('voucher %s holds %s fen; %s requested', p_voucher,
                           v.balance_fen, coalesce(p_amount::text, 'some')));
  END IF;
  IF v_amount > v_ratio_room OR v_ratio_room <= 0 THEN
    PERFORM problem_at('subsidy-ratio-exceeded', p_field || 'amount_fen',
                       format('programme %s covers at most %s bp of order %s (gross %s fen): %s fen more at most, %s requested', p.id, p.max_subsidy_bp, p_order, o.gross_fen,
                           greatest(v_ratio_room, 0), coalesce(p_amount::text, 'some')));
  END IF;
  IF v_amount > v_cap_room OR v_cap_room <= 0 THEN
    PERFORM problem_at('institute-cap-exceeded', p_field || 'amount_fen',
                       format('programme %s caps each institute at %s fen; %s fen are redeemed, %s requested', p.id, p.per_institute_cap_fen, v_total,
                           coalesce(p_amount::text, 'some')));
  END IF;

  UPDATE vouchers SET balance_fen = balance_fen - v_amount,
                      status = CASE WHEN balance_fen = v_amount THEN 'exhausted' ELSE status END
   WHERE id = p_voucher;
  UPDATE orders SET subsidy_fen = subsidy_fen + v_amount, net_fen = net_fen - v_amount
   WHERE id = p_order;
  UPDATE program_institute_totals SET redeemed_fen = redeemed_fen + v_amount
   WHERE program_id = p.id AND institute_id = v_org;
  INSERT INTO redemptions (voucher_id, order_id, program_id, institute_id, city_id, amount_fen,
                           created_by)
  VALUES (p_voucher, p_order, p.id, v_org, p.city_id, v_amount, (p_actor->>'user_id')::uuid)
  RETURNING * INTO r;
  PERFORM ledger_move(p_actor, 'redeem', p.id, p_voucher, p_order, r.id,
                      'voucher', p_voucher, 'order_subsidy', p_order, v_amount);
  PERFORM audit_append(p_actor, 'redemption.create', 'redemption', r.id,
                       jsonb_build_object('program_id', p.id, 'voucher_id', p_voucher,
                                          'order_id', p_order, 'amount_fen', v_amount,
                                          'via', CASE WHEN p_via_token THEN 'token' ELSE 'voucher_id' END),
                       p.city_id);
  RETURN r;
END $$;
