-- Locks application p_id for a decision: 404 unless the actor sees it and, for review, is an
-- administrator of its city (or the operator); for withdrawal, the institute that made it. The
-- application must be submitted or waitlisted.
CREATE FUNCTION application_lock(p_actor jsonb, p_id uuid, p_review boolean) RETURNS applications
LANGUAGE plpgsql AS $$
DECLARE
  a applications;
BEGIN
  SELECT * INTO a FROM applications WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR NOT application_visible(p_actor, a) THEN
    PERFORM problem('not-found', 'no application ' || p_id);
  END IF;
  IF p_review AND p_actor->>'role' NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('forbidden', 'only the city''s administrators decide applications');
  END IF;
  IF NOT p_review AND p_actor->>'role' <> 'institute' THEN
    PERFORM problem('forbidden', 'only the institute that applied withdraws its application');
  END IF;
  IF a.status NOT IN ('submitted', 'waitlisted') THEN
    PERFORM problem('application-state-conflict',
                    format('application %s is %s; only submitted or waitlisted applications are decided or withdrawn', p_id, a.status));
  END IF;
  RETURN a;
END $$;
