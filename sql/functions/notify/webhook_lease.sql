-- The delivery worker (server/webhook.c) takes up to p_limit due deliveries for p_lease_ms:
-- no other worker, in this process or another, takes them meanwhile (SKIP LOCKED, then the
-- lease). A worker that dies holding a lease loses it when it runs out; the delivery is due
-- again, so delivery is at least once. Answers [{id, attempt, url, secret, body}].
CREATE FUNCTION webhook_lease(p_limit integer, p_lease_ms integer) RETURNS jsonb
LANGUAGE sql AS $$
  WITH due AS (
    SELECT d.id FROM webhook_deliveries d
     WHERE d.status = 'pending' AND d.next_attempt_at <= now()
       AND (d.lease_until IS NULL OR d.lease_until <= now())
     ORDER BY d.next_attempt_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED),
  leased AS (
    UPDATE webhook_deliveries d
       SET lease_until = now() + make_interval(secs => p_lease_ms / 1000.0),
           attempts = d.attempts + 1
      FROM due WHERE d.id = due.id
    RETURNING d.id, d.attempts, d.endpoint_id, d.body)
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', l.id, 'attempt', l.attempts, 'url', e.url,
                                               'secret', e.secret, 'body', l.body)), '[]')
    FROM leased l JOIN webhook_endpoints e ON e.id = l.endpoint_id
$$;
