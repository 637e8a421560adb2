-- The programme fields that PATCH may set to null to remove the rule.
CREATE FUNCTION program_nullable_rules() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY['per_institute_cap_fen', 'per_institute_year_cap_fen', 'per_contract_cap_bp',
               'domestic_subsidy_bp', 'west_subsidy_bp']
$$;
