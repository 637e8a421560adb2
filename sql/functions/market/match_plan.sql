-- A plan from its legs, with the totals every ranking reads.
CREATE FUNCTION match_plan(p_legs jsonb, p_split boolean) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'legs', p_legs, 'split', p_split,
    'units', sum((l->>'units')::integer),
    'start', min(l->>'start'), 'end', max(l->>'end'),
    'gross_fen', sum((l->>'gross_fen')::bigint),
    'subsidy_fen', sum((l->>'subsidy_fen')::bigint),
    'net_fen', sum((l->>'net_fen')::bigint),
    'green_share', round(sum((l->>'units')::numeric * (l->>'green_share')::numeric)
                         / sum((l->>'units')::numeric), 4),
    'tflops_hours_per_fen',
      CASE WHEN sum((l->>'net_fen')::bigint) > 0
           THEN round(sum((l->>'units')::numeric * (l->>'fp16_tflops_per_unit')::numeric
                          * (l->>'hours')::numeric) / sum((l->>'net_fen')::bigint), 6) END)
    FROM jsonb_array_elements(p_legs) l
$$;
