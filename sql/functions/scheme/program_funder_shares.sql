-- The co-funding split of p_amount under a programme's funders ([{funder, share_bp}]):
-- [{funder, amount_fen}], each share rounded down and the remainder to the first funder, so
-- that the shares sum to p_amount exactly. NULL when the programme has no split.
CREATE FUNCTION program_funder_shares(p_funders jsonb, p_amount bigint)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  WITH s AS (
    SELECT n, f->>'funder' AS funder,
           floor(p_amount::numeric * (f->>'share_bp')::integer / 10000)::bigint AS amount
      FROM jsonb_array_elements(p_funders) WITH ORDINALITY t(f, n))
  SELECT CASE WHEN jsonb_array_length(coalesce(p_funders, '[]')) = 0 THEN NULL ELSE
    (SELECT jsonb_agg(jsonb_build_object(
              'funder', funder,
              'amount_fen', amount + CASE WHEN n = 1 THEN p_amount - (SELECT sum(amount) FROM s) ELSE 0 END)
            ORDER BY n) FROM s) END
$$;
