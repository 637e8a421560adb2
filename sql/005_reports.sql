-- 005 — reports for the city's subsidy office and its auditors: subsidies grouped by
-- programme, institute, provider, region, zone and month over a time range, derived from the
-- ledger alone; and anomaly flags, each with the rule that raised it.
--
-- Scope: city administrators and auditors see their city's programmes; the operator and an
-- auditor without a city see all (program_visible, 003). Nothing here changes state, so no
-- audit event is written.

-- ==== subsidy report =======================================================================
-- Every money movement of a visible programme in [p_from, p_to) that the report counts, one row
-- per voucher touched, from the ledger: issue (budget -> voucher; a batch entry has one voucher
-- posting per voucher), redeem (voucher -> order subsidy), reverse (order subsidy -> voucher,
-- or -> budget when the voucher had expired or was revoked: then it is also released) and
-- release (voucher -> budget). Fund and settle entries move no voucher money and are left out.
CREATE FUNCTION report_movements(p_actor jsonb, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (at timestamptz, kind text, program_id uuid, institute_id uuid, order_id uuid,
               amount_fen bigint, to_program boolean)
LANGUAGE sql STABLE AS $$
  SELECT e.at, e.kind, e.program_id, v.institute_id, e.order_id, x.amount_fen, x.to_program
    FROM ledger_entries e
    JOIN programs p ON p.id = e.program_id
    CROSS JOIN LATERAL (
      SELECT lp.account_id AS voucher_id, lp.amount_fen, false AS to_program
        FROM ledger_postings lp
       WHERE e.kind = 'issue' AND lp.entry_id = e.id AND lp.account_kind = 'voucher'
      UNION ALL
      SELECT e.voucher_id, lp.amount_fen, lp.account_kind = 'program_budget'
        FROM ledger_postings lp
       WHERE e.kind IN ('redeem', 'reverse', 'release') AND lp.entry_id = e.id AND lp.amount_fen > 0
    ) x
    JOIN vouchers v ON v.id = x.voucher_id
   WHERE e.kind IN ('issue', 'redeem', 'reverse', 'release')
     AND program_visible(p_actor, p)
     AND (p_from IS NULL OR e.at >= p_from)
     AND (p_to IS NULL OR e.at < p_to)
$$;

-- GET /v1/reports/subsidies. p_group_by is a subset of program, institute, provider, region,
-- zone, month (the handler has checked it); an empty array gives one row for everything.
-- Per row: vouchers issued (fen and count), redeemed, reversed and released fen (released
-- counts expiry, revocation and reversals returned to the budget, as programs.released_fen
-- does), and the subsidised orders: those with a redemption in the range and not cancelled,
-- their gross, the subsidy (redeemed - reversed) and net = gross - subsidy. Issuance and release
-- concern no order, so their provider, region and zone are null. An order subsidised by two
-- programmes (or institutes, months…) counts in each of their rows; totals count it once.
-- Months are calendar months in UTC ("2026-11").
CREATE FUNCTION report_subsidies(p_actor jsonb, p_group_by text[], p_from timestamptz,
                                 p_to timestamptz)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  g_program boolean := 'program' = ANY (p_group_by);
  g_institute boolean := 'institute' = ANY (p_group_by);
  g_provider boolean := 'provider' = ANY (p_group_by);
  g_region boolean := 'region' = ANY (p_group_by);
  g_zone boolean := 'zone' = ANY (p_group_by);
  g_month boolean := 'month' = ANY (p_group_by);
BEGIN
  IF NOT coalesce(p_group_by, '{}') <@ ARRAY['program', 'institute', 'provider', 'region', 'zone', 'month'] THEN
    PERFORM problem('invalid-query', 'group_by: must be a list of program, institute, provider, region, zone, month');
  END IF;
  IF p_from IS NOT NULL AND p_to IS NOT NULL AND p_to <= p_from THEN
    PERFORM problem('invalid-query', 'to: must be after from');
  END IF;
  RETURN (
    WITH k AS MATERIALIZED (
      SELECT CASE WHEN g_program THEN m.program_id END AS program_id,
             CASE WHEN g_institute THEN m.institute_id END AS institute_id,
             CASE WHEN g_provider THEN f.provider_id END AS provider_id,
             CASE WHEN g_region THEN f.region END AS region,
             CASE WHEN g_zone THEN f.zone END AS zone,
             CASE WHEN g_month THEN to_char(m.at AT TIME ZONE 'UTC', 'YYYY-MM') END AS month,
             m.kind, m.amount_fen, m.to_program, m.order_id, o.gross_fen,
             m.kind = 'redeem' AND o.status <> 'cancelled' AS subsidised
        FROM report_movements(p_actor, p_from, p_to) m
        LEFT JOIN orders o ON o.id = m.order_id
        LEFT JOIN offers f ON f.id = o.offer_id),
    -- each subsidised order once per row, and once in the totals
    w AS (
      SELECT k.*,
             subsidised AND row_number() OVER (
               PARTITION BY program_id, institute_id, provider_id, region, zone, month, order_id, subsidised
               ORDER BY order_id) = 1 AS first_in_row,
             subsidised AND row_number() OVER (PARTITION BY order_id, subsidised ORDER BY order_id) = 1
               AS first_in_all
        FROM k),
    grp AS (
      SELECT program_id, institute_id, provider_id, region, zone, month,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'issue'), 0) AS issued_fen,
             count(*) FILTER (WHERE kind = 'issue') AS issued_count,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'redeem'), 0) AS redeemed_fen,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'reverse'), 0) AS reversed_fen,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'release' OR (kind = 'reverse' AND to_program)), 0)
               AS released_fen,
             count(*) FILTER (WHERE first_in_row) AS orders,
             coalesce(sum(gross_fen) FILTER (WHERE first_in_row), 0) AS gross_fen
        FROM w GROUP BY program_id, institute_id, provider_id, region, zone, month),
    tot AS (
      SELECT coalesce(sum(amount_fen) FILTER (WHERE kind = 'issue'), 0) AS issued_fen,
             count(*) FILTER (WHERE kind = 'issue') AS issued_count,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'redeem'), 0) AS redeemed_fen,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'reverse'), 0) AS reversed_fen,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'release' OR (kind = 'reverse' AND to_program)), 0)
               AS released_fen,
             count(*) FILTER (WHERE first_in_all) AS orders,
             coalesce(sum(gross_fen) FILTER (WHERE first_in_all), 0) AS gross_fen
        FROM w)
    SELECT jsonb_build_object(
      'group_by', to_jsonb(coalesce(p_group_by, '{}')),
      'from', ts(p_from), 'to', ts(p_to),
      'items', coalesce((
        SELECT jsonb_agg(
                 CASE WHEN g_program THEN jsonb_build_object('program_id', r.program_id, 'program_name', pg.name) ELSE '{}' END
                 || CASE WHEN g_institute THEN jsonb_build_object('institute_id', r.institute_id, 'institute_name', io.name) ELSE '{}' END
                 || CASE WHEN g_provider THEN jsonb_build_object('provider_id', r.provider_id, 'provider_name', po.name) ELSE '{}' END
                 || CASE WHEN g_region THEN jsonb_build_object('region', r.region) ELSE '{}' END
                 || CASE WHEN g_zone THEN jsonb_build_object('zone', r.zone) ELSE '{}' END
                 || CASE WHEN g_month THEN jsonb_build_object('month', r.month) ELSE '{}' END
                 || report_amounts(r.issued_fen, r.issued_count, r.redeemed_fen, r.reversed_fen,
                                   r.released_fen, r.orders, r.gross_fen)
                 ORDER BY r.month, pg.name, io.name, po.name, r.zone, r.region,
                          r.program_id, r.institute_id, r.provider_id)
          FROM grp r
          LEFT JOIN programs pg ON pg.id = r.program_id
          LEFT JOIN organizations io ON io.id = r.institute_id
          LEFT JOIN organizations po ON po.id = r.provider_id), '[]'),
      'totals', (SELECT report_amounts(t.issued_fen, t.issued_count, t.redeemed_fen, t.reversed_fen,
                                       t.released_fen, t.orders, t.gross_fen) FROM tot t)));
END $$;

-- The measures of one report row in the API's shape.
CREATE FUNCTION report_amounts(p_issued numeric, p_issued_count bigint, p_redeemed numeric,
                               p_reversed numeric, p_released numeric, p_orders bigint,
                               p_gross numeric)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'vouchers_issued_fen', p_issued::bigint, 'vouchers_issued_count', p_issued_count,
    'redeemed_fen', p_redeemed::bigint, 'reversed_fen', p_reversed::bigint,
    'released_fen', p_released::bigint, 'orders', p_orders, 'gross_fen', p_gross::bigint,
    'subsidy_fen', (p_redeemed - p_reversed)::bigint,
    'net_fen', (p_gross - (p_redeemed - p_reversed))::bigint)
$$;

-- ==== anomaly flags ========================================================================
-- What each flag means, as the response explains it.
CREATE FUNCTION report_anomaly_rules() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'institute_share', 'One institute holds more than 50 % of a programme''s redeemed subsidy '
                       '(applied redemptions, net of reversals): the programme may be captured by one beneficiary.',
    'provider_share', 'One provider receives more than 50 % of a programme''s subsidy (applied '
                      'redemptions on orders of its offers): subsidy may be steered to one supplier.',
    'redeem_then_cancel', 'An institute cancelled 3 or more orders that had voucher redemptions in '
                          'the last 30 days: redeeming and cancelling again and again can hide '
                          'budget parking or probing of the rules.',
    'burst', 'An institute made 10 or more redemptions in the last hour, more than 5 times its hourly '
             'average over the 30 days before: an unusual burst (a script, a leaked account, a rush '
             'before expiry).')
$$;

-- Whether a city's data is in the actor's scope (for flags about institutes).
CREATE FUNCTION report_city_visible(p_actor jsonb, p_city uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE p_actor->>'role'
    WHEN 'operator' THEN true
    WHEN 'city_admin' THEN p_city = actor_city(p_actor)
    WHEN 'auditor' THEN actor_city(p_actor) IS NULL OR p_city = actor_city(p_actor)
    ELSE false
  END
$$;

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
        FROM bursts b JOIN organizations og ON og.id = b.institute_id)
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
