-- The maintenance tick's share: accepts, by silence, up to p_limit reports whose window has
-- passed. Each order is taken with SKIP LOCKED (another server, or the institute deciding at
-- this moment, has it) and its report checked again under the lock.
CREATE FUNCTION usage_accept_due(p_limit integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_actor jsonb := system_actor('usage-acceptance');
  v_id uuid;
  o orders;
  u order_usage_reports;
  v_n integer := 0;
BEGIN
  FOR v_id IN SELECT order_id FROM order_usage_reports
               WHERE state = 'reported' AND accept_by <= now()
               ORDER BY accept_by, id LIMIT p_limit
  LOOP
    SELECT * INTO o FROM orders WHERE id = v_id FOR UPDATE SKIP LOCKED;
    CONTINUE WHEN NOT FOUND;
    SELECT * INTO u FROM order_usage_reports
     WHERE order_id = v_id AND state = 'reported' AND accept_by <= now() FOR UPDATE;
    CONTINUE WHEN NOT FOUND;
    PERFORM usage_accept_report(v_actor, o, u, NULL);
    v_n := v_n + 1;
  END LOOP;
  RETURN v_n;
END $$;
