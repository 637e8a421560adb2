-- Whether the actor may see offer o: active offers are the public catalogue; paused and
-- withdrawn ones only their provider and the operator see.
CREATE FUNCTION offer_visible(p_actor jsonb, o offers) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT o.status = 'active' OR p_actor->>'role' = 'operator'
      OR o.provider_id = (p_actor->>'org_id')::uuid
$$;
