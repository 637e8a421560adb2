-- GET /v1/vouchers/{id}: reads only (a voucher past its expiry shows as released, by
-- voucher_json's display-time rule; the maintenance runner releases it).
CREATE FUNCTION voucher_get(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT voucher_json(v) FROM vouchers v WHERE v.id = p_id AND voucher_visible(p_actor, v)
$$;
