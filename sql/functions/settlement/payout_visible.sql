-- Who sees a payout: the operator; the administrators and auditors of its city (a national
-- auditor: all); the payee (provider or institute) it pays.
CREATE FUNCTION payout_visible(p_actor jsonb, p payouts) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT CASE p_actor->>'role'
    WHEN 'operator' THEN true
    WHEN 'city_admin' THEN p.city_id = actor_city(p_actor)
    WHEN 'auditor' THEN actor_city(p_actor) IS NULL OR p.city_id = actor_city(p_actor)
    WHEN 'provider' THEN p.payee_kind = 'provider' AND p.payee_id = (p_actor->>'org_id')::uuid
    WHEN 'institute' THEN p.payee_kind = 'institute' AND p.payee_id = (p_actor->>'org_id')::uuid
    ELSE false
  END
$$;
