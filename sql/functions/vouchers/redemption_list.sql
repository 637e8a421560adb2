CREATE FUNCTION redemption_list(p_actor jsonb, p_voucher uuid, p_order uuid, p_program uuid,
                                p_after uuid, p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_org uuid := (p_actor->>'org_id')::uuid;
  v_city uuid := actor_city(p_actor);
BEGIN
  RETURN (
    SELECT page_json(jsonb_agg(redemption_json(x.r) ORDER BY (x.r).id), p_limit) FROM (
      SELECT r FROM redemptions r
       WHERE CASE p_actor->>'role'
               WHEN 'operator' THEN true
               WHEN 'institute' THEN r.institute_id = v_org
               WHEN 'city_admin' THEN r.city_id = v_city
               WHEN 'auditor' THEN v_city IS NULL OR r.city_id = v_city
               WHEN 'provider' THEN EXISTS (SELECT 1 FROM orders o JOIN offers f ON f.id = o.offer_id
                                             WHERE o.id = r.order_id AND f.provider_id = v_org)
               ELSE false
             END
         AND (p_voucher IS NULL OR r.voucher_id = p_voucher)
         AND (p_order IS NULL OR r.order_id = p_order)
         AND (p_program IS NULL OR r.program_id = p_program)
         AND (p_after IS NULL OR r.id > p_after)
       ORDER BY r.id LIMIT p_limit + 1) x);
END $$;
