-- A redemption's co-funding split p_shares ([{funder, amount_fen}]) scaled down to p_amount
-- (at most their sum): each share in proportion, rounded down, and the few fen left over
-- given one by one, in order, to the shares that still have room, so that no share grows.
-- NULL when p_shares is NULL.
CREATE FUNCTION usage_scale_shares(p_shares jsonb, p_amount bigint) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v_total bigint;
  v_old bigint[];
  v_new bigint[];
  v_funders text[];
  v_left bigint;
  v_out jsonb := '[]';
  i integer;
BEGIN
  IF p_shares IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT array_agg(x->>'funder' ORDER BY n), array_agg((x->>'amount_fen')::bigint ORDER BY n)
    INTO v_funders, v_old
    FROM jsonb_array_elements(p_shares) WITH ORDINALITY t(x, n);
  v_total := (SELECT sum(a) FROM unnest(v_old) a);
  p_amount := least(p_amount, v_total);
  v_new := v_old;
  FOR i IN 1 .. cardinality(v_old) LOOP
    v_new[i] := CASE WHEN v_total = 0 THEN 0
                     ELSE floor(v_old[i]::numeric * p_amount / v_total)::bigint END;
  END LOOP;
  v_left := p_amount - (SELECT sum(a) FROM unnest(v_new) a);
  WHILE v_left > 0 LOOP
    FOR i IN 1 .. cardinality(v_old) LOOP
      IF v_left > 0 AND v_new[i] < v_old[i] THEN
        v_new[i] := v_new[i] + 1;
        v_left := v_left - 1;
      END IF;
    END LOOP;
  END LOOP;
  FOR i IN 1 .. cardinality(v_old) LOOP
    v_out := v_out || jsonb_build_object('funder', v_funders[i], 'amount_fen', v_new[i]);
  END LOOP;
  RETURN v_out;
END $$;
