-- The city of an order (its institute's), for the audit events of its usage and payments.
CREATE FUNCTION usage_city(p_order uuid) RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT i.city_id FROM orders o JOIN organizations i ON i.id = o.institute_id
   WHERE o.id = p_order
$$;
