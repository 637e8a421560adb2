-- The eligibility rules of an application for p_amount fen, checked at submission and again at
-- approval: the programme is active, the provider named (if any) may be paid by it and is no
-- related party of the institute, the amount fits the contract cap and the institute's
-- lifetime and yearly caps, counting what its approved applications already hold (p_self, the
-- application being approved, excluded). Each refusal is its rule's problem; p_field names the
-- amount field.
CREATE FUNCTION application_eligible(p programs, p_institute uuid, p_provider uuid,
                                     p_contract_value bigint, p_amount bigint, p_self uuid,
                                     p_field text)
RETURNS void LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_held bigint;
  v_year_held bigint;
BEGIN
  IF program_state(p) <> 'active' THEN
    PERFORM problem('program-not-active',
                    format('programme %s is %s; it takes no applications', p.id, program_state(p)));
  END IF;
  IF p_provider IS NOT NULL AND NOT program_provider_admitted(p, p_provider) THEN
    PERFORM problem_at('provider-not-accredited', 'provider_id',
                       format('programme %s does not accredit provider %s', p.id, p_provider));
  END IF;
  IF p_provider IS NOT NULL AND related_party_exists(p_provider, p_institute) THEN
    PERFORM problem_at('related-parties', 'provider_id',
                       format('provider %s and institute %s are related parties', p_provider, p_institute));
  END IF;
  IF p.per_contract_cap_bp IS NOT NULL THEN
    IF p_contract_value IS NULL THEN
      PERFORM problem_at('validation-failed', 'contract_value_fen',
                         format('required: programme %s subsidises at most %s bp of a contract', p.id, p.per_contract_cap_bp));
    END IF;
    IF p_amount > floor(p_contract_value::numeric * p.per_contract_cap_bp / 10000) THEN
      PERFORM problem_at('contract-cap-exceeded', p_field,
                         format('programme %s subsidises at most %s bp of a contract: %s fen of %s fen, %s requested',
                             p.id, p.per_contract_cap_bp,
                             floor(p_contract_value::numeric * p.per_contract_cap_bp / 10000)::bigint,
                             p_contract_value, p_amount));
    END IF;
  END IF;
  SELECT coalesce(sum(a.approved_fen), 0),
         coalesce(sum(a.approved_fen) FILTER (WHERE date_trunc('year', a.decided_at AT TIME ZONE 'UTC')
                                                    = date_trunc('year', now() AT TIME ZONE 'UTC')), 0)
    INTO v_held, v_year_held
    FROM applications a
   WHERE a.program_id = p.id AND a.institute_id = p_institute AND a.status = 'approved'
     AND a.id IS DISTINCT FROM p_self;
  IF p.per_institute_cap_fen IS NOT NULL AND v_held + p_amount > p.per_institute_cap_fen THEN
    PERFORM problem_at('institute-cap-exceeded', p_field,
                       format('programme %s caps each institute at %s fen; approved applications hold %s fen, %s requested',
                           p.id, p.per_institute_cap_fen, v_held, p_amount));
  END IF;
  IF p.per_institute_year_cap_fen IS NOT NULL AND v_year_held + p_amount > p.per_institute_year_cap_fen THEN
    PERFORM problem_at('institute-year-cap-exceeded', p_field,
                       format('programme %s caps each institute at %s fen a calendar year; approved applications hold %s fen this year, %s requested',
                           p.id, p.per_institute_year_cap_fen, v_year_held, p_amount));
  END IF;
END $$;
