-- GET /v1/programs. Reads only: balances follow program_json's display-time rule.
CREATE FUNCTION program_list(p_actor jsonb, p_city uuid, p_after uuid, p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT page_json(jsonb_agg(CASE WHEN p_actor->>'role' = 'institute' THEN program_public_json(x.p)
                             ELSE program_json(x.p) END ORDER BY (x.p).id), p_limit) FROM (
    SELECT p FROM programs p
     WHERE program_visible(p_actor, p)
       AND (p_city IS NULL OR p.city_id = p_city)
       AND (p_after IS NULL OR p.id > p_after)
     ORDER BY p.id LIMIT p_limit + 1) x
$$;
