-- POST /v1/programs/{id}/vouchers: p_items is [{institute_id, face_value_fen, not_before?,
-- expires_at}] (1 to 10 000, shapes checked by the server), p_kid the key that signs their
-- tokens. All or nothing: every voucher must be for an institute of the programme's city, lie
-- inside the programme's window, and together they must fit in the available budget. The
-- programme row lock serialises issuance, so racing batches can never overspend (I2).
-- Answers {"items": [voucher…]} in the order of p_items.
CREATE FUNCTION voucher_issue(p_actor jsonb, p_program uuid, p_kid text, p_items jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_p programs;
  v_now timestamptz := date_trunc('milliseconds', now());
  v_default_nbf timestamptz;
  v_bad record;
  v_total numeric;
  v_count integer;
  v_available bigint;
  v_ids uuid[];
  v_entry bigint;
BEGIN
  SELECT * INTO v_p FROM programs WHERE id = p_program FOR UPDATE;
  IF NOT FOUND OR NOT program_visible(p_actor, v_p)
     OR p_actor->>'role' NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('not-found', 'no programme ' || p_program);
  END IF;
  IF v_p.status = 'suspended' OR now() >= v_p.ends_at THEN
    PERFORM problem('program-not-active',
                    format('programme %s is %s; it issues no vouchers', p_program, program_state(v_p)));
  END IF;
  PERFORM 1 FROM signing_keys WHERE kid = p_kid;
  IF NOT FOUND THEN
    PERFORM problem('service-unavailable', 'the signing key is not registered yet; retry shortly');
  END IF;
  v_default_nbf := greatest(v_now, date_trunc('milliseconds', v_p.starts_at));

  SELECT x.n - 1 AS i, x.institute_id, x.nbf, x.exp, o.id IS NULL AS unknown INTO v_bad
    FROM (SELECT t.n, (t.e->>'institute_id')::uuid AS institute_id,
                 date_trunc('milliseconds', coalesce((t.e->>'not_before')::timestamptz, v_default_nbf)) AS nbf,
                 date_trunc('milliseconds', (t.e->>'expires_at')::timestamptz) AS exp
            FROM jsonb_array_elements(p_items) WITH ORDINALITY t(e, n)) x
    LEFT JOIN organizations o ON o.id = x.institute_id AND o.type = 'institute'
                             AND o.city_id = v_p.city_id
   WHERE o.id IS NULL OR x.exp <= x.nbf OR x.exp <= v_now OR x.exp > v_p.ends_at
   ORDER BY x.n LIMIT 1;
  IF FOUND THEN
    IF v_bad.unknown THEN
      PERFORM problem_at('not-found', format('vouchers[%s].institute_id', v_bad.i), format('no institute %s in the programme''s city', v_bad.institute_id));
    ELSIF v_bad.exp <= v_now THEN
      PERFORM problem_at('validation-failed', format('vouchers[%s].expires_at', v_bad.i), 'must be in the future');
    ELSIF v_bad.exp <= v_bad.nbf THEN
      PERFORM problem_at('validation-failed', format('vouchers[%s].expires_at', v_bad.i), format('must be after not_before (%s)', ts(v_bad.nbf)));
    ELSE
      PERFORM problem_at('validation-failed', format('vouchers[%s].expires_at', v_bad.i), format('must not be after the programme ends (%s)', ts(v_p.ends_at)));
    END IF;
  END IF;

  SELECT coalesce(sum((e->>'face_value_fen')::bigint), 0), count(*) INTO v_total, v_count
    FROM jsonb_array_elements(p_items) e;
  v_available := v_p.budget_fen - v_p.issued_fen + v_p.released_fen;
  IF v_total > v_available THEN
    PERFORM problem('budget-exceeded',
                    format('the %s vouchers need %s fen; programme %s has %s fen available',
                           v_count, v_total, p_program, v_available));
  END IF;

  WITH input AS MATERIALIZED (
    SELECT t.n, uuid_v7() AS id, (t.e->>'institute_id')::uuid AS institute_id,
           (t.e->>'face_value_fen')::bigint AS face,
           date_trunc('milliseconds', coalesce((t.e->>'not_before')::timestamptz, v_default_nbf)) AS nbf,
           date_trunc('milliseconds', (t.e->>'expires_at')::timestamptz) AS exp
      FROM jsonb_array_elements(p_items) WITH ORDINALITY t(e, n)),
  ins AS (
    INSERT INTO vouchers (id, program_id, city_id, institute_id, face_value_fen, balance_fen,
                          not_before, expires_at, issued_at, kid)
    SELECT id, p_program, v_p.city_id, institute_id, face, face, nbf, exp, v_now, p_kid
      FROM input ORDER BY n
    RETURNING id)
  SELECT array_agg(input.id ORDER BY input.n) INTO v_ids FROM input;

  UPDATE programs SET issued_fen = issued_fen + v_total::bigint WHERE id = p_program;
  INSERT INTO ledger_entries (kind, program_id, voucher_id, request_id)
  VALUES ('issue', p_program, CASE WHEN v_count = 1 THEN v_ids[1] END, p_actor->>'request_id')
  RETURNING id INTO v_entry;
  INSERT INTO ledger_postings (entry_id, account_kind, account_id, program_id, amount_fen)
  SELECT v_entry, 'program_budget', p_program, p_program, -v_total::bigint
  UNION ALL
  SELECT v_entry, 'voucher', v.id, p_program, v.face_value_fen
    FROM vouchers v WHERE v.id = ANY (v_ids);
  PERFORM audit_append(p_actor, 'voucher.issue', 'voucher', v.id,
                       jsonb_build_object('program_id', p_program, 'institute_id', v.institute_id,
                                          'face_value_fen', v.face_value_fen,
                                          'not_before', ts(v.not_before),
                                          'expires_at', ts(v.expires_at), 'kid', p_kid,
                                          'batch_size', v_count),
                       v_p.city_id)
     FROM vouchers v WHERE v.id = ANY (v_ids);
  RETURN jsonb_build_object('items', (SELECT jsonb_agg(voucher_json(v) ORDER BY u.n)
                                        FROM unnest(v_ids) WITH ORDINALITY u(id, n)
                                        JOIN vouchers v ON v.id = u.id));
END $$;
