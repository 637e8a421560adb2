CREATE FUNCTION org_list(p_actor jsonb, p_type text, p_after uuid, p_limit int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  WITH page AS (
    SELECT o FROM organizations o
     WHERE org_visible(p_actor, o)
       AND (p_type IS NULL OR o.type = p_type)
       AND (p_after IS NULL OR o.id > p_after)
     ORDER BY o.id LIMIT p_limit + 1)
  SELECT jsonb_build_object(
    'items', coalesce((SELECT jsonb_agg(org_json(x.o) ORDER BY (x.o).id)
                         FROM (SELECT o FROM page ORDER BY (o).id LIMIT p_limit) x), '[]'),
    'next_cursor', CASE WHEN (SELECT count(*) FROM page) > p_limit
                        THEN (SELECT (o).id::text FROM page ORDER BY (o).id LIMIT 1 OFFSET p_limit - 1) END)
$$;
