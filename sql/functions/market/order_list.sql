CREATE FUNCTION order_list(p_actor jsonb, p_status text, p_offer uuid, p_after uuid,
                           p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT page_json(jsonb_agg(order_json(x.o) ORDER BY (x.o).id), p_limit) FROM (
    SELECT o FROM orders o
     WHERE (p_status IS NULL OR o.status = p_status)
       AND (p_offer IS NULL OR o.offer_id = p_offer)
       AND (p_after IS NULL OR o.id > p_after)
       AND CASE p_actor->>'role'
             WHEN 'institute' THEN o.institute_id = (p_actor->>'org_id')::uuid
             WHEN 'provider' THEN o.offer_id IN (SELECT f.id FROM offers f
                                                  WHERE f.provider_id = (p_actor->>'org_id')::uuid)
             ELSE order_visible(p_actor, o)
           END
     ORDER BY o.id LIMIT p_limit + 1) x
$$;
