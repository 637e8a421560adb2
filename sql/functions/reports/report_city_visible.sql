-- Whether a city's data is in the actor's scope (for flags about institutes).
CREATE FUNCTION report_city_visible(p_actor jsonb, p_city uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE p_actor->>'role'
    WHEN 'operator' THEN true
    WHEN 'city_admin' THEN p_city = actor_city(p_actor)
    WHEN 'auditor' THEN actor_city(p_actor) IS NULL OR p_city = actor_city(p_actor)
    ELSE false
  END
$$;
