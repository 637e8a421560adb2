-- GET /v1/webhooks/{id}/deliveries: the delivery log of one endpoint of the caller's
-- organisation, newest first, each delivery with its attempts. NULL (404) for a foreign or
-- unknown endpoint.
CREATE FUNCTION webhook_delivery_list(p_actor jsonb, p_endpoint uuid, p_before uuid,
                                      p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT page_json((SELECT jsonb_agg(jsonb_build_object(
             'id', d.id, 'event', d.event, 'notification_id', d.notification_id,
             'status', d.status, 'attempts', d.attempts,
             'next_attempt_at', CASE WHEN d.status = 'pending' THEN ts(d.next_attempt_at) END,
             'last_error', d.last_error, 'created_at', ts(d.created_at),
             'finished_at', ts(d.finished_at), 'body', d.body::jsonb,
             'log', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                              'attempt', a.attempt, 'at', ts(a.at), 'http_status', a.http_status,
                              'error', a.error, 'duration_ms', a.duration_ms) ORDER BY a.attempt), '[]')
                       FROM webhook_attempts a WHERE a.delivery_id = d.id))
           ORDER BY d.id DESC)
           FROM (SELECT * FROM webhook_deliveries
                  WHERE endpoint_id = p_endpoint AND (p_before IS NULL OR id < p_before)
                  ORDER BY id DESC LIMIT p_limit + 1) d), p_limit)
    FROM webhook_endpoints e
   WHERE e.id = p_endpoint AND e.org_id = (p_actor->>'org_id')::uuid
$$;
