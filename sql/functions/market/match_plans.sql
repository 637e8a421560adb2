-- POST /v1/match. p_d is the validated demand: resource_class, units, accelerator?,
-- min_tflops?, start + end or duration_hours + earliest_start + latest_end, regions?, zone?,
-- max_price_fen?, min_green_share?, max_pue?, allow_split, voucher_ids, sort, limit.
-- Candidates are the active offers that pass every static constraint, taken in the order of
-- the ranking's base key (at most 200; 50 for split plans). Each yields a single-offer plan at
-- its earliest start with enough free units; with allow_split, offers that each have some
-- free units in one common window are combined greedily in ranking order. Plans are ranked by
-- net cost (default), TFLOPS-hours per fen, green share or earliest start. With no plan, the
-- answer counts per constraint how many active offers it excluded.
CREATE FUNCTION match_plans(p_actor jsonb, p_d jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_units integer := (p_d->>'units')::integer;
  v_class text := p_d->>'resource_class';
  v_accel text := p_d->>'accelerator';
  v_min_tflops numeric := coalesce((p_d->>'min_tflops')::numeric, 0);
  v_regions text[] := CASE WHEN p_d ? 'regions'
                           THEN ARRAY(SELECT jsonb_array_elements_text(p_d->'regions')) END;
  v_zone text := p_d->>'zone';
  v_max_price bigint := (p_d->>'max_price_fen')::bigint;
  v_min_green numeric := coalesce((p_d->>'min_green_share')::numeric, 0);
  v_max_pue numeric := coalesce((p_d->>'max_pue')::numeric, 3);
  v_split boolean := coalesce((p_d->>'allow_split')::boolean, false);
  v_vouchers uuid[] := ARRAY(SELECT jsonb_array_elements_text(coalesce(p_d->'voucher_ids', '[]'))::uuid);
  v_sort text := coalesce(p_d->>'sort', 'net_cost');
  v_limit integer := coalesce((p_d->>'limit')::integer, 10);
  v_lo timestamptz := coalesce((p_d->>'start')::timestamptz, (p_d->>'earliest_start')::timestamptz);
  v_hi timestamptz := coalesce((p_d->>'end')::timestamptz, (p_d->>'latest_end')::timestamptz);
  v_dur interval := CASE WHEN p_d ? 'start' THEN v_hi - v_lo
                         ELSE make_interval(hours => (p_d->>'duration_hours')::integer) END;
  v_label text := CASE v_sort WHEN 'net_cost' THEN 'net cost, lowest first'
                              WHEN 'tflops_per_fen' THEN 'TFLOPS-hours per fen, highest first'
                              WHEN 'green_share' THEN 'green share, highest first'
                              ELSE 'start, earliest first' END;
  c offers;
  v_cands offers[] := '{}';
  v_single record;
  v_any record;
  v_anys timestamptz[] := '{}';
  v_plans jsonb := '[]';
  v_legs jsonb;
  v_left integer;
  v_take integer;
  v_free integer;
  v_t timestamptz;
  v_considered integer := 0;
  v_feasible integer := 0;
  v_ranked jsonb;
  v_n integer;
  v_sql text;
  v_where text;
  v_cap integer;
  v_split_free integer := 0;
BEGIN
  -- Candidates in the order of the ranking's base key, from fixed fragments for the
  -- constraints given (every value a parameter), so that the scan walks an index and stops
  -- early. Without vouchers that order is already the ranking of single-offer plans (they
  -- share units and hours), except by start, so the loop stops after v_cap feasible ones.
  v_where := 'o.status = ''active'' AND o.resource_class = $1'
        || CASE WHEN v_accel IS NOT NULL THEN ' AND o.accelerator = $2' ELSE '' END
        || CASE WHEN v_min_tflops > 0 THEN ' AND o.fp16_tflops_per_unit >= $3' ELSE '' END
        || CASE WHEN v_regions IS NOT NULL THEN ' AND o.region = ANY ($4)' ELSE '' END
        || CASE WHEN v_zone IS NOT NULL THEN ' AND o.zone = $5' ELSE '' END
        || CASE WHEN v_max_price IS NOT NULL THEN ' AND o.price_fen_per_unit_hour <= $6' ELSE '' END
        || CASE WHEN v_min_green > 0 THEN ' AND o.green_share >= $7' ELSE '' END
        || CASE WHEN v_max_pue < 3 THEN ' AND o.pue <= $8' ELSE '' END
        || ' AND o.available_from <= $10 - $11 AND o.available_until >= $9 + $11'
        || CASE WHEN v_split THEN '' ELSE ' AND o.units >= $12' END;
  v_sql := CASE v_sort
    -- by start: offers open at the earliest start (cheapest first), then the later ones
    WHEN 'earliest_start' THEN
      'SELECT o.* FROM ((SELECT * FROM offers o WHERE ' || v_where
      || ' AND o.available_from <= $9 ORDER BY o.price_fen_per_unit_hour, o.id LIMIT 200)'
      || ' UNION ALL (SELECT * FROM offers o WHERE ' || v_where
      || ' AND o.available_from > $9 ORDER BY o.available_from, o.price_fen_per_unit_hour, o.id LIMIT 200)) o'
      || ' ORDER BY greatest(o.available_from, $9), o.price_fen_per_unit_hour, o.id LIMIT 200'
    ELSE 'SELECT o.* FROM offers o WHERE ' || v_where || ' ORDER BY '
      || CASE v_sort WHEN 'tflops_per_fen' THEN 'o.tflops_per_fen DESC, o.id DESC'
                     WHEN 'green_share' THEN 'o.green_share DESC, o.id DESC'
                     ELSE 'o.price_fen_per_unit_hour, o.id' END
      || ' LIMIT 200' END;
  v_cap := CASE WHEN cardinality(v_vouchers) = 0 AND v_sort <> 'earliest_start' THEN v_limit
                ELSE least(200, v_limit * 4) END;
  FOR c IN EXECUTE v_sql USING v_class, v_accel, v_min_tflops, v_regions, v_zone, v_max_price,
                               v_min_green, v_max_pue, v_lo, v_hi, v_dur, v_units
  LOOP
    EXIT WHEN v_feasible >= v_cap AND (NOT v_split OR v_split_free >= v_units
                                       OR cardinality(v_cands) >= 50);
    -- the window must fit where the demand's and the offer's overlap (kept out of the query,
    -- where its selectivity would be guessed and push the plan off the sort key's index)
    CONTINUE WHEN greatest(c.available_from, v_lo) + v_dur > least(c.available_until, v_hi);
    v_considered := v_considered + 1;
    IF c.units >= v_units AND v_feasible < v_cap THEN
      v_single := match_earliest(c, greatest(c.available_from, v_lo),
                                 least(c.available_until, v_hi) - v_dur, v_dur, v_units);
      IF v_single.start_at IS NOT NULL THEN
        v_feasible := v_feasible + 1;
        v_plans := v_plans || jsonb_build_array(match_plan(jsonb_build_array(
                     match_leg(p_actor, c, v_units, v_single.start_at, v_dur, v_single.free,
                               v_vouchers)), false));
      END IF;
    END IF;
    -- split candidates: until their free units could cover the demand (or 50 of them)
    IF v_split AND v_split_free < v_units AND cardinality(v_cands) < 50 THEN
      v_any := match_earliest(c, greatest(c.available_from, v_lo),
                              least(c.available_until, v_hi) - v_dur, v_dur, 1);
      IF v_any.start_at IS NOT NULL THEN
        v_cands := v_cands || c;
        v_anys := v_anys || v_any.start_at;
        v_split_free := v_split_free + v_any.free;
      END IF;
    END IF;
  END LOOP;

  -- Split: the first common start (from the candidates' own earliest ones) at which offers in
  -- ranking order cover the demand together; a plan only if it needs two offers or more.
  IF v_split AND cardinality(v_cands) > 1 THEN
    FOR v_t IN SELECT DISTINCT t FROM unnest(v_anys) t ORDER BY t LIMIT 20 LOOP
      v_legs := '[]';
      v_left := v_units;
      FOREACH c IN ARRAY v_cands LOOP
        EXIT WHEN v_left = 0;
        CONTINUE WHEN v_t < c.available_from OR v_t + v_dur > c.available_until;
        v_free := c.units - offer_reserved_peak(c.id, v_t, v_t + v_dur);
        CONTINUE WHEN v_free < 1;
        v_take := least(v_free, v_left);
        v_legs := v_legs || jsonb_build_array(match_leg(p_actor, c, v_take, v_t, v_dur, v_free, v_vouchers));
        v_left := v_left - v_take;
      END LOOP;
      IF v_left = 0 THEN
        IF jsonb_array_length(v_legs) > 1 THEN
          v_plans := v_plans || jsonb_build_array(match_plan(v_legs, true));
        END IF;
        EXIT;
      END IF;
    END LOOP;
  END IF;

  IF jsonb_array_length(v_plans) = 0 THEN
    RETURN jsonb_build_object('items', '[]'::jsonb, 'excluded', (
      SELECT jsonb_build_object(
        'active_offers', count(*),
        'resource_class', count(*) FILTER (WHERE o.resource_class <> v_class),
        'accelerator', count(*) FILTER (WHERE o.accelerator <> v_accel),
        'min_tflops', count(*) FILTER (WHERE o.fp16_tflops_per_unit < v_min_tflops),
        'regions', count(*) FILTER (WHERE o.region <> ALL (v_regions)),
        'zone', count(*) FILTER (WHERE o.zone <> v_zone),
        'max_price_fen', count(*) FILTER (WHERE o.price_fen_per_unit_hour > v_max_price),
        'min_green_share', count(*) FILTER (WHERE o.green_share < v_min_green),
        'max_pue', count(*) FILTER (WHERE o.pue > v_max_pue),
        'window', count(*) FILTER (WHERE greatest(o.available_from, v_lo) + v_dur
                                           > least(o.available_until, v_hi)),
        'units', count(*) FILTER (WHERE NOT v_split AND o.units < v_units),
        'capacity', v_considered - v_feasible)
        FROM offers o WHERE o.status = 'active'));
  END IF;

  SELECT jsonb_agg(p ORDER BY n), count(*) INTO v_ranked, v_n FROM (
    SELECT p, row_number() OVER (ORDER BY
             CASE WHEN v_sort = 'tflops_per_fen' THEN coalesce((p->>'tflops_hours_per_fen')::numeric, 'Infinity') END DESC,
             CASE WHEN v_sort = 'green_share' THEN (p->>'green_share')::numeric END DESC,
             CASE WHEN v_sort = 'earliest_start' THEN p->>'start' END,
             (p->>'net_fen')::bigint, p->>'start', (p->>'split')::boolean) AS n
      FROM jsonb_array_elements(v_plans) p) ranked;
  RETURN jsonb_build_object('items', coalesce((
    SELECT jsonb_agg(p || jsonb_build_object('rank', n, 'reasons', jsonb_build_array(
             format('rank %s of %s by %s', n, v_n, v_label),
             format('net cost %s fen = gross %s fen - subsidy %s fen', p->>'net_fen',
                    p->>'gross_fen', p->>'subsidy_fen'),
             CASE WHEN (p->>'split')::boolean
                  THEN format('split over %s offers, taken in ranking order until the %s units were covered',
                              jsonb_array_length(p->'legs'), v_units)
                  ELSE format('one offer with %s of the %s units needed free from %s',
                              p->'legs'->0->>'free_units', v_units, p->>'start') END,
             format('green share %s, %s TFLOPS-hours per fen', p->>'green_share',
                    coalesce(p->>'tflops_hours_per_fen', 'unbounded (net cost 0)'))))
           ORDER BY n)
      FROM jsonb_array_elements(v_ranked) WITH ORDINALITY AS x(p, n)
     WHERE n <= v_limit), '[]'));
END $$;
