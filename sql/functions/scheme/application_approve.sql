-- POST /v1/applications/{id}/approve {amount_fen?, note?}: approves for amount_fen (default:
-- the amount requested; never more) and issues the voucher (signed with p_kid, valid until the
-- programme ends) in the same transaction. The eligibility rules are checked again; when the
-- programme's available budget cannot cover the amount, the application is waitlisted instead
-- (and may be approved later). The programme row lock, taken after the application's,
-- decides concurrent approvals one at a time, so that the budget is never overdrawn.
CREATE FUNCTION application_approve(p_actor jsonb, p_id uuid, p_kid text, p_amount bigint,
                                    p_note text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  a applications;
  p programs;
  v_amount bigint;
  v_available bigint;
  v_issued jsonb;
  v_voucher uuid;
BEGIN
  a := application_lock(p_actor, p_id, true);
  v_amount := coalesce(p_amount, a.requested_fen);
  IF v_amount > a.requested_fen THEN
    PERFORM problem_at('validation-failed', 'amount_fen',
                       format('must not exceed the %s fen requested', a.requested_fen));
  END IF;
  SELECT * INTO p FROM programs WHERE id = a.program_id FOR UPDATE;
  PERFORM application_eligible(p, a.institute_id, a.provider_id, a.contract_value_fen, v_amount,
                               a.id, 'amount_fen');
  v_available := p.budget_fen - p.issued_fen + p.released_fen;
  IF v_amount > v_available THEN
    UPDATE applications SET status = 'waitlisted', decision_note = p_note,
                            decided_by = (p_actor->>'user_id')::uuid, decided_at = now(),
                            updated_at = now()
     WHERE id = p_id RETURNING * INTO a;
    PERFORM audit_append(p_actor, 'application.waitlist', 'application', a.id,
                         jsonb_build_object('program_id', a.program_id, 'institute_id', a.institute_id,
                                            'amount_fen', v_amount, 'available_fen', v_available,
                                            'note', p_note),
                         a.city_id);
    RETURN application_json(a);
  END IF;
  v_issued := voucher_issue(p_actor, p.id, p_kid,
                            jsonb_build_array(jsonb_build_object(
                              'institute_id', a.institute_id, 'face_value_fen', v_amount,
                              'expires_at', ts(p.ends_at))));
  v_voucher := (v_issued->'items'->0->>'id')::uuid;
  UPDATE vouchers SET application_id = a.id WHERE id = v_voucher;
  UPDATE applications SET status = 'approved', approved_fen = v_amount, voucher_id = v_voucher,
                          decision_note = p_note, decided_by = (p_actor->>'user_id')::uuid,
                          decided_at = now(), updated_at = now()
   WHERE id = p_id RETURNING * INTO a;
  PERFORM audit_append(p_actor, 'application.approve', 'application', a.id,
                       jsonb_build_object('program_id', a.program_id, 'institute_id', a.institute_id,
                                          'requested_fen', a.requested_fen, 'approved_fen', v_amount,
                                          'voucher_id', v_voucher, 'note', p_note),
                       a.city_id);
  RETURN application_json(a);
END $$;
