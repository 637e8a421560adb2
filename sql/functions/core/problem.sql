-- An expected refusal: SQLSTATE 'SL000', the message is the problem slug that the server maps to
-- its HTTP status (server/problems.def; tests/lint/check-problems proves every slug raised here
-- is listed there). A refusal caused by one request field uses problem_at instead.
CREATE FUNCTION problem(p_slug text, p_detail text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'SL000', MESSAGE = p_slug, DETAIL = p_detail;
END $$;
