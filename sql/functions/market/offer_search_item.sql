-- An offer as a search lists it: with a window (p_from, p_until) also the units still free in
-- it. Takes the row, so that the planner inlines it into offer_search's queries.
CREATE FUNCTION offer_search_item(o offers, p_from timestamptz, p_until timestamptz)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_from IS NULL THEN offer_json(o)
              ELSE offer_json(o) || jsonb_build_object(
                     'free_units', offer_free_units(o, p_from, p_until)) END
$$;
