-- POST /v1/orders. The offer row lock serialises every order on one offer, in every server
-- process; under it, the peak of live holdings in the window plus the new units must fit.
CREATE FUNCTION order_create(p_actor jsonb, p_offer uuid, p_units integer, p_start timestamptz,
                             p_end timestamptz, p_vouchers jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_offer offers;
  v_peak integer;
  v_hours bigint;
  v_gross bigint;
  v_order orders;
BEGIN
  IF p_actor->>'role' <> 'institute' THEN
    PERFORM problem('forbidden', 'only institutes reserve capacity');
  END IF;
  IF p_end <= p_start THEN
    PERFORM problem_at('validation-failed', 'end', 'must be after start');
  END IF;
  SELECT * INTO v_offer FROM offers WHERE id = p_offer FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM problem('not-found', 'no offer ' || p_offer);
  END IF;
  IF v_offer.status <> 'active' THEN
    PERFORM problem('offer-not-active', format('offer %s is %s', p_offer, v_offer.status));
  END IF;
  IF p_start < v_offer.available_from OR p_end > v_offer.available_until THEN
    PERFORM problem('outside-offer-window',
                    format('offer %s is available from %s until %s', p_offer,
                           ts(v_offer.available_from), ts(v_offer.available_until)));
  END IF;
  v_peak := offer_reserved_peak(p_offer, p_start, p_end);
  IF v_peak + p_units > v_offer.units THEN
    PERFORM problem('insufficient-capacity',
                    format('offer %s has %s free units from %s to %s; %s requested', p_offer,
                           greatest(v_offer.units - v_peak, 0), ts(p_start), ts(p_end), p_units));
  END IF;
  v_hours := billed_hours(p_start, p_end);
  v_gross := gross_fen(p_units, v_hours, v_offer.price_fen_per_unit_hour);
  INSERT INTO orders (offer_id, institute_id, created_by, units, start_at, end_at, hours,
                      price_fen_per_unit_hour, gross_fen, net_fen)
  VALUES (p_offer, (p_actor->>'org_id')::uuid, (p_actor->>'user_id')::uuid, p_units, p_start,
          p_end, v_hours, v_offer.price_fen_per_unit_hour, v_gross, v_gross)
  RETURNING * INTO v_order;
  PERFORM audit_append(p_actor, 'order.create', 'order', v_order.id,
                       jsonb_build_object('offer_id', p_offer, 'units', p_units,
                                          'start', ts(p_start), 'end', ts(p_end),
                                          'gross_fen', v_gross));
  PERFORM order_apply_vouchers(p_actor, v_order.id, coalesce(p_vouchers, '[]'));
  SELECT * INTO v_order FROM orders WHERE id = v_order.id;
  RETURN order_json(v_order);
END $$;
