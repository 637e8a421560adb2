-- POST /v1/redemptions: one round trip, one transaction.
CREATE FUNCTION redemption_create(p_actor jsonb, p_voucher uuid, p_order uuid, p_amount bigint,
                                  p_via_token boolean)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  RETURN redemption_json(redeem_one(p_actor, p_voucher, p_order, p_amount, p_via_token, ''));
END $$;
