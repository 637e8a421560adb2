-- anomaly.flagged: every anomaly flag of report_anomalies (over all cities) not notified
-- before, to the city it concerns (the programme's, or the institute's for the flags about an
-- institute's behaviour). A flag is new once per kind, subject and programme. Answers the count.
CREATE FUNCTION notify_anomalies() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  f jsonb;
  v_city uuid;
  v_n integer := 0;
BEGIN
  FOR f IN SELECT jsonb_array_elements(report_anomalies(jsonb_build_object('role', 'operator'),
                                                        NULL, 1000)->'items')
  LOOP
    SELECT coalesce(p.city_id, o.city_id) INTO v_city
      FROM organizations o LEFT JOIN programs p ON p.id = (f->>'program_id')::uuid
     WHERE o.id = (f->>'subject_id')::uuid;
    CONTINUE WHEN v_city IS NULL;
    PERFORM notify_insert(v_city, 'anomaly.flagged', f->>'subject_type',
                          (f->>'subject_id')::uuid, f - 'explanation',
                          format('anomaly:%s:%s:%s', f->>'kind', f->>'subject_id',
                                 coalesce(f->>'program_id', '-')));
    v_n := v_n + 1;
  END LOOP;
  RETURN v_n;
END $$;
