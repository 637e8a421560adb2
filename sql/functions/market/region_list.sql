CREATE FUNCTION region_list() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'items', coalesce(jsonb_agg(jsonb_build_object('code', code, 'zone', zone, 'name', name)
                                ORDER BY zone, code), '[]'),
    'next_cursor', NULL)
    FROM regions
$$;
