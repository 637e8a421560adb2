-- The current row of one voucher, its expiry released first if due: waits for a transaction
-- that holds the voucher (a sweep releasing it, a redemption) and then reads what it left.
-- NULL when there is no such voucher.
CREATE FUNCTION voucher_settled(p_id uuid) RETURNS vouchers LANGUAGE plpgsql AS $$
DECLARE
  v vouchers;
BEGIN
  SELECT * INTO v FROM vouchers WHERE id = p_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF voucher_release_due(v) THEN
    SELECT * INTO v FROM vouchers WHERE id = p_id FOR UPDATE;
    IF voucher_release_due(v) THEN
      PERFORM voucher_release_expired(system_actor('voucher-expiry'), v);
      SELECT * INTO v FROM vouchers WHERE id = p_id;
    END IF;
  END IF;
  RETURN v;
END $$;
