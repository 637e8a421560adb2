CREATE FUNCTION audit_event_json(e audit_events, p_position bigint) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'seq', e.seq, 'position', p_position, 'at', audit_time(e.at),
    'actor_user_id', e.actor_user, 'actor_role', e.actor_role, 'actor_org_id', e.actor_org,
    'city_id', e.city_id, 'action', e.action, 'subject_type', e.subject_type,
    'subject_id', e.subject_id, 'data', e.data, 'request_id', e.request_id,
    'client_ip', e.client_ip)
$$;
