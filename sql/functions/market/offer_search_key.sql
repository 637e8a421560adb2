-- Offer o's place under sort key p_sort as one ascending number (descending keys negated; 0
-- for the sort by id, which the id alone orders), for the searches that no index keeps in
-- order (offer_search, statuses other than active). Takes the row, so that it is inlined.
CREATE FUNCTION offer_search_key(o offers, p_sort text) RETURNS numeric
LANGUAGE sql STABLE AS $$
  SELECT CASE p_sort
           WHEN 'price' THEN o.price_fen_per_unit_hour::numeric
           WHEN '-price' THEN -o.price_fen_per_unit_hour::numeric
           WHEN 'tflops_per_fen' THEN -o.tflops_per_fen
           WHEN 'green_share' THEN -o.green_share
           WHEN 'created_at' THEN -((extract(epoch FROM o.created_at) * 1000000)::bigint)::numeric
           ELSE 0
         END
$$;
