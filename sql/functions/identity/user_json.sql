CREATE FUNCTION user_json(u users) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', u.id, 'email', u.email, 'role', u.role,
                            'organization_id', u.organization_id,
                            'organization', (SELECT jsonb_build_object('id', o.id, 'type', o.type, 'name', o.name)
                                               FROM organizations o WHERE o.id = u.organization_id),
                            'city_id', (SELECT o.city_id FROM organizations o WHERE o.id = u.organization_id),
                            'created_at', ts(u.created_at))
$$;
