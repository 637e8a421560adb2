-- Locks the actor's own offer for a change; someone else's answers 404 as if it did not exist.
-- p_version (the If-Match value) must be current when given.
CREATE FUNCTION offer_lock_own(p_actor jsonb, p_id uuid, p_version integer) RETURNS offers
LANGUAGE plpgsql AS $$
DECLARE
  v_offer offers;
BEGIN
  SELECT * INTO v_offer FROM offers
   WHERE id = p_id AND provider_id = (p_actor->>'org_id')::uuid FOR UPDATE;
  IF NOT FOUND OR p_actor->>'role' <> 'provider' THEN
    PERFORM problem('not-found', 'no offer ' || p_id);
  END IF;
  IF p_version IS NOT NULL AND p_version <> v_offer.version THEN
    PERFORM problem('precondition-failed',
                    format('the offer is at version %s, not %s; read it again', v_offer.version, p_version));
  END IF;
  RETURN v_offer;
END $$;
