CREATE FUNCTION api_key_json(k api_keys) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', k.id, 'name', k.name, 'prefix', k.prefix,
                            'created_at', ts(k.created_at), 'revoked_at', ts(k.revoked_at))
$$;
