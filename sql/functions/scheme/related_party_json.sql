-- A declared related-party pair with the organisations' names.
CREATE FUNCTION related_party_json(x related_parties) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', x.id, 'city_id', x.city_id, 'provider_id', x.provider_id,
                            'provider_name', pv.name, 'institute_id', x.institute_id,
                            'institute_name', i.name, 'note', x.note,
                            'created_at', ts(x.created_at))
    FROM organizations pv, organizations i WHERE pv.id = x.provider_id AND i.id = x.institute_id
$$;
