-- A programme as the API shows it. Display-time rule (voucher_release_due): the balances of its
-- vouchers past their expiry and not yet released count as released already, as they will
-- once the maintenance runner releases them.
CREATE FUNCTION program_json(p programs) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', p.id, 'city_id', p.city_id, 'name', p.name, 'budget_fen', p.budget_fen,
    'starts_at', ts(p.starts_at), 'ends_at', ts(p.ends_at), 'max_subsidy_bp', p.max_subsidy_bp,
    'resource_classes', to_jsonb(p.resource_classes), 'regions', to_jsonb(p.regions),
    'min_green_share', p.min_green_share, 'per_institute_cap_fen', p.per_institute_cap_fen,
    'per_institute_year_cap_fen', p.per_institute_year_cap_fen,
    'per_contract_cap_bp', p.per_contract_cap_bp, 'domestic_subsidy_bp', p.domestic_subsidy_bp,
    'west_subsidy_bp', p.west_subsidy_bp, 'open_to_all_providers', p.open_to_all_providers,
    'funders', p.funders,
    'status', program_state(p), 'version', p.version,
    'issued_fen', p.issued_fen, 'redeemed_fen', r.redeemed, 'released_fen', p.released_fen + r.due,
    'outstanding_fen', p.issued_fen - p.released_fen - r.due - r.redeemed,
    'available_fen', p.budget_fen - p.issued_fen + p.released_fen + r.due,
    'created_at', ts(p.created_at), 'updated_at', ts(p.updated_at))
    FROM (SELECT program_redeemed(p.id) AS redeemed,
                 (SELECT coalesce(sum(v.balance_fen), 0) FROM vouchers v
                   WHERE v.program_id = p.id AND v.status IN ('active', 'exhausted')
                     AND v.expires_at <= now()) AS due) r
$$;
