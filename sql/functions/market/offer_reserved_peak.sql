-- Units of an offer held by live (reserved or completed) orders at the busiest instant of
-- [p_from, p_until). Holdings form a step function that changes only at order boundaries: a
-- sweep over those boundaries, ends before starts at the same instant (windows are half-open),
-- finds its maximum.
CREATE FUNCTION offer_reserved_peak(p_offer uuid, p_from timestamptz, p_until timestamptz)
RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT coalesce(max(held), 0)::integer FROM (
    SELECT sum(delta) OVER (ORDER BY at, delta) AS held FROM (
      SELECT greatest(o.start_at, p_from) AS at, o.units AS delta
        FROM orders o
       WHERE o.offer_id = p_offer AND o.status <> 'cancelled'
         AND o.start_at < p_until AND o.end_at > p_from
      UNION ALL
      SELECT o.end_at, -o.units
        FROM orders o
       WHERE o.offer_id = p_offer AND o.status <> 'cancelled'
         AND o.start_at < p_until AND o.end_at > p_from AND o.end_at < p_until) steps) sweep
$$;
