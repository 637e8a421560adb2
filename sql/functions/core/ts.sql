-- RFC 3339 rendering used in every JSON answer. STABLE, as to_char is, and a standard SQL body
-- that reads no table: migrate leaves such a helper as it is (no SECURITY DEFINER, no SET), so
-- the planner inlines it into the statements that call it rather than running a function call
-- for each timestamp of each row (an offer's JSON has four).
CREATE FUNCTION ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
