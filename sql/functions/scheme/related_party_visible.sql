-- Who sees a related-party declaration: the operator, the city's administrators and auditors
-- (a national auditor: all), and the two parties themselves.
CREATE FUNCTION related_party_visible(p_actor jsonb, x related_parties) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE p_actor->>'role'
    WHEN 'operator' THEN true
    WHEN 'city_admin' THEN x.city_id = actor_city(p_actor)
    WHEN 'auditor' THEN actor_city(p_actor) IS NULL OR x.city_id = actor_city(p_actor)
    WHEN 'institute' THEN x.institute_id = (p_actor->>'org_id')::uuid
    WHEN 'provider' THEN x.provider_id = (p_actor->>'org_id')::uuid
    ELSE false
  END
$$;
