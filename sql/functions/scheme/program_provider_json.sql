-- One provider of a programme's accreditation list.
CREATE FUNCTION program_provider_json(x program_providers) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('program_id', x.program_id, 'provider_id', x.provider_id,
                            'provider_name', o.name, 'status', x.status, 'note', x.note,
                            'updated_at', ts(x.updated_at))
    FROM organizations o WHERE o.id = x.provider_id
$$;
