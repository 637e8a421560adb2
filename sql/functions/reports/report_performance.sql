-- GET /v1/reports/performance: what the subsidy bought (绩效), over the programmes the actor
-- sees (or one of them: a foreign or unknown programme answers NULL, 404), by calendar month
-- (UTC) of usage acceptance in [p_from, p_to), and in total.
-- Only delivered compute counts: an order is in the report when a programme in scope has an
-- applied redemption on it and its usage is accepted (orders.usage_state = 'accepted', by the
-- institute or by silence); its delivered unit-hours are those accepted, its subsidy the sum
-- of those redemptions after re-billing. Per row:
--   gpu/npu/cpu_unit_hours  Σ delivered unit-hours by the offer's resource class
--   pflop_days              Σ unit-hours × fp16_tflops_per_unit / 1000 / 24 (6 decimals)
--   west_pflop_days         the same over offers in the western hubs (zone west)
--   west_share              west_pflop_days / pflop_days (4 decimals; null without compute)
--   green_share             Σ (pue × unit-hours × green_share) / Σ (pue × unit-hours): the
--                           renewable share weighted by each order's energy, taken as PUE ×
--                           unit-hours (4 decimals; null without delivery)
--   subsidy_fen             Σ subsidy of the delivered orders
--   subsidy_per_pflop_day_fen  subsidy_fen / pflop_days, rounded to the fen (null without compute)
--   institutes_served       distinct institutes of the delivered orders
-- Sums are taken before dividing, so rows and totals are exact to their rounding. Payout
-- latency and recoveries are listed in "unavailable" until payouts are recorded.
CREATE FUNCTION report_performance(p_actor jsonb, p_program uuid, p_from timestamptz,
                                   p_to timestamptz)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_from IS NOT NULL AND p_to IS NOT NULL AND p_to <= p_from THEN
    PERFORM problem_at('invalid-query', 'to', 'must be after from');
  END IF;
  IF p_program IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM programs p WHERE p.id = p_program AND program_visible(p_actor, p)) THEN
    RETURN NULL;
  END IF;
  RETURN (
    WITH scope AS (
      SELECT p.id FROM programs p
       WHERE program_visible(p_actor, p) AND (p_program IS NULL OR p.id = p_program)),
    sub AS (
      SELECT r.order_id, sum(r.amount_fen) AS subsidy_fen
        FROM redemptions r JOIN scope s ON s.id = r.program_id
       WHERE r.status = 'applied'
       GROUP BY r.order_id),
    d AS (
      SELECT o.id, o.institute_id,
             to_char(o.usage_accepted_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
             f.resource_class, o.delivered_unit_hours AS uh,
             o.delivered_unit_hours * f.fp16_tflops_per_unit AS tflop_hours,
             f.zone = 'west' AS west,
             f.pue * o.delivered_unit_hours AS energy, f.green_share, s.subsidy_fen
        FROM sub s
        JOIN orders o ON o.id = s.order_id
        JOIN offers f ON f.id = o.offer_id
       WHERE o.usage_state = 'accepted'
         AND (p_from IS NULL OR o.usage_accepted_at >= p_from)
         AND (p_to IS NULL OR o.usage_accepted_at < p_to)),
    g AS (
      SELECT d.month, grouping(d.month) = 1 AS total,
             count(*) AS orders, count(DISTINCT d.institute_id) AS institutes,
             coalesce(sum(d.uh) FILTER (WHERE d.resource_class = 'gpu'), 0) AS gpu_uh,
             coalesce(sum(d.uh) FILTER (WHERE d.resource_class = 'npu'), 0) AS npu_uh,
             coalesce(sum(d.uh) FILTER (WHERE d.resource_class = 'cpu'), 0) AS cpu_uh,
             coalesce(sum(d.tflop_hours), 0) AS th,
             coalesce(sum(d.tflop_hours) FILTER (WHERE d.west), 0) AS west_th,
             coalesce(sum(d.energy), 0) AS energy,
             coalesce(sum(d.energy * d.green_share), 0) AS green_energy,
             coalesce(sum(d.subsidy_fen), 0) AS subsidy
        FROM d
       GROUP BY GROUPING SETS ((d.month), ())),
    r AS (
      SELECT g.month, g.total, jsonb_build_object(
               'orders', g.orders, 'institutes_served', g.institutes,
               'gpu_unit_hours', g.gpu_uh, 'npu_unit_hours', g.npu_uh, 'cpu_unit_hours', g.cpu_uh,
               'pflop_days', round(g.th / 24000, 6), 'west_pflop_days', round(g.west_th / 24000, 6),
               'west_share', CASE WHEN g.th > 0 THEN round(g.west_th / g.th, 4) END,
               'green_share', CASE WHEN g.energy > 0 THEN round(g.green_energy / g.energy, 4) END,
               'subsidy_fen', g.subsidy::bigint,
               'subsidy_per_pflop_day_fen',
                 CASE WHEN g.th > 0 THEN round(g.subsidy * 24000 / g.th)::bigint END,
               'paid_orders', NULL, 'payout_latency_median_hours', NULL,
               'payout_latency_max_hours', NULL, 'recoveries', NULL, 'recovered_fen', NULL) AS m
        FROM g)
    SELECT jsonb_build_object(
      'program_id', p_program, 'from', ts(p_from), 'to', ts(p_to),
      'items', coalesce((SELECT jsonb_agg(jsonb_build_object('month', r.month) || r.m ORDER BY r.month)
                           FROM r WHERE NOT r.total), '[]'),
      'totals', (SELECT r.m FROM r WHERE r.total),
      'unavailable', jsonb_build_object(
        'payout_latency', 'payout batches are not recorded by this version: paid_orders and '
                          'payout_latency_*_hours are null',
        'recoveries', 'recoveries are not recorded by this version: recoveries and recovered_fen are null')));
END $$;
