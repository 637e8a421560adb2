CREATE FUNCTION program_json(p programs) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', p.id, 'city_id', p.city_id, 'name', p.name, 'budget_fen', p.budget_fen,
    'starts_at', ts(p.starts_at), 'ends_at', ts(p.ends_at), 'max_subsidy_bp', p.max_subsidy_bp,
    'resource_classes', to_jsonb(p.resource_classes), 'regions', to_jsonb(p.regions),
    'min_green_share', p.min_green_share, 'per_institute_cap_fen', p.per_institute_cap_fen,
    'status', program_state(p), 'version', p.version,
    'issued_fen', p.issued_fen, 'redeemed_fen', r.redeemed, 'released_fen', p.released_fen,
    'outstanding_fen', p.issued_fen - p.released_fen - r.redeemed,
    'available_fen', p.budget_fen - p.issued_fen + p.released_fen,
    'created_at', ts(p.created_at), 'updated_at', ts(p.updated_at))
    FROM (SELECT program_redeemed(p.id) AS redeemed) r
$$;
