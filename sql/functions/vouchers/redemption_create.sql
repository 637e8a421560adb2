-- POST /v1/redemptions: one round trip, one transaction.
CREATE FUNCTION redemption_create(p_actor jsonb, p_voucher uuid, p_order uuid, p_amount bigint,
                                  p_via_token boolean)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r redemptions;
BEGIN
  -- a variable, not the call as the argument: the planner inlines redemption_json only when
  -- the argument it repeats is cheap (it reads r eleven times)
  r := redeem_one(p_actor, p_voucher, p_order, p_amount, p_via_token, '');
  RETURN redemption_json(r);
END $$;
