-- POST /v1/applications by an institute: {program_id, requested_fen, purpose,
-- contract_reference, contract_value_fen?, provider_id?, attachments?: [{name, sha256}]}
-- (shapes checked by the server). A programme of another city, or not active, does not exist
-- for the institute; one live application per contract reference and programme.
CREATE FUNCTION application_create(p_actor jsonb, p_body jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_org uuid := (p_actor->>'org_id')::uuid;
  v_program uuid := (p_body->>'program_id')::uuid;
  v_provider uuid := (p_body->>'provider_id')::uuid;
  p programs;
  a applications;
BEGIN
  IF p_actor->>'role' <> 'institute' THEN
    PERFORM problem('forbidden', 'only institutes apply for vouchers');
  END IF;
  SELECT * INTO p FROM programs WHERE id = v_program;
  IF NOT FOUND OR p.city_id IS DISTINCT FROM actor_city(p_actor) THEN
    PERFORM problem_at('not-found', 'program_id', format('no programme %s in your city', v_program));
  END IF;
  IF v_provider IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM organizations WHERE id = v_provider AND type = 'provider') THEN
    PERFORM problem_at('not-found', 'provider_id', format('no provider %s', v_provider));
  END IF;
  PERFORM application_eligible(p, v_org, v_provider, (p_body->>'contract_value_fen')::bigint,
                               (p_body->>'requested_fen')::bigint, NULL, 'requested_fen');
  PERFORM 1 FROM applications x
   WHERE x.program_id = p.id AND x.contract_reference = p_body->>'contract_reference'
     AND x.status IN ('submitted', 'waitlisted', 'approved');
  IF FOUND THEN
    PERFORM problem_at('duplicate', 'contract_reference',
                       format('programme %s has an application for contract %s already', p.id,
                           p_body->>'contract_reference'));
  END IF;
  INSERT INTO applications (program_id, city_id, institute_id, provider_id, requested_fen,
                            contract_value_fen, purpose, contract_reference, attachments,
                            created_by)
  VALUES (p.id, p.city_id, v_org, v_provider, (p_body->>'requested_fen')::bigint,
          (p_body->>'contract_value_fen')::bigint, p_body->>'purpose',
          p_body->>'contract_reference', coalesce(p_body->'attachments', '[]'),
          (p_actor->>'user_id')::uuid)
  RETURNING * INTO a;
  PERFORM audit_append(p_actor, 'application.submit', 'application', a.id,
                       jsonb_build_object('program_id', a.program_id, 'institute_id', a.institute_id,
                                          'requested_fen', a.requested_fen,
                                          'contract_reference', a.contract_reference,
                                          'attachments', a.attachments),
                       a.city_id);
  RETURN application_json(a);
END $$;
