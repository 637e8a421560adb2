-- The periodic work of every server (api/maintenance.c): expired vouchers, usage reports
-- accepted by silence once their window has passed, and idempotency records past their 48
-- hours, all in bounded batches.
CREATE FUNCTION maintenance_tick() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_expired integer;
  v_keys integer;
  v_accepted integer;
BEGIN
  v_expired := voucher_expire_due(NULL, NULL, 1000);
  v_accepted := usage_accept_due(100);
  DELETE FROM idempotency_keys k
   USING (SELECT user_id, key FROM idempotency_keys
           WHERE created_at < now() - interval '48 hours'
           ORDER BY created_at LIMIT 1000
           FOR UPDATE SKIP LOCKED) old
   WHERE k.user_id = old.user_id AND k.key = old.key;
  GET DIAGNOSTICS v_keys = ROW_COUNT;
  RETURN jsonb_build_object('vouchers_expired', v_expired, 'idempotency_keys_deleted', v_keys,
                            'usage_accepted', v_accepted);
END $$;
