CREATE FUNCTION order_get(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT order_json(o) FROM orders o WHERE o.id = p_id AND order_visible(p_actor, o)
$$;
