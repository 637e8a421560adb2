-- The measures of one report row in the API's shape.
CREATE FUNCTION report_amounts(p_issued numeric, p_issued_count bigint, p_redeemed numeric,
                               p_reversed numeric, p_released numeric, p_orders bigint,
                               p_gross numeric, p_recovered numeric)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'vouchers_issued_fen', p_issued::bigint, 'vouchers_issued_count', p_issued_count,
    'redeemed_fen', p_redeemed::bigint, 'reversed_fen', p_reversed::bigint,
    'released_fen', p_released::bigint, 'orders', p_orders, 'gross_fen', p_gross::bigint,
    'subsidy_fen', (p_redeemed - p_reversed)::bigint,
    'net_fen', (p_gross - (p_redeemed - p_reversed))::bigint,
    'recovered_fen', p_recovered::bigint)
$$;
