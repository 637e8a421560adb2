-- Institutes see their own vouchers; city staff their city's.
CREATE FUNCTION voucher_visible(p_actor jsonb, v vouchers) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT CASE p_actor->>'role'
    WHEN 'operator' THEN true
    WHEN 'city_admin' THEN v.city_id = actor_city(p_actor)
    WHEN 'auditor' THEN actor_city(p_actor) IS NULL OR v.city_id = actor_city(p_actor)
    WHEN 'institute' THEN v.institute_id = (p_actor->>'org_id')::uuid
    ELSE false
  END
$$;
