CREATE FUNCTION voucher_get(p_actor jsonb, p_id uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v vouchers;
BEGIN
  SELECT * INTO v FROM vouchers WHERE id = p_id;
  IF NOT FOUND OR NOT voucher_visible(p_actor, v) THEN
    RETURN NULL;
  END IF;
  RETURN voucher_json(voucher_settled(p_id));
END $$;
