-- Whether offer o passes the optional filters of a search (offer_search), each NULL = not
-- filtered. Takes the row, so that migrate leaves it as it is and the planner inlines it into
-- the static queries of offer_search: a filter that is absent folds to true there, one that is
-- present is a plain column condition. With a window (p_from, p_until) min_units applies to
-- the free units instead (offer_search checks those).
CREATE FUNCTION offer_search_match(o offers, p_class text, p_accel text, p_regions text[],
                                   p_zone text, p_min_units integer, p_min_tflops numeric,
                                   p_max_price bigint, p_min_green numeric, p_max_pue numeric,
                                   p_from timestamptz, p_until timestamptz, p_provider uuid)
RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT (p_class IS NULL OR o.resource_class = p_class)
     AND (p_accel IS NULL OR o.accelerator = p_accel)
     AND (p_regions IS NULL OR o.region = ANY (p_regions))
     AND (p_zone IS NULL OR o.zone = p_zone)
     AND (p_min_units IS NULL OR p_from IS NOT NULL OR o.units >= p_min_units)
     AND (p_min_tflops IS NULL OR o.fp16_tflops_per_unit >= p_min_tflops)
     AND (p_max_price IS NULL OR o.price_fen_per_unit_hour <= p_max_price)
     AND (p_min_green IS NULL OR o.green_share >= p_min_green)
     AND (p_max_pue IS NULL OR o.pue <= p_max_pue)
     AND (p_from IS NULL OR (o.available_from <= p_from AND o.available_until >= p_until))
     AND (p_provider IS NULL OR o.provider_id = p_provider)
$$;
