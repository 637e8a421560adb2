-- POST /v1/recoveries {order_id, program_id?, amount_fen, reason, debtor?, restore_voucher?}
-- (a city's administrator): takes back subsidy of an order already settled (its usage
-- accepted, else 409 usage-state-conflict), at most what was
-- settled in the programme less what earlier recoveries took (422 recovery-exceeds-settled).
-- program_id may be left out when the order's subsidy came from one programme. The amount is
-- first offset against the order's receivable that is in no payout yet (provider_receivable ->
-- program_recovered); the rest becomes a debt of the debtor (default: the programme's payee;
-- or 'provider' / 'institute' by choice), netted off by its next payouts in the programme.
-- With restore_voucher the amount goes back to the vouchers that paid the order (each at most
-- what it paid; an expired or revoked voucher refuses, 409), else it stays recovered in the
-- programme. Locks: the payee's and the debtor's organizations (as payout_propose), then the
-- order, then the vouchers.
CREATE FUNCTION recovery_create(p_actor jsonb, p_body jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_city uuid := actor_city(p_actor);
  v_order uuid := (p_body->>'order_id')::uuid;
  v_program uuid := (p_body->>'program_id')::uuid;
  v_amount bigint := (p_body->>'amount_fen')::bigint;
  v_restore boolean := coalesce((p_body->>'restore_voucher')::boolean, false);
  o orders;
  g programs;
  v_provider uuid;
  v_payee uuid;
  v_debtor_kind text;
  v_debtor uuid;
  v_settled bigint;
  v_recovered bigint;
  v_receivable bigint;
  v_offset bigint;
  r recoveries;
  x record;
  v_left bigint;
  v_take bigint;
BEGIN
  IF p_actor->>'role' <> 'city_admin' OR v_city IS NULL THEN
    PERFORM problem('forbidden', 'only a city''s administrators record recoveries');
  END IF;
  SELECT * INTO o FROM orders WHERE id = v_order;
  IF NOT FOUND OR NOT order_visible(p_actor, o) THEN
    PERFORM problem('not-found', 'no order ' || v_order);
  END IF;
  SELECT provider_id INTO v_provider FROM offers WHERE id = o.offer_id;
  IF v_program IS NULL THEN
    SELECT CASE WHEN count(DISTINCT e.program_id) = 1 THEN min(e.program_id::text)::uuid END
      INTO v_program
      FROM ledger_entries e JOIN ledger_postings l ON l.entry_id = e.id
     WHERE e.order_id = o.id AND l.account_kind = 'provider_receivable';
    IF v_program IS NULL THEN
      PERFORM problem_at('validation-failed', 'program_id',
                         'the order''s subsidy is settled in several programmes, or none: name the programme');
    END IF;
  END IF;
  SELECT * INTO g FROM programs WHERE id = v_program AND city_id = v_city;
  IF NOT FOUND THEN
    PERFORM problem('not-found', 'no programme ' || v_program);
  END IF;
  v_payee := CASE g.payee WHEN 'institute' THEN o.institute_id ELSE v_provider END;
  v_debtor_kind := coalesce(p_body->>'debtor', g.payee);
  v_debtor := CASE v_debtor_kind WHEN 'institute' THEN o.institute_id ELSE v_provider END;
  PERFORM 1 FROM organizations WHERE id IN (v_payee, v_debtor) ORDER BY id FOR NO KEY UPDATE;
  SELECT * INTO o FROM orders WHERE id = v_order FOR UPDATE;
  -- settled means billed on accepted usage: before that the subsidy may still shrink with the
  -- usage, and a recovery taken from it would leave the receivable below zero on acceptance
  IF o.usage_state <> 'accepted' THEN
    PERFORM problem('usage-state-conflict',
                    format('order %s has no accepted usage (its usage is %s): its subsidy is not settled yet',
                           o.id, o.usage_state));
  END IF;

  SELECT coalesce(sum(l.amount_fen) FILTER (WHERE e.kind NOT IN ('payout', 'recover')), 0),
         coalesce(sum(l.amount_fen), 0)
    INTO v_settled, v_receivable
    FROM ledger_entries e JOIN ledger_postings l ON l.entry_id = e.id
   WHERE e.order_id = o.id AND e.program_id = v_program AND l.account_kind = 'provider_receivable';
  SELECT coalesce(sum(amount_fen), 0) INTO v_recovered FROM recoveries
   WHERE order_id = o.id AND program_id = v_program;
  IF v_amount > v_settled - v_recovered THEN
    PERFORM problem_at('recovery-exceeds-settled', 'amount_fen',
                       format('%s fen of the order''s subsidy is settled in programme %s and %s fen of it already recovered: at most %s fen can be recovered',
                              v_settled, v_program, v_recovered, greatest(v_settled - v_recovered, 0)));
  END IF;
  -- the order's receivable in a live payout is the payout's: the rest is owed back
  IF EXISTS (SELECT 1 FROM payout_items i WHERE i.order_id = o.id AND i.program_id = v_program
                AND i.kind = 'order' AND i.live) THEN
    v_receivable := 0;
  END IF;
  v_offset := least(v_amount, greatest(v_receivable, 0));

  INSERT INTO recoveries (city_id, order_id, program_id, amount_fen, reason, debtor_kind, debtor_id,
                          restore_voucher, offset_fen, debt_fen, created_by)
  VALUES (v_city, o.id, v_program, v_amount, p_body->>'reason', v_debtor_kind, v_debtor, v_restore,
          v_offset, v_amount - v_offset, (p_actor->>'user_id')::uuid)
  RETURNING * INTO r;
  IF v_offset > 0 THEN
    PERFORM ledger_move_funded(p_actor, 'recover', v_program, NULL, o.id, NULL,
                               'provider_receivable', v_provider, 'program_recovered', v_program,
                               v_offset, program_funder_shares(g.funders, v_offset), NULL, r.id);
  END IF;
  IF r.debt_fen > 0 THEN
    PERFORM ledger_move(p_actor, 'recover', v_program, NULL, o.id, NULL, 'payee_debt', v_debtor,
                        'program_recovered', v_program, r.debt_fen, NULL, r.id);
  END IF;

  IF v_restore THEN
    v_left := v_amount;
    FOR x IN SELECT d.voucher_id, sum(d.amount_fen) AS paid,
                    (SELECT coalesce(sum(l.amount_fen), 0) FROM ledger_postings l
                       JOIN ledger_entries e ON e.id = l.entry_id
                      WHERE e.order_id = o.id AND e.kind = 'recover' AND l.account_kind = 'voucher'
                        AND l.account_id = d.voucher_id) AS restored
               FROM redemptions d
              WHERE d.order_id = o.id AND d.program_id = v_program AND d.status = 'applied'
              GROUP BY d.voucher_id ORDER BY d.voucher_id
    LOOP
      EXIT WHEN v_left = 0;
      v_take := least(v_left, x.paid - x.restored);
      CONTINUE WHEN v_take <= 0;
      PERFORM voucher_restore(p_actor, x.voucher_id, v_program, o.id, r.id, v_take);
      v_left := v_left - v_take;
    END LOOP;
  END IF;

  PERFORM audit_append(p_actor, 'recovery.create', 'recovery', r.id,
                       jsonb_build_object('order_id', o.id, 'program_id', v_program,
                                          'amount_fen', v_amount, 'reason', r.reason,
                                          'debtor', v_debtor_kind, 'debtor_id', v_debtor,
                                          'offset_fen', r.offset_fen, 'debt_fen', r.debt_fen,
                                          'restore_voucher', v_restore),
                       v_city);
  RETURN recovery_json(r);
END $$;
