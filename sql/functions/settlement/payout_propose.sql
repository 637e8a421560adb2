-- POST /v1/payouts {program_id?, payee_id?, due_before?, note?} (a city's administrator):
-- proposes one payout per payee of the city's payable lines (payable_lines), at most 5 000
-- lines each (the rest waits for the next proposal). Each payee's open debts in a programme
-- (recoveries not yet netted) are netted off its lines of that programme, oldest first, never
-- below zero. The payee's organization row is locked before its lines are read again, so that
-- concurrent proposals (any process) see each other's batches; payout_items_once refuses a
-- line twice regardless. Answers {"items": [payout…]}; nothing payable is 409 nothing-payable.
CREATE FUNCTION payout_propose(p_actor jsonb, p_body jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_city uuid := actor_city(p_actor);
  v_program uuid := (p_body->>'program_id')::uuid;
  v_payee uuid := (p_body->>'payee_id')::uuid;
  v_due timestamptz := (p_body->>'due_before')::timestamptz;
  v_user uuid := (p_actor->>'user_id')::uuid;
  x record;
  d record;
  g record;
  v_id uuid;
  v_gross bigint;
  v_netted bigint;
  v_room bigint;
  v_take bigint;
  v_out jsonb := '[]';
BEGIN
  IF p_actor->>'role' <> 'city_admin' OR v_city IS NULL THEN
    PERFORM problem('forbidden', 'only a city''s administrators propose payouts');
  END IF;
  IF v_program IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM programs WHERE id = v_program AND city_id = v_city) THEN
    PERFORM problem('not-found', 'no programme ' || v_program);
  END IF;
  FOR x IN SELECT DISTINCT l.payee_kind, l.payee_id
             FROM payable_lines(v_city, v_program, v_payee, v_due) l ORDER BY l.payee_id
  LOOP
    PERFORM 1 FROM organizations WHERE id = x.payee_id FOR NO KEY UPDATE;
    -- read again under the lock: a concurrent proposal may have taken the lines meanwhile
    INSERT INTO payouts (city_id, payee_kind, payee_id, gross_fen, total_fen, note, proposed_by)
    SELECT v_city, x.payee_kind, x.payee_id, sum(l.amount_fen), sum(l.amount_fen),
           p_body->>'note', v_user
      FROM (SELECT * FROM payable_lines(v_city, v_program, x.payee_id, v_due) l
             WHERE l.payee_kind = x.payee_kind
             ORDER BY l.order_id, l.program_id, l.funder LIMIT 5000) l
    HAVING count(*) > 0
    RETURNING id, gross_fen INTO v_id, v_gross;
    CONTINUE WHEN v_id IS NULL;
    INSERT INTO payout_items (payout_id, kind, order_id, program_id, funder, amount_fen)
    SELECT v_id, 'order', l.order_id, l.program_id, l.funder, l.amount_fen
      FROM payable_lines(v_city, v_program, x.payee_id, v_due) l
     WHERE l.payee_kind = x.payee_kind
     ORDER BY l.order_id, l.program_id, l.funder LIMIT 5000;
    IF (SELECT sum(amount_fen) FROM payout_items WHERE payout_id = v_id) <> v_gross THEN
      PERFORM problem('busy', 'the payable lines changed while the payout was proposed');
    END IF;
    -- net the payee's open debts off its lines, programme by programme
    v_netted := 0;
    FOR g IN SELECT i.program_id, sum(i.amount_fen) AS due FROM payout_items i
              WHERE i.payout_id = v_id GROUP BY i.program_id ORDER BY i.program_id
    LOOP
      v_room := g.due;
      FOR d IN SELECT * FROM recoveries r
                WHERE r.debtor_id = x.payee_id AND r.debtor_kind = x.payee_kind
                  AND r.program_id = g.program_id AND r.netted_fen < r.debt_fen
                ORDER BY r.created_at, r.id FOR UPDATE
      LOOP
        EXIT WHEN v_room = 0;
        v_take := least(v_room, d.debt_fen - d.netted_fen);
        UPDATE recoveries SET netted_fen = netted_fen + v_take WHERE id = d.id;
        INSERT INTO payout_items (payout_id, kind, order_id, program_id, recovery_id, amount_fen)
        VALUES (v_id, 'debt', d.order_id, d.program_id, d.id, -v_take);
        v_room := v_room - v_take;
        v_netted := v_netted + v_take;
      END LOOP;
    END LOOP;
    UPDATE payouts SET netted_fen = v_netted, total_fen = gross_fen - v_netted WHERE id = v_id;
    PERFORM audit_append(p_actor, 'payout.propose', 'payout', v_id,
                         jsonb_build_object('payee_kind', x.payee_kind, 'payee_id', x.payee_id,
                                            'gross_fen', v_gross, 'netted_fen', v_netted,
                                            'total_fen', v_gross - v_netted,
                                            'filters', p_body - 'note'),
                         v_city);
    v_out := v_out || (SELECT payout_json(p, true) FROM payouts p WHERE p.id = v_id);
  END LOOP;
  IF jsonb_array_length(v_out) = 0 THEN
    PERFORM problem('nothing-payable', 'no due subsidy of the city matches these filters that is not already in a payout');
  END IF;
  RETURN jsonb_build_object('items', v_out);
END $$;
