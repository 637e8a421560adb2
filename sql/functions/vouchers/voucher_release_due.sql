-- Display-time rule: a voucher whose expiry is due but whose balance is not yet released is
-- shown as it will be once released (voucher_json, voucher_state): status expired, balance 0,
-- its balance counted as released. The release itself is done by the maintenance runner
-- (voucher_expire_due); reads never write. A write that meets such a voucher treats it as
-- expired (redeem_one refuses it, order_reverse_redemptions returns to the programme).
-- Whether a voucher's expiry is due but its balance not yet released.
CREATE FUNCTION voucher_release_due(v vouchers) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT v.status IN ('active', 'exhausted') AND now() >= v.expires_at
$$;
