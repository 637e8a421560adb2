CREATE FUNCTION api_key_list(p_actor jsonb, p_after uuid, p_limit int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT page_json(jsonb_agg(api_key_json(x.k) ORDER BY (x.k).id), p_limit) FROM (
    SELECT k FROM api_keys k
     WHERE k.user_id = (p_actor->>'user_id')::uuid AND (p_after IS NULL OR k.id > p_after)
     ORDER BY k.id LIMIT p_limit + 1) x
$$;
