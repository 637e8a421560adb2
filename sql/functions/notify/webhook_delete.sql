-- DELETE /v1/webhooks/{id}: the endpoint stops receiving; deliveries still pending for it fail
-- with that reason. A foreign, unknown or deleted endpoint answers NULL (404).
CREATE FUNCTION webhook_delete(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v webhook_endpoints;
BEGIN
  UPDATE webhook_endpoints SET status = 'deleted', deleted_at = now()
   WHERE id = p_id AND org_id = (p_actor->>'org_id')::uuid AND status = 'active'
  RETURNING * INTO v;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  UPDATE webhook_deliveries SET status = 'failed', last_error = 'endpoint deleted',
                                finished_at = now()
   WHERE endpoint_id = p_id AND status = 'pending';
  PERFORM audit_append(p_actor, 'webhook.delete', 'webhook', p_id, jsonb_build_object('url', v.url));
  RETURN webhook_json(v);
END $$;
