CREATE FUNCTION problem(p_slug text, p_detail text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'SL000', MESSAGE = p_slug, DETAIL = p_detail;
END $$;
