-- Events the actor may see (its city's, or all for the operator and national auditors), with
-- the filters of the endpoint, in seq order (p_desc: newest first), keyset-paginated by seq.
-- The programme filter matches events about the programme and events whose data names it in
-- "program_id". The query holds only the filters given, so that the planner can use the
-- indexes that fit them.
CREATE FUNCTION audit_event_list(p_actor jsonb, p_from timestamptz, p_to timestamptz,
                                 p_actor_id uuid, p_action text, p_subject_type text,
                                 p_subject_id uuid, p_program uuid, p_city uuid, p_desc boolean,
                                 p_after bigint, p_limit int) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_city uuid := actor_city(p_actor);
  v_where text := '';
  v_result jsonb;
BEGIN
  PERFORM audit_reader_check(p_actor);
  IF v_city IS NOT NULL THEN v_where := v_where || ' AND e.city_id = $1'; END IF;
  IF p_city IS NOT NULL THEN v_where := v_where || ' AND e.city_id = $2'; END IF;
  IF p_from IS NOT NULL THEN v_where := v_where || ' AND e.at >= $3'; END IF;
  IF p_to IS NOT NULL THEN v_where := v_where || ' AND e.at < $4'; END IF;
  IF p_actor_id IS NOT NULL THEN v_where := v_where || ' AND e.actor_user = $5'; END IF;
  IF p_action IS NOT NULL THEN v_where := v_where || ' AND e.action = $6'; END IF;
  IF p_subject_type IS NOT NULL THEN v_where := v_where || ' AND e.subject_type = $7'; END IF;
  IF p_subject_id IS NOT NULL THEN v_where := v_where || ' AND e.subject_id = $8'; END IF;
  IF p_program IS NOT NULL THEN
    v_where := v_where || $q$ AND (e.subject_id = $9
                                   OR (e.data ? 'program_id' AND e.data->>'program_id' = $9::text))$q$;
  END IF;
  IF p_after IS NOT NULL THEN
    v_where := v_where || CASE WHEN p_desc THEN ' AND e.seq < $10' ELSE ' AND e.seq > $10' END;
  END IF;
  EXECUTE format($q$
    WITH page AS (
      SELECT e.seq AS s, audit_event_json(e, c.position) AS j
        FROM audit_events e LEFT JOIN audit_chain c ON c.seq = e.seq
       WHERE true %s
       ORDER BY e.seq %s LIMIT $11 + 1)
    SELECT jsonb_build_object(
      'items', coalesce((SELECT jsonb_agg(x.j ORDER BY x.n)
                           FROM (SELECT j, row_number() OVER (ORDER BY s %s) AS n FROM page) x
                          WHERE x.n <= $11), '[]'),
      'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $11
                          THEN (SELECT page.s::text FROM page ORDER BY page.s %s
                                 LIMIT 1 OFFSET $11 - 1) END)
    $q$, v_where, CASE WHEN p_desc THEN 'DESC' ELSE '' END,
         CASE WHEN p_desc THEN 'DESC' ELSE '' END, CASE WHEN p_desc THEN 'DESC' ELSE '' END)
    INTO v_result
    USING v_city, p_city, p_from, p_to, p_actor_id, p_action, p_subject_type, p_subject_id,
          p_program, p_after, p_limit;
  RETURN v_result;
END $$;
