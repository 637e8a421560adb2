CREATE FUNCTION org_json(o organizations) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', o.id, 'type', o.type, 'name', o.name,
                            'city_id', CASE WHEN o.type IN ('provider', 'institute') THEN o.city_id END,
                            'created_at', ts(o.created_at))
$$;
