-- GET /v1/webhooks: the active endpoints of the caller's organisation.
CREATE FUNCTION webhook_list(p_actor jsonb, p_after uuid, p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT page_json((SELECT jsonb_agg(webhook_json(x.e) ORDER BY (x.e).id) FROM (
           SELECT e FROM webhook_endpoints e
            WHERE e.org_id = (p_actor->>'org_id')::uuid AND e.status = 'active'
              AND (p_after IS NULL OR e.id > p_after)
            ORDER BY e.id LIMIT p_limit + 1) x), p_limit)
$$;
