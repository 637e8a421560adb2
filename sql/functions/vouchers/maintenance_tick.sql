-- The periodic work of every server (api/maintenance.c): expired vouchers, and idempotency
-- records past their 48 hours, both in bounded batches.
CREATE FUNCTION maintenance_tick() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_expired integer;
  v_keys integer;
BEGIN
  v_expired := voucher_expire_due(NULL, NULL, 1000);
  DELETE FROM idempotency_keys k
   USING (SELECT user_id, key FROM idempotency_keys
           WHERE created_at < now() - interval '48 hours'
           ORDER BY created_at LIMIT 1000
           FOR UPDATE SKIP LOCKED) old
   WHERE k.user_id = old.user_id AND k.key = old.key;
  GET DIAGNOSTICS v_keys = ROW_COUNT;
  RETURN jsonb_build_object('vouchers_expired', v_expired, 'idempotency_keys_deleted', v_keys);
END $$;
