-- City staff see their city's programmes (a national auditor and the operator: all), an
-- institute the active ones of its city (program_public_json: without balances).
CREATE FUNCTION program_visible(p_actor jsonb, p programs) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT CASE p_actor->>'role'
    WHEN 'operator' THEN true
    WHEN 'city_admin' THEN p.city_id = actor_city(p_actor)
    WHEN 'auditor' THEN actor_city(p_actor) IS NULL OR p.city_id = actor_city(p_actor)
    WHEN 'institute' THEN p.city_id = actor_city(p_actor) AND program_state(p) = 'active'
    ELSE false
  END
$$;
