-- The value of offer o under sort key p_sort as its search cursor holds it (offer_cursor):
-- the column as text, created_at as microseconds since the epoch (exact where text would not
-- be), NULL for the sort by id. Takes the row, so that the planner inlines it.
CREATE FUNCTION offer_search_value(o offers, p_sort text) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE p_sort
           WHEN 'price' THEN o.price_fen_per_unit_hour::text
           WHEN '-price' THEN o.price_fen_per_unit_hour::text
           WHEN 'tflops_per_fen' THEN o.tflops_per_fen::text
           WHEN 'green_share' THEN o.green_share::text
           WHEN 'created_at' THEN (extract(epoch FROM o.created_at) * 1000000)::bigint::text
         END
$$;
