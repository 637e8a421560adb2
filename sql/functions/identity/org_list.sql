CREATE FUNCTION org_list(p_actor jsonb, p_type text, p_after uuid, p_limit int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT page_json(jsonb_agg(org_json(x.o) ORDER BY (x.o).id), p_limit) FROM (
    SELECT o FROM organizations o
     WHERE org_visible(p_actor, o)
       AND (p_type IS NULL OR o.type = p_type)
       AND (p_after IS NULL OR o.id > p_after)
     ORDER BY o.id LIMIT p_limit + 1) x
$$;
