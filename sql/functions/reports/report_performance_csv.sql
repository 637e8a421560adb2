-- GET /v1/reports/performance as RFC 4180 CSV: a header row, one row per month of the report's
-- items, then the totals with month "total"; CRLF line ends. Numbers keep the exact decimal
-- text of the JSON (no float round trip); a null (an undefined share or latency) is an empty
-- cell.
-- No cell needs quoting: months are YYYY-MM and every other cell is a number. NULL (no such
-- programme) gives NULL.
CREATE FUNCTION report_performance_csv(p_report jsonb) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  WITH rows AS (
    SELECT n, coalesce(i->>'month', 'total') AS month, i
      FROM jsonb_array_elements(p_report->'items') WITH ORDINALITY AS x(i, n)
    UNION ALL
    SELECT 1e9, 'total', p_report->'totals')
  SELECT 'month,' || array_to_string(report_performance_columns(), ',') || E'\r\n'
         || coalesce(string_agg(
              r.month || ',' || (SELECT string_agg(coalesce(r.i->>c.name, ''), ',' ORDER BY c.k)
                                   FROM unnest(report_performance_columns()) WITH ORDINALITY AS c(name, k))
              || E'\r\n', '' ORDER BY r.n), '')
    FROM rows r
$$;
