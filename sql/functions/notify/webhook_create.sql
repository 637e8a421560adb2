-- POST /v1/webhooks: a provider or a city registers an endpoint for some event kinds (the
-- server checked url and events, and made the secret). At most 10 active endpoints an
-- organisation. Answers the endpoint with its secret, the one time it is shown.
CREATE FUNCTION webhook_create(p_actor jsonb, p_url text, p_events text[], p_secret text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v webhook_endpoints;
BEGIN
  IF p_actor->>'role' NOT IN ('provider', 'city_admin') THEN
    PERFORM problem('forbidden', 'only providers and city administrators register webhooks');
  END IF;
  PERFORM 1 FROM organizations WHERE id = (p_actor->>'org_id')::uuid FOR UPDATE;
  IF (SELECT count(*) FROM webhook_endpoints
       WHERE org_id = (p_actor->>'org_id')::uuid AND status = 'active') >= 10 THEN
    PERFORM problem('webhook-limit', 'an organization has at most 10 active webhook endpoints');
  END IF;
  INSERT INTO webhook_endpoints (org_id, url, events, secret, created_by)
  VALUES ((p_actor->>'org_id')::uuid, p_url, p_events, p_secret, (p_actor->>'user_id')::uuid)
  RETURNING * INTO v;
  PERFORM audit_append(p_actor, 'webhook.create', 'webhook', v.id,
                       jsonb_build_object('url', p_url, 'events', to_jsonb(p_events)));
  RETURN webhook_json(v) || jsonb_build_object('secret', p_secret);
END $$;
