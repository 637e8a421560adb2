-- Whether the actor may see organisation o (a foreign one answers 404).
CREATE FUNCTION org_visible(p_actor jsonb, o organizations) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN p_actor->>'role' = 'operator' THEN true
    WHEN p_actor->>'role' IN ('city_admin', 'auditor') THEN actor_city(p_actor) IS NULL OR o.city_id = actor_city(p_actor)
    ELSE o.id = (p_actor->>'org_id')::uuid OR o.id = actor_city(p_actor)
  END
$$;
