-- The co-funding split of p_amount under a programme's funders ([{funder, share_bp}]):
-- [{funder, amount_fen}], each share rounded down and the remainder to the first funder, so
-- that the shares sum to p_amount exactly. NULL when the programme has no split.
--
-- PL/pgSQL, not SQL: it cannot be inlined (its query has a WITH), and a SQL
-- function that is not inlined is parsed, analysed and planned again in every statement that
-- calls it; PL/pgSQL prepares its query once per connection (README, Measurements).
CREATE FUNCTION program_funder_shares(p_funders jsonb, p_amount bigint)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF jsonb_array_length(coalesce(p_funders, '[]')) = 0 THEN
    RETURN NULL;
  END IF;
  RETURN (WITH s AS (
    SELECT n, f->>'funder' AS funder,
           floor(p_amount::numeric * (f->>'share_bp')::integer / 10000)::bigint AS amount
      FROM jsonb_array_elements(p_funders) WITH ORDINALITY t(f, n))
    SELECT jsonb_agg(jsonb_build_object(
             'funder', funder,
             'amount_fen', amount + CASE WHEN n = 1 THEN p_amount - (SELECT sum(amount) FROM s) ELSE 0 END)
           ORDER BY n) FROM s);
END $$;
