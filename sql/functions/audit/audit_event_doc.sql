CREATE FUNCTION audit_event_doc(e audit_events) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'action', e.action, 'actor_org_id', e.actor_org, 'actor_role', e.actor_role,
    'actor_user_id', e.actor_user, 'at', audit_time(e.at), 'city_id', e.city_id,
    'client_ip', e.client_ip, 'data', e.data, 'request_id', e.request_id,
    'subject_id', e.subject_id, 'subject_type', e.subject_type)::text
$$;
