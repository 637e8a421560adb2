-- Whether a provider and an institute are declared related parties.
CREATE FUNCTION related_party_exists(p_provider uuid, p_institute uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM related_parties r
                  WHERE r.provider_id = p_provider AND r.institute_id = p_institute)
$$;
