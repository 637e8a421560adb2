CREATE FUNCTION program_redeemed(p_program uuid) RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(redeemed_fen), 0)::bigint FROM program_institute_totals
   WHERE program_id = p_program
$$;
