-- voucher.expiring: for up to p_limit vouchers whose next expiry notice is due, a notice naming
-- the nearest threshold (30, 7 or 1 days) at or above the time left, to the institute; then the
-- watch moves to the next threshold below, or ends. A voucher no longer active gets no notice.
-- The dedup key makes it once per voucher and threshold on every replica. Answers the count.
CREATE FUNCTION notify_expiring_due(p_limit integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  w record;
  v_days integer;
  v_next integer;
  v_n integer := 0;
BEGIN
  FOR w IN SELECT x.voucher_id, v.institute_id, v.program_id, v.status, v.expires_at,
                  v.balance_fen
             FROM (SELECT voucher_id FROM voucher_expiry_watch WHERE next_at <= now()
                    ORDER BY next_at LIMIT p_limit FOR UPDATE SKIP LOCKED) x
             JOIN vouchers v ON v.id = x.voucher_id
  LOOP
    IF w.status <> 'active' OR w.expires_at <= now() THEN
      DELETE FROM voucher_expiry_watch WHERE voucher_id = w.voucher_id;
      CONTINUE;
    END IF;
    v_days := CASE WHEN w.expires_at - now() <= interval '1 day' THEN 1
                   WHEN w.expires_at - now() <= interval '7 days' THEN 7 ELSE 30 END;
    PERFORM notify_insert(w.institute_id, 'voucher.expiring', 'voucher', w.voucher_id,
                          jsonb_build_object('program_id', w.program_id, 'days', v_days,
                                             'expires_at', ts(w.expires_at),
                                             'balance_fen', w.balance_fen),
                          format('voucher.expiring:%s:%s', w.voucher_id, v_days));
    v_next := CASE v_days WHEN 30 THEN 7 WHEN 7 THEN 1 END;
    IF v_next IS NULL THEN
      DELETE FROM voucher_expiry_watch WHERE voucher_id = w.voucher_id;
    ELSE
      UPDATE voucher_expiry_watch SET next_at = w.expires_at - make_interval(days => v_next)
       WHERE voucher_id = w.voucher_id;
    END IF;
    v_n := v_n + 1;
  END LOOP;
  RETURN v_n;
END $$;
