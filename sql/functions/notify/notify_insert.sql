-- Writes one notification for an organisation (and, through notify_outbox, its webhook
-- deliveries) in the caller's transaction. With a dedup_key, a second notification of the same
-- key is dropped, so that periodic jobs on several replicas notify once.
CREATE FUNCTION notify_insert(p_org uuid, p_kind text, p_subject_type text, p_subject_id uuid,
                              p_data jsonb, p_dedup text DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO notifications (org_id, kind, subject_type, subject_id, data, dedup_key)
  VALUES (p_org, p_kind, p_subject_type, p_subject_id, coalesce(p_data, '{}'), p_dedup)
  ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
$$;
