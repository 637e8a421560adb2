-- DELETE: the offer leaves the catalogue; orders already made stand.
CREATE FUNCTION offer_withdraw(p_actor jsonb, p_id uuid, p_version integer)
RETURNS TABLE (offer jsonb, version integer) LANGUAGE plpgsql AS $$
DECLARE
  v_old offers := offer_lock_own(p_actor, p_id, p_version);
  v_new offers;
BEGIN
  IF v_old.status = 'withdrawn' THEN
    RETURN QUERY SELECT offer_json(v_old), v_old.version;
    RETURN;
  END IF;
  UPDATE offers o SET status = 'withdrawn', version = o.version + 1, updated_at = now()
   WHERE o.id = p_id RETURNING * INTO v_new;
  PERFORM audit_append(p_actor, 'offer.withdraw', 'offer', p_id,
                       jsonb_build_object('from_version', v_old.version, 'status_was', v_old.status));
  RETURN QUERY SELECT offer_json(v_new), v_new.version;
END $$;
