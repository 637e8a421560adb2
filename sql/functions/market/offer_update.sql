-- PATCH: every argument NULL means unchanged. Units may not drop below what live orders hold
-- at their busiest instant, and the window must keep containing every live order.
CREATE FUNCTION offer_update(p_actor jsonb, p_id uuid, p_version integer, p_price bigint,
                             p_units integer, p_from timestamptz, p_until timestamptz,
                             p_status text, p_green numeric, p_pue numeric)
RETURNS TABLE (offer jsonb, version integer) LANGUAGE plpgsql AS $$
DECLARE
  v_old offers := offer_lock_own(p_actor, p_id, p_version);
  v_new offers;
  v_peak integer;
  v_outside integer;
BEGIN
  IF v_old.status = 'withdrawn' THEN
    PERFORM problem('offer-not-active', format('offer %s is withdrawn and cannot change', p_id));
  END IF;
  IF coalesce(p_until, v_old.available_until) <= coalesce(p_from, v_old.available_from) THEN
    PERFORM problem_at('validation-failed', 'available_until', 'must be after available_from');
  END IF;
  IF p_units IS NOT NULL AND p_units < v_old.units THEN
    v_peak := offer_reserved_peak(p_id, '-infinity', 'infinity');
    IF p_units < v_peak THEN
      PERFORM problem_at('units-below-reserved', 'units',
                         format('live orders hold %s units of offer %s at their busiest instant; '
                             'units cannot drop below that', v_peak, p_id));
    END IF;
  END IF;
  IF p_from IS NOT NULL OR p_until IS NOT NULL THEN
    SELECT count(*) INTO v_outside FROM orders o
     WHERE o.offer_id = p_id AND o.status <> 'cancelled'
       AND (o.start_at < coalesce(p_from, v_old.available_from)
            OR o.end_at > coalesce(p_until, v_old.available_until));
    IF v_outside > 0 THEN
      PERFORM problem('outside-offer-window',
                      format('%s live orders of offer %s lie outside the new window', v_outside, p_id));
    END IF;
  END IF;
  UPDATE offers o SET
    price_fen_per_unit_hour = coalesce(p_price, o.price_fen_per_unit_hour),
    units = coalesce(p_units, o.units),
    available_from = coalesce(p_from, o.available_from),
    available_until = coalesce(p_until, o.available_until),
    status = coalesce(p_status, o.status),
    green_share = coalesce(p_green, o.green_share),
    pue = coalesce(p_pue, o.pue),
    version = o.version + 1,
    updated_at = now()
   WHERE o.id = p_id RETURNING * INTO v_new;
  PERFORM audit_append(p_actor, 'offer.update', 'offer', p_id,
                       jsonb_build_object('from_version', v_old.version, 'changes',
                         jsonb_strip_nulls(jsonb_build_object(
                           'price_fen_per_unit_hour', p_price, 'units', p_units,
                           'available_from', ts(p_from), 'available_until', ts(p_until),
                           'status', p_status, 'green_share', p_green, 'pue', p_pue))));
  RETURN QUERY SELECT offer_json(v_new), v_new.version;
END $$;
