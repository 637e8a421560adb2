-- Locks payout p_id for a step by an administrator of its city: 404 unless the actor sees it,
-- 403 unless a city administrator; p_state is the state the step starts from (409
-- payout-state-conflict otherwise).
CREATE FUNCTION payout_lock(p_actor jsonb, p_id uuid, p_state text) RETURNS payouts
LANGUAGE plpgsql AS $$
DECLARE
  p payouts;
BEGIN
  SELECT * INTO p FROM payouts WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR NOT payout_visible(p_actor, p) THEN
    PERFORM problem('not-found', 'no payout ' || p_id);
  END IF;
  IF p_actor->>'role' <> 'city_admin' THEN
    PERFORM problem('forbidden', 'only the city''s administrators approve and pay payouts');
  END IF;
  IF p.state <> p_state THEN
    PERFORM problem('payout-state-conflict',
                    format('payout %s is %s; this step needs it %s', p_id, p.state, p_state));
  END IF;
  RETURN p;
END $$;
