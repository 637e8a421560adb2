-- GET /v1/reports/anomalies: the flags over the actor's scope (or one programme of it; a
-- foreign or unknown programme answers NULL: 404), strongest first, at most p_limit.
-- Each flag: kind, severity, subject, programme (for the share flags), the figures that raised
-- it (measure, threshold), a detail sentence and the rule's explanation.
CREATE FUNCTION report_anomalies(p_actor jsonb, p_program uuid, p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_rules jsonb := report_anomaly_rules();
  v_now timestamptz := now();
BEGIN
  IF p_program IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM programs p WHERE p.id = p_program AND program_visible(p_actor, p)) THEN
    RETURN NULL;
  END IF;
  RETURN (
    WITH applied AS (
      SELECT r.program_id, r.institute_id, f.provider_id, r.amount_fen
        FROM redemptions r
        JOIN programs p ON p.id = r.program_id
        JOIN orders o ON o.id = r.order_id
        JOIN offers f ON f.id = o.offer_id
       WHERE r.status = 'applied' AND program_visible(p_actor, p)
         AND (p_program IS NULL OR r.program_id = p_program)),
    prog AS (SELECT program_id, sum(amount_fen) AS total FROM applied GROUP BY program_id),
    inst_share AS (
      SELECT 'institute_share' AS kind, 'organization' AS subject_type, a.institute_id AS subject_id,
             a.program_id, sum(a.amount_fen) AS part, g.total
        FROM applied a JOIN prog g USING (program_id)
       GROUP BY a.program_id, a.institute_id, g.total HAVING 2 * sum(a.amount_fen) > g.total),
    prov_share AS (
      SELECT 'provider_share' AS kind, 'organization' AS subject_type, a.provider_id AS subject_id,
             a.program_id, sum(a.amount_fen) AS part, g.total
        FROM applied a JOIN prog g USING (program_id)
       GROUP BY a.program_id, a.provider_id, g.total HAVING 2 * sum(a.amount_fen) > g.total),
    shares AS (
      SELECT s.*, floor(s.part * 10000 / s.total)::bigint AS share_bp FROM inst_share s
      UNION ALL
      SELECT s.*, floor(s.part * 10000 / s.total)::bigint FROM prov_share s),
    scoped AS (
      SELECT r.* FROM redemptions r
       WHERE report_city_visible(p_actor, r.city_id)
         AND (p_program IS NULL OR r.program_id = p_program)),
    cancels AS (
      SELECT r.institute_id, count(DISTINCT r.order_id) AS n, max(o.cancelled_at) AS last_at
        FROM scoped r JOIN orders o ON o.id = r.order_id
       WHERE o.status = 'cancelled' AND o.cancelled_at >= v_now - interval '30 days'
       GROUP BY r.institute_id HAVING count(DISTINCT r.order_id) >= 3),
    rates AS (
      SELECT r.institute_id,
             count(*) FILTER (WHERE r.created_at >= v_now - interval '1 hour') AS last_hour,
             count(*) FILTER (WHERE r.created_at < v_now - interval '1 hour') AS prior,
             max(r.created_at) AS last_at
        FROM scoped r
       WHERE r.created_at >= v_now - interval '30 days 1 hour'
       GROUP BY r.institute_id),
    recs AS (
      SELECT r.debtor_id, r.program_id, count(*) AS n, sum(r.amount_fen) AS amount,
             sum(r.debt_fen - r.netted_fen) AS open_debt, max(r.created_at) AS last_at
        FROM recoveries r
       WHERE report_city_visible(p_actor, r.city_id)
         AND (p_program IS NULL OR r.program_id = p_program)
         AND r.created_at >= v_now - interval '365 days'
       GROUP BY r.debtor_id, r.program_id),
    bursts AS (
      -- average per hour = before / 720; last_hour > 5 × average, in integers
      SELECT * FROM rates WHERE last_hour >= 10 AND last_hour * 720 > 5 * prior),
    flags AS (
      SELECT s.kind, CASE WHEN s.share_bp >= 8000 THEN 'high' ELSE 'medium' END AS severity,
             s.subject_type, s.subject_id, s.program_id, v_now AS at,
             jsonb_build_object('share_bp', s.share_bp, 'part_fen', s.part::bigint,
                                'program_total_fen', s.total::bigint) AS measure,
             jsonb_build_object('share_bp', 5000) AS threshold,
             format('%s of %s fen (%s.%s %%) of programme %s %s',
                    s.part, s.total, s.share_bp / 100, lpad((s.share_bp % 100)::text, 2, '0'),
                    pg.name, CASE s.kind WHEN 'institute_share' THEN 'was redeemed by ' || og.name
                                         ELSE 'went to orders on offers of ' || og.name END) AS detail,
             s.share_bp AS strength
        FROM shares s JOIN programs pg ON pg.id = s.program_id
        JOIN organizations og ON og.id = s.subject_id
      UNION ALL
      SELECT 'redeem_then_cancel', CASE WHEN c.n >= 10 THEN 'high' ELSE 'medium' END, 'organization',
             c.institute_id, p_program, c.last_at,
             jsonb_build_object('cancelled_orders', c.n), jsonb_build_object('cancelled_orders', 3),
             format('%s cancelled %s orders with voucher redemptions in the last 30 days', og.name, c.n),
             c.n * 1000
        FROM cancels c JOIN organizations og ON og.id = c.institute_id
      UNION ALL
      SELECT 'burst', 'high', 'organization', b.institute_id, p_program, b.last_at,
             jsonb_build_object('last_hour', b.last_hour, 'previous_30_days', b.prior),
             jsonb_build_object('last_hour_min', 10, 'times_hourly_average', 5),
             format('%s made %s redemptions in the last hour; %s in the 30 days before (%s per hour on average)',
                    og.name, b.last_hour, b.prior, round(b.prior::numeric / 720, 2)),
             b.last_hour * 1000
        FROM bursts b JOIN organizations og ON og.id = b.institute_id
      UNION ALL
      SELECT 'recovery', CASE WHEN c.open_debt > 0 THEN 'high' ELSE 'medium' END, 'organization',
             c.debtor_id, c.program_id, c.last_at,
             jsonb_build_object('recoveries', c.n, 'recovered_fen', c.amount::bigint,
                                'open_debt_fen', c.open_debt::bigint),
             jsonb_build_object('recoveries', 1),
             format('%s fen of subsidy of programme %s recovered from %s in %s recoveries over the last 365 days; %s fen still owed',
                    c.amount, pg.name, og.name, c.n, c.open_debt),
             c.n * 1000
        FROM recs c JOIN organizations og ON og.id = c.debtor_id
        JOIN programs pg ON pg.id = c.program_id)
    SELECT jsonb_build_object(
      'items', coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                 'kind', x.kind, 'severity', x.severity, 'subject_type', x.subject_type,
                 'subject_id', x.subject_id, 'subject_name', og.name, 'program_id', x.program_id,
                 'at', ts(x.at), 'measure', x.measure, 'threshold', x.threshold,
                 'detail', x.detail, 'explanation', v_rules->>x.kind)
                 ORDER BY x.ord)
          FROM (SELECT f.*, row_number() OVER (ORDER BY f.severity = 'high' DESC, f.strength DESC,
                                                      f.kind, f.subject_id) AS ord
                  FROM flags f) x
          JOIN organizations og ON og.id = x.subject_id
         WHERE x.ord <= p_limit), '[]'),
      'rules', v_rules,
      'generated_at', ts(v_now)));
END $$;
