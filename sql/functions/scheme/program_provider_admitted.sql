-- Whether a programme's vouchers may pay a provider: it is accredited, or the programme is open
-- to all providers and has not suspended this one.
--
-- PL/pgSQL, not SQL: it cannot be inlined (its query has a FROM or a sub-select), and a SQL
-- function that is not inlined is parsed, analysed and planned again in every statement that
-- calls it; PL/pgSQL prepares its query once per connection (README, Measurements).
CREATE FUNCTION program_provider_admitted(p programs, p_provider uuid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN CASE WHEN p.open_to_all_providers
              THEN NOT EXISTS (SELECT 1 FROM program_providers x WHERE x.program_id = p.id
                                  AND x.provider_id = p_provider AND x.status = 'suspended')
              ELSE EXISTS (SELECT 1 FROM program_providers x WHERE x.program_id = p.id
                              AND x.provider_id = p_provider AND x.status = 'accredited') END;
END $$;
