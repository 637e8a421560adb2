-- GET /v1/orders/{id}/usage: the order's usage state and every report, newest first, for
-- whoever may see the order (its provider, its institute, the staff of its city, the
-- operator). NULL (404) for anyone else.
CREATE FUNCTION usage_list(p_actor jsonb, p_order uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'order_id', o.id, 'usage_state', o.usage_state,
    'delivered_unit_hours', o.delivered_unit_hours, 'availability', o.availability,
    'usage_accepted_at', ts(o.usage_accepted_at), 'window_days', usage_window_days(o.id),
    'items', (SELECT coalesce(jsonb_agg(usage_report_json(u) ORDER BY u.created_at DESC, u.id DESC), '[]')
                FROM order_usage_reports u WHERE u.order_id = o.id))
    FROM orders o WHERE o.id = p_order AND order_visible(p_actor, o)
$$;
