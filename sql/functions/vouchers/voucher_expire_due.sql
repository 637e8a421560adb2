CREATE FUNCTION voucher_expire_due(p_program uuid, p_city uuid, p_limit integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_actor jsonb := system_actor('voucher-expiry');
  v vouchers;
  v_n integer := 0;
BEGIN
  FOR v IN SELECT * FROM vouchers
            WHERE status IN ('active', 'exhausted') AND expires_at <= now()
              AND (p_program IS NULL OR program_id = p_program)
              AND (p_city IS NULL OR city_id = p_city)
            ORDER BY expires_at, id LIMIT p_limit
            FOR UPDATE SKIP LOCKED
  LOOP
    PERFORM voucher_release_expired(v_actor, v);
    v_n := v_n + 1;
  END LOOP;
  RETURN v_n;
END $$;
