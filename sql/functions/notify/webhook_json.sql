-- A webhook endpoint as the API shows it: never its secret (shown once, by webhook_create).
CREATE FUNCTION webhook_json(e webhook_endpoints) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', e.id, 'url', e.url, 'events', to_jsonb(e.events),
                            'status', e.status, 'created_at', ts(e.created_at))
$$;
