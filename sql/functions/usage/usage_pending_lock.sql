-- The report of locked order o that awaits a decision, locked; 409 when there is none, and
-- usage-window-closed once its window has passed (silence has accepted it, or the
-- maintenance tick is about to).
CREATE FUNCTION usage_pending_lock(o orders) RETURNS order_usage_reports LANGUAGE plpgsql AS $$
DECLARE
  u order_usage_reports;
BEGIN
  SELECT * INTO u FROM order_usage_reports WHERE order_id = o.id AND state = 'reported'
   FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM problem('usage-state-conflict',
                    format('no usage report of order %s awaits a decision (usage is %s)', o.id,
                           o.usage_state));
  END IF;
  IF now() >= u.accept_by THEN
    PERFORM problem('usage-window-closed',
                    format('the window to accept or dispute the usage of order %s closed at %s; silence accepted it',
                           o.id, ts(u.accept_by)));
  END IF;
  RETURN u;
END $$;
