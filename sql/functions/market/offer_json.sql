CREATE FUNCTION offer_json(o offers) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', o.id, 'provider_id', o.provider_id, 'resource_class', o.resource_class,
    'accelerator', o.accelerator, 'units', o.units,
    'fp16_tflops_per_unit', o.fp16_tflops_per_unit, 'memory_gib_per_unit', o.memory_gib_per_unit,
    'region', o.region, 'zone', o.zone, 'price_fen_per_unit_hour', o.price_fen_per_unit_hour,
    'available_from', ts(o.available_from), 'available_until', ts(o.available_until),
    'pue', o.pue, 'green_share', o.green_share, 'status', o.status, 'version', o.version,
    'created_at', ts(o.created_at), 'updated_at', ts(o.updated_at))
$$;
