-- DELETE /v1/related-parties/{id}: withdraws a declaration (the operator, or an administrator
-- of its city); 404 for anyone else.
CREATE FUNCTION related_party_delete(p_actor jsonb, p_id uuid) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  x related_parties;
BEGIN
  SELECT * INTO x FROM related_parties WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR NOT related_party_visible(p_actor, x)
     OR p_actor->>'role' NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('not-found', 'no related-party declaration ' || p_id);
  END IF;
  DELETE FROM related_parties WHERE id = p_id;
  PERFORM audit_append(p_actor, 'related_party.delete', 'related_party', p_id,
                       jsonb_build_object('provider_id', x.provider_id, 'institute_id', x.institute_id),
                       x.city_id);
  RETURN true;
END $$;
