-- Locks order p_order for a usage decision by the actor: the provider of its offer
-- (p_role 'provider') or its institute (p_role 'institute'). Anyone else, and an order that
-- does not exist, is 404.
CREATE FUNCTION usage_order_lock(p_actor jsonb, p_order uuid, p_role text) RETURNS orders
LANGUAGE plpgsql AS $$
DECLARE
  o orders;
BEGIN
  SELECT * INTO o FROM orders WHERE id = p_order FOR UPDATE;
  IF NOT FOUND OR p_actor->>'role' IS DISTINCT FROM p_role
     OR (p_role = 'institute' AND o.institute_id IS DISTINCT FROM (p_actor->>'org_id')::uuid)
     OR (p_role = 'provider' AND NOT EXISTS (
           SELECT 1 FROM offers f WHERE f.id = o.offer_id
              AND f.provider_id = (p_actor->>'org_id')::uuid)) THEN
    PERFORM problem('not-found', format('no order %s', p_order));
  END IF;
  RETURN o;
END $$;
