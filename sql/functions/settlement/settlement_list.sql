-- GET /v1/settlements?provider_id&from&to: the settlement statement — each order whose usage
-- was accepted in [p_from, p_to) on offers of the provider (a provider: itself; city staff: the
-- orders of their city's institutes, of one provider or all), in id order (keyset
-- pagination), with per programme what was settled, paid, recovered and is still receivable,
-- and where its payout stands: not_due, due, proposed, approved, paid (or none: no subsidy).
-- A provider_id the actor may not see answers NULL (404).
CREATE FUNCTION settlement_list(p_actor jsonb, p_provider uuid, p_from timestamptz,
                                p_to timestamptz, p_after uuid, p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_provider uuid := p_provider;
BEGIN
  IF p_actor->>'role' = 'provider' THEN
    IF v_provider IS NOT NULL AND v_provider <> (p_actor->>'org_id')::uuid THEN
      RETURN NULL;
    END IF;
    v_provider := (p_actor->>'org_id')::uuid;
  ELSIF p_actor->>'role' NOT IN ('operator', 'city_admin', 'auditor') THEN
    RETURN NULL;
  ELSIF v_provider IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM organizations g WHERE g.id = v_provider AND g.type = 'provider'
                           AND (actor_city(p_actor) IS NULL OR g.city_id = actor_city(p_actor))) THEN
    RETURN NULL;
  END IF;
  RETURN (
    SELECT page_json(jsonb_agg(settlement_json(x.o) ORDER BY (x.o).id), p_limit) FROM (
      SELECT o FROM orders o JOIN offers f ON f.id = o.offer_id
       WHERE o.usage_accepted_at IS NOT NULL
         AND (p_from IS NULL OR o.usage_accepted_at >= p_from)
         AND (p_to IS NULL OR o.usage_accepted_at < p_to)
         AND (v_provider IS NULL OR f.provider_id = v_provider)
         AND order_visible(p_actor, o)
         AND (p_after IS NULL OR o.id > p_after)
       ORDER BY o.id LIMIT p_limit + 1) x);
END $$;
