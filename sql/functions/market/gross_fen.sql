-- gross_fen = units × started hours × price, refused when it does not fit in int64.
CREATE FUNCTION gross_fen(p_units bigint, p_hours bigint, p_price bigint) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v numeric := p_units::numeric * p_hours * p_price;
BEGIN
  IF v > 9223372036854775807 THEN
    PERFORM problem_at('validation-failed', 'units', 'the cost of this window exceeds the largest amount');
  END IF;
  RETURN v::bigint;
END $$;
