-- The query behind GET /v1/offers for the filters present in p_f (see offer_search), assembled
-- from fixed fragments with every value a parameter ($1..$17 as offer_search binds them), so
-- that each search is planned for exactly its filters and walks the index of its sort key.
-- Separate so that tests and the benchmark can EXPLAIN what a search runs.
CREATE FUNCTION offer_search_sql(p_actor jsonb, p_f jsonb, p_sort text, p_paged boolean)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v_where text := 'o.status = $13';
  v_window boolean := p_f ? 'available_from';
  v_col text;
  v_cast text;
  v_desc boolean := false;
BEGIN
  IF p_f ? 'resource_class' THEN v_where := v_where || ' AND o.resource_class = $1'; END IF;
  IF p_f ? 'accelerator' THEN v_where := v_where || ' AND o.accelerator = $2'; END IF;
  IF p_f ? 'region' THEN v_where := v_where || ' AND o.region = ANY ($3)'; END IF;
  IF p_f ? 'zone' THEN v_where := v_where || ' AND o.zone = $4'; END IF;
  IF p_f ? 'min_units' AND NOT v_window THEN v_where := v_where || ' AND o.units >= $5'; END IF;
  IF p_f ? 'min_tflops' THEN v_where := v_where || ' AND o.fp16_tflops_per_unit >= $6'; END IF;
  IF p_f ? 'max_price_fen' THEN v_where := v_where || ' AND o.price_fen_per_unit_hour <= $7'; END IF;
  IF p_f ? 'min_green_share' THEN v_where := v_where || ' AND o.green_share >= $8'; END IF;
  IF p_f ? 'max_pue' THEN v_where := v_where || ' AND o.pue <= $9'; END IF;
  IF v_window THEN
    v_where := v_where || ' AND o.available_from <= $10 AND o.available_until >= $11'
                       || ' AND f.free_units >= coalesce($5, 1)';
  END IF;
  IF p_f ? 'provider_id' THEN v_where := v_where || ' AND o.provider_id = $12'; END IF;
  IF coalesce(p_f->>'status', 'active') <> 'active' AND p_actor->>'role' <> 'operator' THEN
    v_where := v_where || ' AND o.provider_id = $17';
  END IF;

  CASE p_sort
    WHEN 'price' THEN v_col := 'o.price_fen_per_unit_hour'; v_cast := 'bigint';
    WHEN '-price' THEN v_col := 'o.price_fen_per_unit_hour'; v_cast := 'bigint'; v_desc := true;
    WHEN 'tflops_per_fen' THEN v_col := 'o.tflops_per_fen'; v_cast := 'numeric'; v_desc := true;
    WHEN 'green_share' THEN v_col := 'o.green_share'; v_cast := 'numeric'; v_desc := true;
    WHEN 'created_at' THEN v_col := 'o.created_at'; v_desc := true;
    ELSE v_col := NULL;
  END CASE;
  IF p_paged THEN
    IF v_col IS NULL THEN
      v_where := v_where || ' AND o.id > $15';
    ELSIF p_sort = 'created_at' THEN
      -- the cursor holds microseconds since the epoch, exact where text would not be
      v_where := v_where || ' AND (o.created_at, o.id) < (timestamptz ''epoch'' + $14::bigint * interval ''1 microsecond'', $15)';
    ELSE
      v_where := v_where || format(' AND (%s, o.id) %s ($14::%s, $15)', v_col,
                                   CASE WHEN v_desc THEN '<' ELSE '>' END, v_cast);
    END IF;
  END IF;

  RETURN 'SELECT offer_json(o)'
      || CASE WHEN v_window THEN ' || jsonb_build_object(''free_units'', f.free_units)' ELSE '' END
      || ' AS item, '
      || CASE WHEN p_sort = 'created_at' THEN '(extract(epoch FROM o.created_at) * 1000000)::bigint::text'
              WHEN v_col IS NULL THEN 'NULL::text'
              ELSE v_col || '::text' END
      || ' AS value, o.id FROM offers o'
      || CASE WHEN v_window
              THEN ' CROSS JOIN LATERAL (SELECT o.units - offer_reserved_peak(o.id, $10, $11) AS free_units) f'
              ELSE '' END
      || ' WHERE ' || v_where
      || ' ORDER BY ' || CASE WHEN v_col IS NULL THEN 'o.id'
                              WHEN v_desc THEN v_col || ' DESC, o.id DESC'
                              ELSE v_col || ', o.id' END
      || ' LIMIT $16 + 1';
END $$;
