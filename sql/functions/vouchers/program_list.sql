-- GET /v1/programs. Reads only: balances follow program_json's display-time rule.
CREATE FUNCTION program_list(p_actor jsonb, p_city uuid, p_after uuid, p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    WITH page AS (
      SELECT p FROM programs p
       WHERE program_visible(p_actor, p)
         AND (p_city IS NULL OR p.city_id = p_city)
         AND (p_after IS NULL OR p.id > p_after)
       ORDER BY p.id LIMIT p_limit + 1)
    SELECT jsonb_build_object(
      'items', coalesce((SELECT jsonb_agg(program_json(x.p) ORDER BY (x.p).id)
                           FROM (SELECT p FROM page ORDER BY (p).id LIMIT p_limit) x), '[]'),
      'next_cursor', CASE WHEN (SELECT count(*) FROM page) > p_limit
                          THEN (SELECT (p).id::text FROM page ORDER BY (p).id LIMIT 1 OFFSET p_limit - 1) END)
$$;
