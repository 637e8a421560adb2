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
--   paid_orders, payout_latency_median_hours, payout_latency_max_hours  the delivered orders
--                           a paid payout batch has paid (for a programme in scope), and the
--                           hours from usage acceptance to the first such payment (2 decimals)
--   recoveries, recovered_fen  recoveries of a programme in scope made in the period, by
--                           the month they were made
-- Sums are taken before dividing, so rows and totals are exact to their rounding.
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
             f.pue * o.delivered_unit_hours AS energy, f.green_share, s.subsidy_fen,
             extract(epoch FROM pd.paid_at - o.usage_accepted_at) / 3600 AS latency_h
        FROM sub s
        JOIN orders o ON o.id = s.order_id
        JOIN offers f ON f.id = o.offer_id
        LEFT JOIN LATERAL (
          SELECT min(p.paid_at) AS paid_at
            FROM payout_items i
            JOIN payouts p ON p.id = i.payout_id
            JOIN scope sc ON sc.id = i.program_id
           WHERE i.order_id = o.id AND i.kind = 'order' AND p.state = 'paid') pd ON true
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
             coalesce(sum(d.subsidy_fen), 0) AS subsidy,
             count(d.latency_h) AS paid,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY d.latency_h) AS latency_median,
             max(d.latency_h) AS latency_max
        FROM d
       GROUP BY GROUPING SETS ((d.month), ())),
    rec AS (
      SELECT to_char(x.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, x.amount_fen
        FROM recoveries x JOIN scope s ON s.id = x.program_id
       WHERE (p_from IS NULL OR x.created_at >= p_from)
         AND (p_to IS NULL OR x.created_at < p_to)),
    rg AS (
      SELECT rec.month, grouping(rec.month) = 1 AS total, count(*) AS n,
             coalesce(sum(rec.amount_fen), 0) AS fen
        FROM rec GROUP BY GROUPING SETS ((rec.month), ())),
    -- every month with a delivery or a recovery, and the totals
    k AS (
      SELECT m.month, false AS total FROM (SELECT d.month FROM d UNION SELECT rec.month FROM rec) m
      UNION ALL SELECT NULL, true),
    r AS (
      SELECT k.month, k.total, jsonb_build_object(
               'orders', coalesce(g.orders, 0), 'institutes_served', coalesce(g.institutes, 0),
               'gpu_unit_hours', coalesce(g.gpu_uh, 0), 'npu_unit_hours', coalesce(g.npu_uh, 0),
               'cpu_unit_hours', coalesce(g.cpu_uh, 0),
               'pflop_days', round(coalesce(g.th, 0) / 24000, 6),
               'west_pflop_days', round(coalesce(g.west_th, 0) / 24000, 6),
               'west_share', CASE WHEN g.th > 0 THEN round(g.west_th / g.th, 4) END,
               'green_share', CASE WHEN g.energy > 0 THEN round(g.green_energy / g.energy, 4) END,
               'subsidy_fen', coalesce(g.subsidy, 0)::bigint,
               'subsidy_per_pflop_day_fen',
                 CASE WHEN g.th > 0 THEN round(g.subsidy * 24000 / g.th)::bigint END,
               'paid_orders', coalesce(g.paid, 0),
               'payout_latency_median_hours', round(g.latency_median::numeric, 2),
               'payout_latency_max_hours', round(g.latency_max, 2),
               'recoveries', coalesce(rg.n, 0), 'recovered_fen', coalesce(rg.fen, 0)::bigint) AS m
        FROM k
        LEFT JOIN g ON g.total = k.total AND g.month IS NOT DISTINCT FROM k.month
        LEFT JOIN rg ON rg.total = k.total AND rg.month IS NOT DISTINCT FROM k.month)
    SELECT jsonb_build_object(
      'program_id', p_program, 'from', ts(p_from), 'to', ts(p_to),
      'items', coalesce((SELECT jsonb_agg(jsonb_build_object('month', r.month) || r.m ORDER BY r.month)
                           FROM r WHERE NOT r.total), '[]'),
      'totals', (SELECT r.m FROM r WHERE r.total)));
END $$;
