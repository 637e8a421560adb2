-- A voucher whose expiry is due but not yet released (a sweep skipped it while another
-- transaction held it) already shows as expired.
CREATE FUNCTION voucher_state(v vouchers) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN v.status IN ('active', 'exhausted') AND now() >= v.expires_at THEN 'expired'
              ELSE v.status END
$$;
