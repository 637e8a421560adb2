-- The periodic notifications job of every server (api/notifications.c): expiry notices due, in
-- a bounded batch, and new anomaly flags. Safe on every replica at once.
CREATE FUNCTION notify_tick() RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  RETURN jsonb_build_object('expiring', notify_expiring_due(1000),
                            'anomalies', notify_anomalies());
END $$;
