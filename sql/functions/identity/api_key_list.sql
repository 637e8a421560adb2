CREATE FUNCTION api_key_list(p_actor jsonb, p_after uuid, p_limit int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  WITH page AS (
    SELECT k FROM api_keys k
     WHERE k.user_id = (p_actor->>'user_id')::uuid AND (p_after IS NULL OR k.id > p_after)
     ORDER BY k.id LIMIT p_limit + 1)
  SELECT jsonb_build_object(
    'items', coalesce((SELECT jsonb_agg(api_key_json(x.k) ORDER BY (x.k).id)
                         FROM (SELECT k FROM page ORDER BY (k).id LIMIT p_limit) x), '[]'),
    'next_cursor', CASE WHEN (SELECT count(*) FROM page) > p_limit
                        THEN (SELECT (k).id::text FROM page ORDER BY (k).id LIMIT 1 OFFSET p_limit - 1) END)
$$;
