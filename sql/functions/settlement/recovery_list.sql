-- GET /v1/recoveries: the visible recoveries, optionally of one order, in id order (keyset
-- pagination).
CREATE FUNCTION recovery_list(p_actor jsonb, p_order uuid, p_after uuid, p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT page_json(jsonb_agg(recovery_json(x.r) ORDER BY (x.r).id), p_limit) FROM (
    SELECT r FROM recoveries r
     WHERE recovery_visible(p_actor, r)
       AND (p_order IS NULL OR r.order_id = p_order)
       AND (p_after IS NULL OR r.id > p_after)
     ORDER BY r.id LIMIT p_limit + 1) x
$$;
