-- One leg of a plan: units of offer c over [p_start, p_start + p_dur), priced.
CREATE FUNCTION match_leg(p_actor jsonb, c offers, p_units integer, p_start timestamptz,
                          p_dur interval, p_free integer, p_vouchers uuid[])
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_hours bigint := billed_hours(p_start, p_start + p_dur);
  v_gross bigint := gross_fen(p_units, v_hours, c.price_fen_per_unit_hour);
  v_subsidy bigint := least(greatest(match_subsidy(p_actor, c.id, v_gross, p_vouchers), 0), v_gross);
BEGIN
  RETURN jsonb_build_object(
    'offer_id', c.id, 'units', p_units, 'start', ts(p_start), 'end', ts(p_start + p_dur),
    'hours', v_hours, 'price_fen_per_unit_hour', c.price_fen_per_unit_hour,
    'gross_fen', v_gross, 'subsidy_fen', v_subsidy, 'net_fen', v_gross - v_subsidy,
    'free_units', p_free, 'region', c.region, 'zone', c.zone, 'accelerator', c.accelerator,
    'fp16_tflops_per_unit', c.fp16_tflops_per_unit, 'green_share', c.green_share, 'pue', c.pue);
END $$;
