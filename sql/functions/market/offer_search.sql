-- GET /v1/offers as JSON: the page of offer_search_rows (the arguments are its), each offer as
-- offer_search_item renders it, and the cursor of the limit-th when there is a next page
-- (offer_cursor, inlined). The server's usual path answers with it; GET /v1/offers itself calls
-- offer_search_as, which authenticates in the same statement and returns the rows, which the
-- server renders into the same bytes (api/offers.c, check_offers proves them equal).
CREATE FUNCTION offer_search(p_actor jsonb, p_f jsonb, p_sort text, p_after text,
                             p_after_id uuid, p_limit integer)
RETURNS json LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
  v_from timestamptz := (p_f->>'available_from')::timestamptz;
  v_until timestamptz := (p_f->>'available_until')::timestamptz;
  v_sort text := coalesce(p_sort, 'id');
  v_page json;
BEGIN
  SELECT json_build_object(
           'items', coalesce(json_agg(offer_search_item(t.o, v_from, v_until))
                               FILTER (WHERE t.n <= p_limit), '[]'),
           'next_cursor', CASE WHEN count(*) > p_limit THEN
             min(offer_cursor(v_sort, offer_search_value(t.o, v_sort), (t.o).id))
               FILTER (WHERE t.n = p_limit) END)
    INTO v_page
    FROM (SELECT r AS o, row_number() OVER () AS n
            FROM offer_search_rows(p_actor, p_f, p_sort, p_after, p_after_id, p_limit) r) t;
  RETURN v_page;
END $$;
