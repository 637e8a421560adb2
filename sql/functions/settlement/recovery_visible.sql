-- Who sees a recovery: the operator; the administrators and auditors of its city (a national
-- auditor: all); the debtor it names.
CREATE FUNCTION recovery_visible(p_actor jsonb, r recoveries) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE p_actor->>'role'
    WHEN 'operator' THEN true
    WHEN 'city_admin' THEN r.city_id = actor_city(p_actor)
    WHEN 'auditor' THEN actor_city(p_actor) IS NULL OR r.city_id = actor_city(p_actor)
    WHEN 'provider' THEN r.debtor_kind = 'provider' AND r.debtor_id = (p_actor->>'org_id')::uuid
    WHEN 'institute' THEN r.debtor_kind = 'institute' AND r.debtor_id = (p_actor->>'org_id')::uuid
    ELSE false
  END
$$;
