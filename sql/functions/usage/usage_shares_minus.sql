-- The share-by-share difference of two co-funding splits of the same funders, in order
-- (p_from - p_less); NULL when p_from is NULL.
CREATE FUNCTION usage_shares_minus(p_from jsonb, p_less jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_from IS NULL THEN NULL ELSE
    (SELECT jsonb_agg(jsonb_build_object(
              'funder', a.x->>'funder',
              'amount_fen', (a.x->>'amount_fen')::bigint - (b.y->>'amount_fen')::bigint)
            ORDER BY a.n)
       FROM jsonb_array_elements(p_from) WITH ORDINALITY a(x, n)
       JOIN jsonb_array_elements(p_less) WITH ORDINALITY b(y, m) ON b.m = a.n) END
$$;
