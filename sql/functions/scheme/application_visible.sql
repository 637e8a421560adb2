-- Who sees an application: the operator; the administrators and auditors of its city (a
-- national auditor: all); the institute that made it.
CREATE FUNCTION application_visible(p_actor jsonb, a applications) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE p_actor->>'role'
    WHEN 'operator' THEN true
    WHEN 'city_admin' THEN a.city_id = actor_city(p_actor)
    WHEN 'auditor' THEN actor_city(p_actor) IS NULL OR a.city_id = actor_city(p_actor)
    WHEN 'institute' THEN a.institute_id = (p_actor->>'org_id')::uuid
    ELSE false
  END
$$;
