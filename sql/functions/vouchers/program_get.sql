-- GET /v1/programs/{id}: releases the programme's due expiries first, so that its balances
-- are current.
CREATE FUNCTION program_get(p_actor jsonb, p_id uuid)
RETURNS TABLE (program jsonb, version integer) LANGUAGE plpgsql AS $$
DECLARE
  v_p programs;
BEGIN
  SELECT * INTO v_p FROM programs WHERE id = p_id;
  IF NOT FOUND OR NOT program_visible(p_actor, v_p) THEN
    RETURN;
  END IF;
  IF voucher_expire_due(p_id, NULL, 1000) > 0 THEN
    SELECT * INTO v_p FROM programs WHERE id = p_id;
  END IF;
  RETURN QUERY SELECT program_json(v_p), v_p.version;
END $$;
