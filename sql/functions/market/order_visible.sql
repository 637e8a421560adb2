-- Whether the actor may see order o: the institute that made it, the provider of its offer,
-- the operator, and the city staff of the institute's city.
CREATE FUNCTION order_visible(p_actor jsonb, o orders) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT CASE p_actor->>'role'
    WHEN 'operator' THEN true
    WHEN 'institute' THEN o.institute_id = (p_actor->>'org_id')::uuid
    WHEN 'provider' THEN EXISTS (SELECT 1 FROM offers f WHERE f.id = o.offer_id
                                    AND f.provider_id = (p_actor->>'org_id')::uuid)
    WHEN 'city_admin' THEN EXISTS (SELECT 1 FROM organizations i WHERE i.id = o.institute_id
                                      AND i.city_id = actor_city(p_actor))
    WHEN 'auditor' THEN actor_city(p_actor) IS NULL
                     OR EXISTS (SELECT 1 FROM organizations i WHERE i.id = o.institute_id
                                   AND i.city_id = actor_city(p_actor))
    ELSE false
  END
$$;
