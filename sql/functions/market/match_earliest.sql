-- The earliest start in [p_lo, p_last] at which offer c has at least p_need units free for
-- p_dur, and those free units; (NULL, 0) when there is none. Capacity only grows where an
-- order ends, so the candidates are p_lo and the ends of live orders after it.
CREATE FUNCTION match_earliest(c offers, p_lo timestamptz, p_last timestamptz, p_dur interval,
                               p_need integer, OUT start_at timestamptz, OUT free integer)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_t timestamptz;
  v_free integer;
BEGIN
  free := 0;
  FOR v_t IN SELECT t FROM (SELECT p_lo AS t
                            UNION
                            SELECT o.end_at FROM orders o
                             WHERE o.offer_id = c.id AND o.status <> 'cancelled'
                               AND o.end_at > p_lo AND o.end_at <= p_last) s
             ORDER BY t LIMIT 50 LOOP
    v_free := c.units - offer_reserved_peak(c.id, v_t, v_t + p_dur);
    IF v_free >= p_need THEN
      start_at := v_t;
      free := v_free;
      RETURN;
    END IF;
  END LOOP;
END $$;
