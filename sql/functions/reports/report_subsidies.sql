-- GET /v1/reports/subsidies. p_group_by is a subset of program, institute, provider, region,
-- zone, month, funder (the co-funder's share of redemptions and reversals; issuance and
-- release are not split, their funder is null) (the handler has checked it); an empty array gives one row for everything.
-- Per row: vouchers issued (fen and count), redeemed, reversed and released fen (released
-- counts expiry, revocation and reversals returned to the budget, as programs.released_fen
-- does), and the subsidised orders: those with a redemption in the range and not cancelled,
-- their gross, the subsidy (redeemed - reversed) and net = gross - subsidy. Issuance and release
-- concern no order, so their provider, region and zone are null. An order subsidised by two
-- programmes (or institutes, months…) counts in each of their rows; totals count it once.
-- recovered_fen: subsidy recovered (追回, issue 14) from payees in the range, by the order's
-- institute, provider, region and zone. Months are calendar months in UTC ("2026-11").
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
  g_funder boolean := 'funder' = ANY (p_group_by);
BEGIN
  IF NOT coalesce(p_group_by, '{}') <@ ARRAY['program', 'institute', 'provider', 'region', 'zone', 'month', 'funder'] THEN
    PERFORM problem_at('invalid-query', 'group_by', 'must be a list of program, institute, provider, region, zone, month, funder');
  END IF;
  IF p_from IS NOT NULL AND p_to IS NOT NULL AND p_to <= p_from THEN
    PERFORM problem_at('invalid-query', 'to', 'must be after from');
  END IF;
  RETURN (
    WITH k AS MATERIALIZED (
      SELECT CASE WHEN g_program THEN m.program_id END AS program_id,
             CASE WHEN g_institute THEN m.institute_id END AS institute_id,
             CASE WHEN g_provider THEN f.provider_id END AS provider_id,
             CASE WHEN g_region THEN f.region END AS region,
             CASE WHEN g_zone THEN f.zone END AS zone,
             CASE WHEN g_month THEN to_char(m.at AT TIME ZONE 'UTC', 'YYYY-MM') END AS month,
             CASE WHEN g_funder THEN m.funder END AS funder,
             m.kind, m.amount_fen, m.to_program, m.order_id, o.gross_fen,
             m.kind = 'redeem' AND o.status <> 'cancelled' AS subsidised
        FROM report_movements(p_actor, p_from, p_to) m
        LEFT JOIN orders o ON o.id = m.order_id
        LEFT JOIN offers f ON f.id = o.offer_id),
    -- each subsidised order once per row, and once in the totals
    w AS (
      SELECT k.*,
             subsidised AND row_number() OVER (
               PARTITION BY program_id, institute_id, provider_id, region, zone, month, funder, order_id, subsidised
               ORDER BY order_id) = 1 AS first_in_row,
             subsidised AND row_number() OVER (PARTITION BY order_id, subsidised ORDER BY order_id) = 1
               AS first_in_all
        FROM k),
    grp AS (
      SELECT program_id, institute_id, provider_id, region, zone, month, funder,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'issue'), 0) AS issued_fen,
             count(*) FILTER (WHERE kind = 'issue') AS issued_count,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'redeem'), 0) AS redeemed_fen,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'reverse'), 0) AS reversed_fen,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'release' OR (kind = 'reverse' AND to_program)), 0)
               AS released_fen,
             count(*) FILTER (WHERE first_in_row) AS orders,
             coalesce(sum(gross_fen) FILTER (WHERE first_in_row), 0) AS gross_fen,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'recover'), 0) AS recovered_fen
        FROM w GROUP BY program_id, institute_id, provider_id, region, zone, month, funder),
    tot AS (
      SELECT coalesce(sum(amount_fen) FILTER (WHERE kind = 'issue'), 0) AS issued_fen,
             count(*) FILTER (WHERE kind = 'issue') AS issued_count,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'redeem'), 0) AS redeemed_fen,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'reverse'), 0) AS reversed_fen,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'release' OR (kind = 'reverse' AND to_program)), 0)
               AS released_fen,
             count(*) FILTER (WHERE first_in_all) AS orders,
             coalesce(sum(gross_fen) FILTER (WHERE first_in_all), 0) AS gross_fen,
             coalesce(sum(amount_fen) FILTER (WHERE kind = 'recover'), 0) AS recovered_fen
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
                 || CASE WHEN g_funder THEN jsonb_build_object('funder', r.funder) ELSE '{}' END
                 || report_amounts(r.issued_fen, r.issued_count, r.redeemed_fen, r.reversed_fen,
                                   r.released_fen, r.orders, r.gross_fen, r.recovered_fen)
                 ORDER BY r.month, r.funder, pg.name, io.name, po.name, r.zone, r.region,
                          r.program_id, r.institute_id, r.provider_id)
          FROM grp r
          LEFT JOIN programs pg ON pg.id = r.program_id
          LEFT JOIN organizations io ON io.id = r.institute_id
          LEFT JOIN organizations po ON po.id = r.provider_id), '[]'),
      'totals', (SELECT report_amounts(t.issued_fen, t.issued_count, t.redeemed_fen, t.reversed_fen,
                                       t.released_fen, t.orders, t.gross_fen, t.recovered_fen)
                   FROM tot t)));
END $$;
