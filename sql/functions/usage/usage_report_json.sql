CREATE FUNCTION usage_report_json(u order_usage_reports) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', u.id, 'order_id', u.order_id, 'unit_hours', u.unit_hours,
    'availability', u.availability, 'evidence', u.evidence, 'state', u.state,
    'accept_by', ts(u.accept_by), 'reported_by', u.reported_by, 'created_at', ts(u.created_at),
    'decided_by', u.decided_by, 'decided_at', ts(u.decided_at),
    'accepted_by_silence', u.state = 'accepted' AND u.decided_by IS NULL,
    'dispute_reason', u.dispute_reason, 'superseded_at', ts(u.superseded_at))
$$;
