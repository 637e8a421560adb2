-- Whether offer o has p_min_units (default 1) free all through the window [p_from, p_until)
-- of a search; true when the search has no window. Takes the row, so that the planner inlines
-- it into offer_search's queries.
CREATE FUNCTION offer_search_free(o offers, p_from timestamptz, p_until timestamptz,
                                  p_min_units integer)
RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT p_from IS NULL
      OR offer_free_units(o, p_from, p_until) >= coalesce(p_min_units, 1)
$$;
