-- A notification as the API shows it to one user (read: whether that user marked it read).
-- The UI words it from kind and data, in the reader's language.
CREATE FUNCTION notification_json(n notifications, p_read boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('id', n.id, 'kind', n.kind, 'subject_type', n.subject_type,
                            'subject_id', n.subject_id, 'data', n.data,
                            'created_at', ts(n.created_at), 'read', p_read)
$$;
