-- Whether a programme's vouchers may pay a provider: it is accredited, or the programme is open
-- to all providers and has not suspended this one.
CREATE FUNCTION program_provider_admitted(p programs, p_provider uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p.open_to_all_providers
              THEN NOT EXISTS (SELECT 1 FROM program_providers x WHERE x.program_id = p.id
                                  AND x.provider_id = p_provider AND x.status = 'suspended')
              ELSE EXISTS (SELECT 1 FROM program_providers x WHERE x.program_id = p.id
                              AND x.provider_id = p_provider AND x.status = 'accredited') END
$$;
