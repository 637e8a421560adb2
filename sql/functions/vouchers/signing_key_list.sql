-- GET /v1/keys: every key, with not_after for a retired key = when the last voucher it signed
-- expires (after that it verifies only old audit checkpoints).
CREATE FUNCTION signing_key_list() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'items', coalesce(jsonb_agg(jsonb_build_object(
               'kid', k.kid, 'paserk', k.paserk, 'status', k.status,
               'created_at', ts(k.created_at), 'retired_at', ts(k.retired_at),
               'not_after', CASE WHEN k.status = 'retired'
                                 THEN ts((SELECT max(v.expires_at) FROM vouchers v WHERE v.kid = k.kid)) END)
             ORDER BY k.created_at DESC, k.kid), '[]'),
    'next_cursor', NULL)
    FROM signing_keys k
$$;
