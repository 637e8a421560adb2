-- GET /v1/offers. p_f holds the validated filters as text (absent = not filtered):
-- resource_class, accelerator, region (array), zone, min_units, min_tflops, max_price_fen,
-- min_green_share, max_pue, available_from + available_until (then min_units, default 1,
-- applies to the units still free in that window), provider_id, status (default active; any
-- other status lists only the caller's own offers, or all for the operator). p_sort is NULL
-- (by id), price, -price, tflops_per_fen, green_share or created_at; p_after/p_after_id come
-- from the cursor of the previous page.
CREATE FUNCTION offer_search(p_actor jsonb, p_f jsonb, p_sort text, p_after text,
                             p_after_id uuid, p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_items jsonb[] := '{}';
  v_n integer := 0;
  v_next text;
  v_row record;
BEGIN
  FOR v_row IN EXECUTE offer_search_sql(p_actor, p_f, p_sort, p_after_id IS NOT NULL)
    USING p_f->>'resource_class', p_f->>'accelerator',
          CASE WHEN p_f ? 'region' THEN ARRAY(SELECT jsonb_array_elements_text(p_f->'region')) END,
          p_f->>'zone', (p_f->>'min_units')::integer, (p_f->>'min_tflops')::numeric,
          (p_f->>'max_price_fen')::bigint, (p_f->>'min_green_share')::numeric,
          (p_f->>'max_pue')::numeric, (p_f->>'available_from')::timestamptz,
          (p_f->>'available_until')::timestamptz, (p_f->>'provider_id')::uuid,
          coalesce(p_f->>'status', 'active'), p_after, p_after_id, p_limit,
          (p_actor->>'org_id')::uuid
  LOOP
    v_n := v_n + 1;
    EXIT WHEN v_n > p_limit;
    v_items := v_items || v_row.item;
    IF v_n = p_limit THEN
      v_next := offer_cursor(coalesce(p_sort, 'id'), v_row.value, v_row.id);
    END IF;
  END LOOP;
  RETURN jsonb_build_object('items', to_jsonb(v_items),
                            'next_cursor', CASE WHEN v_n > p_limit THEN v_next END);
END $$;
