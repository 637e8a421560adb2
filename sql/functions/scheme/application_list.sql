-- GET /v1/applications: the visible applications, optionally of one status or programme, in
-- id order (keyset pagination).
CREATE FUNCTION application_list(p_actor jsonb, p_status text, p_program uuid, p_after uuid,
                                 p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT page_json(jsonb_agg(application_json(x.a) ORDER BY (x.a).id), p_limit) FROM (
    SELECT a FROM applications a
     WHERE application_visible(p_actor, a)
       AND (p_status IS NULL OR a.status = p_status)
       AND (p_program IS NULL OR a.program_id = p_program)
       AND (p_after IS NULL OR a.id > p_after)
     ORDER BY a.id LIMIT p_limit + 1) x
$$;
