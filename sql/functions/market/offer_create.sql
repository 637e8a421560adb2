CREATE FUNCTION offer_create(p_actor jsonb, p_class text, p_accelerator text, p_units integer,
                             p_tflops numeric, p_memory integer, p_region text, p_price bigint,
                             p_from timestamptz, p_until timestamptz, p_pue numeric,
                             p_green numeric)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_zone text;
  v_offer offers;
BEGIN
  IF p_actor->>'role' <> 'provider' THEN
    PERFORM problem('forbidden', 'only providers post offers');
  END IF;
  SELECT zone INTO v_zone FROM regions WHERE code = p_region;
  IF NOT FOUND THEN
    PERFORM problem_at('validation-failed', 'region', 'unknown region ' || p_region);
  END IF;
  IF p_until <= p_from THEN
    PERFORM problem_at('validation-failed', 'available_until', 'must be after available_from');
  END IF;
  IF p_until <= now() THEN
    PERFORM problem_at('validation-failed', 'available_until', 'must be in the future');
  END IF;
  INSERT INTO offers (provider_id, resource_class, accelerator, units, fp16_tflops_per_unit,
                      memory_gib_per_unit, region, zone, price_fen_per_unit_hour,
                      available_from, available_until, pue, green_share)
  VALUES ((p_actor->>'org_id')::uuid, p_class, p_accelerator, p_units, p_tflops, p_memory,
          p_region, v_zone, p_price, p_from, p_until, p_pue, p_green)
  RETURNING * INTO v_offer;
  PERFORM audit_append(p_actor, 'offer.create', 'offer', v_offer.id, offer_json(v_offer));
  RETURN offer_json(v_offer);
END $$;
