-- The offers of a search (GET /v1/offers), in its order: at most p_limit + 1 rows (the last
-- one tells that there is a next page), for offer_search (the page as JSON) and offer_search_as
-- (the rows, which the server renders). p_f holds the validated filters as text (absent = not
-- filtered): resource_class, accelerator, region (array), zone, min_units, min_tflops,
-- max_price_fen, min_green_share, max_pue, available_from + available_until (then min_units,
-- default 1, applies to the units still free in that window), provider_id, status (default
-- active; any other status lists only the caller's own offers, or all for the operator).
-- p_sort is NULL (by id), price, -price, tflops_per_fen, green_share or created_at;
-- p_after/p_after_id come from the cursor of the previous page; p_limit is 1..200
-- (API_MAX_LIMIT).
--
-- Planned once per filter shape: every branch below is static SQL, which PL/pgSQL prepares
-- once per database connection and, with plan_cache_mode = force_generic_plan, plans once
-- (no query text is built or EXECUTEd per call; nothing is kept in the session that a
-- transaction pooler would have to know of). A branch is a sort key (its ORDER BY walks that
-- key's index) and, for the price sorts, the selective filters that have an index ending in
-- the price (zone with resource_class, accelerator); every other filter is optional
-- (offer_search_match, inlined: an absent one is a parameter that is NULL). A first page
-- compares with a sentinel beyond every key, so that one branch serves first and later pages
-- with the keyset condition on its index; its LIMIT stops the scan after limit + 1 rows (with
-- enable_sort off the generic plan walks the index for the order rather than sorting).
--
-- tests/bench/marketplace shows the plan a search runs (auto_explain, nested statements).
CREATE FUNCTION offer_search_rows(p_actor jsonb, p_f jsonb, p_sort text, p_after text,
                                  p_after_id uuid, p_limit integer)
RETURNS SETOF offers LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan SET enable_sort = off SET jit = off AS $$
DECLARE
  v_class text := p_f->>'resource_class';
  v_accel text := p_f->>'accelerator';
  v_regions text[];
  v_zone text := p_f->>'zone';
  v_min_units integer := (p_f->>'min_units')::integer;
  v_min_tflops numeric := (p_f->>'min_tflops')::numeric;
  v_max_price bigint := (p_f->>'max_price_fen')::bigint;
  v_min_green numeric := (p_f->>'min_green_share')::numeric;
  v_max_pue numeric := (p_f->>'max_pue')::numeric;
  v_from timestamptz := (p_f->>'available_from')::timestamptz;
  v_until timestamptz := (p_f->>'available_until')::timestamptz;
  v_provider uuid := (p_f->>'provider_id')::uuid;
  v_status text := coalesce(p_f->>'status', 'active');
  v_sort text := coalesce(p_sort, 'id');
  v_asc boolean := coalesce(p_sort, 'id') IN ('id', 'price');
  -- the keyset position: after the cursor's row, or before the first row of the sort
  v_id uuid := coalesce(p_after_id, CASE WHEN coalesce(p_sort, 'id') IN ('id', 'price')
                                          THEN '00000000-0000-0000-0000-000000000000'
                                          ELSE 'ffffffff-ffff-ffff-ffff-ffffffffffff' END::uuid);
  v_big bigint;        -- price
  v_num numeric;       -- tflops_per_fen, green_share
  v_ts timestamptz;    -- created_at
  v_key numeric;       -- the key of the branch for other statuses (ascending)
  v_own uuid;          -- the caller's organisation, for statuses other than active
BEGIN
  IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 200 THEN
    RAISE EXCEPTION 'offer_search_rows: p_limit % is not within 1..200', p_limit;
  END IF;
  IF p_f ? 'region' THEN
    v_regions := ARRAY(SELECT jsonb_array_elements_text(p_f->'region'));
  END IF;
  IF p_after_id IS NULL THEN
    v_big := CASE WHEN v_sort = 'price' THEN 0 ELSE 10000000001 END;
    v_num := 'Infinity';
    v_ts := 'infinity';
    v_key := '-Infinity';
  ELSE
    v_big := CASE WHEN v_sort IN ('price', '-price') THEN p_after::bigint END;
    v_num := CASE WHEN v_sort IN ('tflops_per_fen', 'green_share') THEN p_after::numeric END;
    v_ts := CASE WHEN v_sort = 'created_at'
                 THEN timestamptz 'epoch' + p_after::bigint * interval '1 microsecond' END;
    v_key := CASE WHEN v_sort = 'id' THEN 0 WHEN v_sort = 'price' THEN p_after::numeric
                  ELSE -(p_after::numeric) END;
  END IF;

  IF v_status <> 'active' THEN
    -- paused and withdrawn offers: the caller's own (the operator: all), few; no index keeps
    -- them in a sort order, so one branch for every sort, on an ascending key
    IF p_actor->>'role' IS DISTINCT FROM 'operator' THEN
      v_own := (p_actor->>'org_id')::uuid;  -- none: nothing to list
      RETURN QUERY
        SELECT (c.o).* FROM (
          SELECT o, o.id, offer_search_key(o, v_sort) AS k
            FROM offers o
           WHERE o.status = v_status AND o.provider_id = v_own
             AND offer_search_match(o, v_class, v_accel, v_regions, v_zone, v_min_units,
                   v_min_tflops, v_max_price, v_min_green, v_max_pue, v_from, v_until, v_provider)
             AND offer_search_free(o, v_from, v_until, v_min_units)
         ) c WHERE c.k > v_key OR c.k = v_key AND (CASE WHEN v_asc THEN c.id > v_id ELSE c.id < v_id END)
         ORDER BY c.k, CASE WHEN v_asc THEN c.id END, c.id DESC LIMIT p_limit + 1;
    ELSE
      RETURN QUERY
        SELECT (c.o).* FROM (
          SELECT o, o.id, offer_search_key(o, v_sort) AS k
            FROM offers o
           WHERE o.status = v_status
             AND offer_search_match(o, v_class, v_accel, v_regions, v_zone, v_min_units,
                   v_min_tflops, v_max_price, v_min_green, v_max_pue, v_from, v_until, v_provider)
             AND offer_search_free(o, v_from, v_until, v_min_units)
         ) c WHERE c.k > v_key OR c.k = v_key AND (CASE WHEN v_asc THEN c.id > v_id ELSE c.id < v_id END)
         ORDER BY c.k, CASE WHEN v_asc THEN c.id END, c.id DESC LIMIT p_limit + 1;
    END IF;

  ELSIF v_sort = 'id' THEN
    RETURN QUERY
        SELECT o.*
          FROM offers o
         WHERE o.status = 'active' AND o.id > v_id
           AND offer_search_match(o, v_class, v_accel, v_regions, v_zone, v_min_units,
                 v_min_tflops, v_max_price, v_min_green, v_max_pue, v_from, v_until, v_provider)
           AND offer_search_free(o, v_from, v_until, v_min_units)
         ORDER BY o.id LIMIT p_limit + 1;

  ELSIF v_sort = 'price' AND v_zone IS NOT NULL AND v_class IS NOT NULL THEN
    RETURN QUERY
        SELECT o.*
          FROM offers o
         WHERE o.status = 'active' AND o.zone = v_zone AND o.resource_class = v_class
           AND (o.price_fen_per_unit_hour, o.id) > (v_big, v_id)
           AND offer_search_match(o, NULL, v_accel, v_regions, NULL, v_min_units,
                 v_min_tflops, v_max_price, v_min_green, v_max_pue, v_from, v_until, v_provider)
           AND offer_search_free(o, v_from, v_until, v_min_units)
         ORDER BY o.price_fen_per_unit_hour, o.id LIMIT p_limit + 1;

  ELSIF v_sort = '-price' AND v_zone IS NOT NULL AND v_class IS NOT NULL THEN
    RETURN QUERY
        SELECT o.*
          FROM offers o
         WHERE o.status = 'active' AND o.zone = v_zone AND o.resource_class = v_class
           AND (o.price_fen_per_unit_hour, o.id) < (v_big, v_id)
           AND offer_search_match(o, NULL, v_accel, v_regions, NULL, v_min_units,
                 v_min_tflops, v_max_price, v_min_green, v_max_pue, v_from, v_until, v_provider)
           AND offer_search_free(o, v_from, v_until, v_min_units)
         ORDER BY o.price_fen_per_unit_hour DESC, o.id DESC LIMIT p_limit + 1;

  ELSIF v_sort = 'price' AND v_accel IS NOT NULL THEN
    RETURN QUERY
        SELECT o.*
          FROM offers o
         WHERE o.status = 'active' AND o.accelerator = v_accel
           AND (o.price_fen_per_unit_hour, o.id) > (v_big, v_id)
           AND offer_search_match(o, v_class, NULL, v_regions, v_zone, v_min_units,
                 v_min_tflops, v_max_price, v_min_green, v_max_pue, v_from, v_until, v_provider)
           AND offer_search_free(o, v_from, v_until, v_min_units)
         ORDER BY o.price_fen_per_unit_hour, o.id LIMIT p_limit + 1;

  ELSIF v_sort = '-price' AND v_accel IS NOT NULL THEN
    RETURN QUERY
        SELECT o.*
          FROM offers o
         WHERE o.status = 'active' AND o.accelerator = v_accel
           AND (o.price_fen_per_unit_hour, o.id) < (v_big, v_id)
           AND offer_search_match(o, v_class, NULL, v_regions, v_zone, v_min_units,
                 v_min_tflops, v_max_price, v_min_green, v_max_pue, v_from, v_until, v_provider)
           AND offer_search_free(o, v_from, v_until, v_min_units)
         ORDER BY o.price_fen_per_unit_hour DESC, o.id DESC LIMIT p_limit + 1;

  ELSIF v_sort = 'price' THEN
    RETURN QUERY
        SELECT o.*
          FROM offers o
         WHERE o.status = 'active' AND (o.price_fen_per_unit_hour, o.id) > (v_big, v_id)
           AND offer_search_match(o, v_class, v_accel, v_regions, v_zone, v_min_units,
                 v_min_tflops, v_max_price, v_min_green, v_max_pue, v_from, v_until, v_provider)
           AND offer_search_free(o, v_from, v_until, v_min_units)
         ORDER BY o.price_fen_per_unit_hour, o.id LIMIT p_limit + 1;

  ELSIF v_sort = '-price' THEN
    RETURN QUERY
        SELECT o.*
          FROM offers o
         WHERE o.status = 'active' AND (o.price_fen_per_unit_hour, o.id) < (v_big, v_id)
           AND offer_search_match(o, v_class, v_accel, v_regions, v_zone, v_min_units,
                 v_min_tflops, v_max_price, v_min_green, v_max_pue, v_from, v_until, v_provider)
           AND offer_search_free(o, v_from, v_until, v_min_units)
         ORDER BY o.price_fen_per_unit_hour DESC, o.id DESC LIMIT p_limit + 1;

  ELSIF v_sort = 'tflops_per_fen' THEN
    RETURN QUERY
        SELECT o.*
          FROM offers o
         WHERE o.status = 'active' AND (o.tflops_per_fen, o.id) < (v_num, v_id)
           AND offer_search_match(o, v_class, v_accel, v_regions, v_zone, v_min_units,
                 v_min_tflops, v_max_price, v_min_green, v_max_pue, v_from, v_until, v_provider)
           AND offer_search_free(o, v_from, v_until, v_min_units)
         ORDER BY o.tflops_per_fen DESC, o.id DESC LIMIT p_limit + 1;

  ELSIF v_sort = 'green_share' THEN
    RETURN QUERY
        SELECT o.*
          FROM offers o
         WHERE o.status = 'active' AND (o.green_share, o.id) < (v_num, v_id)
           AND offer_search_match(o, v_class, v_accel, v_regions, v_zone, v_min_units,
                 v_min_tflops, v_max_price, v_min_green, v_max_pue, v_from, v_until, v_provider)
           AND offer_search_free(o, v_from, v_until, v_min_units)
         ORDER BY o.green_share DESC, o.id DESC LIMIT p_limit + 1;

  ELSE -- created_at
    RETURN QUERY
        SELECT o.*
          FROM offers o
         WHERE o.status = 'active' AND (o.created_at, o.id) < (v_ts, v_id)
           AND offer_search_match(o, v_class, v_accel, v_regions, v_zone, v_min_units,
                 v_min_tflops, v_max_price, v_min_green, v_max_pue, v_from, v_until, v_provider)
           AND offer_search_free(o, v_from, v_until, v_min_units)
         ORDER BY o.created_at DESC, o.id DESC LIMIT p_limit + 1;
  END IF;
  RETURN;
END $$;
