-- The units of offer o still free all through the window [p_from, p_until) of a search; NULL
-- when the search has no window. Takes the row, so that the planner inlines it into the
-- functions that render (offer_search_item, offer_search_as) and filter (offer_search_free)
-- a search's offers.
CREATE FUNCTION offer_free_units(o offers, p_from timestamptz, p_until timestamptz)
RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_from IS NOT NULL THEN o.units - offer_reserved_peak(o.id, p_from, p_until) END
$$;
