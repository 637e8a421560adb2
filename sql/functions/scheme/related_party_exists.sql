-- Whether a provider and an institute are declared related parties.
--
-- PL/pgSQL, not SQL: it cannot be inlined (its query has a FROM or a sub-select), and a SQL
-- function that is not inlined is parsed, analysed and planned again in every statement that
-- calls it; PL/pgSQL prepares its query once per connection (README, Measurements).
CREATE FUNCTION related_party_exists(p_provider uuid, p_institute uuid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN EXISTS (SELECT 1 FROM related_parties r
                  WHERE r.provider_id = p_provider AND r.institute_id = p_institute);
END $$;
