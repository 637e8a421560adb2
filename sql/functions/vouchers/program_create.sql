-- POST /v1/programs. p_body was checked by the server (types, ranges, known fields). A city
-- administrator creates in its own city; the operator names the city.
CREATE FUNCTION program_create(p_actor jsonb, p_body jsonb)
RETURNS TABLE (program jsonb, version integer) LANGUAGE plpgsql AS $$
DECLARE
  v_role text := p_actor->>'role';
  v_city uuid := coalesce((p_body->>'city_id')::uuid, actor_city(p_actor));
  v_lists record;
  v_starts timestamptz := coalesce((p_body->>'starts_at')::timestamptz, now());
  v_ends timestamptz := (p_body->>'ends_at')::timestamptz;
  v_p programs;
BEGIN
  IF v_role NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('forbidden', 'only city administrators and the operator create programmes');
  END IF;
  IF v_role = 'city_admin' AND v_city IS DISTINCT FROM actor_city(p_actor) THEN
    PERFORM problem('not-found', 'no city ' || v_city);
  END IF;
  IF v_city IS NULL THEN
    PERFORM problem_at('validation-failed', 'city_id', 'required when the operator creates a programme');
  END IF;
  PERFORM 1 FROM organizations WHERE id = v_city AND type = 'city';
  IF NOT FOUND THEN
    PERFORM problem('not-found', 'no city ' || v_city);
  END IF;
  IF v_ends <= v_starts THEN
    PERFORM problem_at('validation-failed', 'ends_at', 'must be after starts_at');
  END IF;
  IF v_ends <= now() THEN
    PERFORM problem_at('validation-failed', 'ends_at', 'must be in the future');
  END IF;
  SELECT * INTO v_lists FROM program_rule_lists(p_body);
  INSERT INTO programs (city_id, name, budget_fen, starts_at, ends_at, max_subsidy_bp,
                        resource_classes, regions, min_green_share, per_institute_cap_fen,
                        open_to_all_providers, per_institute_year_cap_fen, per_contract_cap_bp,
                        domestic_subsidy_bp, west_subsidy_bp, funders, usage_dispute_days,
                        settle_after_buyer_pays, payee)
  VALUES (v_city, p_body->>'name', (p_body->>'budget_fen')::bigint, v_starts, v_ends,
          (p_body->>'max_subsidy_bp')::integer, v_lists.classes, v_lists.regions,
          coalesce((p_body->>'min_green_share')::numeric, 0),
          (p_body->>'per_institute_cap_fen')::bigint,
          coalesce((p_body->>'open_to_all_providers')::boolean, true),
          (p_body->>'per_institute_year_cap_fen')::bigint,
          (p_body->>'per_contract_cap_bp')::integer, (p_body->>'domestic_subsidy_bp')::integer,
          (p_body->>'west_subsidy_bp')::integer, program_funders_check(p_body->'funders'),
          coalesce((p_body->>'usage_dispute_days')::integer, 7),
          coalesce((p_body->>'settle_after_buyer_pays')::boolean, false),
          coalesce(p_body->>'payee', 'provider'))
  RETURNING * INTO v_p;
  IF v_p.budget_fen > 0 THEN
    PERFORM ledger_move(p_actor, 'fund', v_p.id, NULL, NULL, NULL, 'program_committed', v_p.id,
                        'program_budget', v_p.id, v_p.budget_fen);
  END IF;
  PERFORM audit_append(p_actor, 'program.create', 'program', v_p.id,
                       program_json(v_p) || jsonb_build_object('program_id', v_p.id), v_p.city_id);
  RETURN QUERY SELECT program_json(v_p), v_p.version;
END $$;
