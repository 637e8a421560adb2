-- GET /v1/vouchers with optional filters; status filters on the state clients see (the
-- display-time rule of voucher_release_due). Reads only.
CREATE FUNCTION voucher_list(p_actor jsonb, p_program uuid, p_institute uuid, p_status text,
                             p_after uuid, p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT page_json(jsonb_agg(voucher_json(x.v) ORDER BY (x.v).id), p_limit) FROM (
    SELECT v FROM vouchers v
     WHERE CASE p_actor->>'role'
             WHEN 'institute' THEN v.institute_id = (p_actor->>'org_id')::uuid
             WHEN 'city_admin' THEN v.city_id = actor_city(p_actor)
             ELSE voucher_visible(p_actor, v)
           END
       AND (p_program IS NULL OR v.program_id = p_program)
       AND (p_institute IS NULL OR v.institute_id = p_institute)
       AND (p_status IS NULL OR voucher_state(v) = p_status)
       AND (p_after IS NULL OR v.id > p_after)
     ORDER BY v.id LIMIT p_limit + 1) x
$$;
