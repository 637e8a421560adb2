-- The measures of a performance report row, in the order its CSV columns follow the month.
CREATE FUNCTION report_performance_columns() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY['orders', 'institutes_served', 'gpu_unit_hours', 'npu_unit_hours', 'cpu_unit_hours',
               'pflop_days', 'west_pflop_days', 'west_share', 'green_share', 'subsidy_fen',
               'subsidy_per_pflop_day_fen', 'paid_orders', 'payout_latency_median_hours',
               'payout_latency_max_hours', 'recoveries', 'recovered_fen']
$$;
