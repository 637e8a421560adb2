-- A programme as an institute sees it (GET /v1/programs for institutes): its window and rules,
-- and no balances, which sum up other institutes' vouchers.
CREATE FUNCTION program_public_json(p programs) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', p.id, 'city_id', p.city_id, 'name', p.name, 'budget_fen', p.budget_fen,
    'starts_at', ts(p.starts_at), 'ends_at', ts(p.ends_at), 'max_subsidy_bp', p.max_subsidy_bp,
    'resource_classes', to_jsonb(p.resource_classes), 'regions', to_jsonb(p.regions),
    'min_green_share', p.min_green_share, 'per_institute_cap_fen', p.per_institute_cap_fen,
    'per_institute_year_cap_fen', p.per_institute_year_cap_fen,
    'per_contract_cap_bp', p.per_contract_cap_bp, 'domestic_subsidy_bp', p.domestic_subsidy_bp,
    'west_subsidy_bp', p.west_subsidy_bp, 'open_to_all_providers', p.open_to_all_providers,
    'funders', p.funders, 'usage_dispute_days', p.usage_dispute_days,
    'settle_after_buyer_pays', p.settle_after_buyer_pays, 'payee', p.payee,
    'status', program_state(p), 'version', p.version)
$$;
