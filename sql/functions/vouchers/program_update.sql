-- PATCH /v1/programs/{id} with If-Match. A field absent from p_patch is unchanged;
-- per_institute_cap_fen, per_institute_year_cap_fen, per_contract_cap_bp, domestic_subsidy_bp and
-- west_subsidy_bp: null removes the rule (program_nullable_rules). The budget can never drop below what is issued
-- and not released (I2); a change of budget is a ledger entry.
CREATE FUNCTION program_update(p_actor jsonb, p_id uuid, p_version integer, p_patch jsonb)
RETURNS TABLE (program jsonb, version integer) LANGUAGE plpgsql AS $$
DECLARE
  v_old programs;
  v_new programs;
  v_lists record;
  v_budget bigint;
BEGIN
  SELECT * INTO v_old FROM programs WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR NOT program_visible(p_actor, v_old)
     OR p_actor->>'role' NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('not-found', 'no programme ' || p_id);
  END IF;
  IF p_version IS NOT NULL AND p_version <> v_old.version THEN
    PERFORM problem('precondition-failed',
                    format('the programme is at version %s, not %s; read it again', v_old.version, p_version));
  END IF;
  IF NOT EXISTS (SELECT 1 FROM jsonb_each(p_patch)
                  WHERE value <> 'null' OR key = ANY (program_nullable_rules())) THEN
    RETURN QUERY SELECT program_json(v_old), v_old.version;
    RETURN;
  END IF;
  -- checked before the UPDATE, whose programs_window constraint would refuse it first
  IF coalesce((p_patch->>'ends_at')::timestamptz, v_old.ends_at)
       <= coalesce((p_patch->>'starts_at')::timestamptz, v_old.starts_at) THEN
    PERFORM problem_at('validation-failed', 'ends_at', 'must be after starts_at');
  END IF;
  v_budget := coalesce((p_patch->>'budget_fen')::bigint, v_old.budget_fen);
  IF v_budget < v_old.issued_fen - v_old.released_fen THEN
    PERFORM problem_at('budget-below-committed', 'budget_fen',
                       format('%s fen are issued and not released; the budget cannot be lower',
                           v_old.issued_fen - v_old.released_fen));
  END IF;
  SELECT * INTO v_lists FROM program_rule_lists(jsonb_build_object(
    'resource_classes', coalesce(nullif(p_patch->'resource_classes', 'null'), to_jsonb(v_old.resource_classes)),
    'regions', coalesce(nullif(p_patch->'regions', 'null'), to_jsonb(v_old.regions))));
  UPDATE programs p SET
    name = coalesce(p_patch->>'name', p.name),
    budget_fen = v_budget,
    starts_at = coalesce((p_patch->>'starts_at')::timestamptz, p.starts_at),
    ends_at = coalesce((p_patch->>'ends_at')::timestamptz, p.ends_at),
    max_subsidy_bp = coalesce((p_patch->>'max_subsidy_bp')::integer, p.max_subsidy_bp),
    resource_classes = v_lists.classes,
    regions = v_lists.regions,
    min_green_share = coalesce((p_patch->>'min_green_share')::numeric, p.min_green_share),
    per_institute_cap_fen = CASE WHEN p_patch ? 'per_institute_cap_fen'
                                 THEN (p_patch->>'per_institute_cap_fen')::bigint
                                 ELSE p.per_institute_cap_fen END,
    per_institute_year_cap_fen = CASE WHEN p_patch ? 'per_institute_year_cap_fen'
                                      THEN (p_patch->>'per_institute_year_cap_fen')::bigint
                                      ELSE p.per_institute_year_cap_fen END,
    per_contract_cap_bp = CASE WHEN p_patch ? 'per_contract_cap_bp'
                               THEN (p_patch->>'per_contract_cap_bp')::integer
                               ELSE p.per_contract_cap_bp END,
    domestic_subsidy_bp = CASE WHEN p_patch ? 'domestic_subsidy_bp'
                               THEN (p_patch->>'domestic_subsidy_bp')::integer
                               ELSE p.domestic_subsidy_bp END,
    west_subsidy_bp = CASE WHEN p_patch ? 'west_subsidy_bp'
                           THEN (p_patch->>'west_subsidy_bp')::integer ELSE p.west_subsidy_bp END,
    open_to_all_providers = coalesce((p_patch->>'open_to_all_providers')::boolean,
                                     p.open_to_all_providers),
    funders = CASE WHEN p_patch ? 'funders' THEN program_funders_check(p_patch->'funders')
                   ELSE p.funders END,
    usage_dispute_days = coalesce((p_patch->>'usage_dispute_days')::integer, p.usage_dispute_days),
    settle_after_buyer_pays = coalesce((p_patch->>'settle_after_buyer_pays')::boolean,
                                       p.settle_after_buyer_pays),
    payee = coalesce(p_patch->>'payee', p.payee),
    status = coalesce(p_patch->>'status', p.status),
    version = p.version + 1,
    updated_at = now()
   WHERE p.id = p_id RETURNING * INTO v_new;
  IF v_new.ends_at <= v_new.starts_at THEN
    PERFORM problem_at('validation-failed', 'ends_at', 'must be after starts_at');
  END IF;
  IF v_new.budget_fen <> v_old.budget_fen THEN
    PERFORM ledger_move(p_actor, 'fund', p_id, NULL, NULL, NULL, 'program_committed', p_id,
                        'program_budget', p_id, v_new.budget_fen - v_old.budget_fen);
  END IF;
  PERFORM audit_append(p_actor, 'program.update', 'program', p_id,
                       jsonb_build_object('program_id', p_id, 'from_version', v_old.version,
                                          'changes', p_patch), v_new.city_id);
  RETURN QUERY SELECT program_json(v_new), v_new.version;
END $$;
