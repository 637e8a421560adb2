-- Billed per started hour (DESIGN.md §2).
CREATE FUNCTION billed_hours(p_start timestamptz, p_end timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT ceil(extract(epoch FROM p_end - p_start) / 3600)::bigint
$$;
