-- The days an institute has to accept or dispute a usage report of order p_order: the
-- shortest usage_dispute_days of the programmes whose vouchers pay for it; 7 without vouchers.
CREATE FUNCTION usage_window_days(p_order uuid) RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT coalesce(min(g.usage_dispute_days), 7)
    FROM programs g
   WHERE g.id IN (SELECT r.program_id FROM redemptions r
                   WHERE r.order_id = p_order AND r.status = 'applied')
$$;
