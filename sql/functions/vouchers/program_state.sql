-- A programme's state as clients see it: suspended by its city, or by its window.
CREATE FUNCTION program_state(p programs) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p.status = 'suspended' THEN 'suspended'
              WHEN now() < p.starts_at THEN 'scheduled'
              WHEN now() >= p.ends_at THEN 'ended'
              ELSE 'active' END
$$;
