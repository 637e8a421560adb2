-- POST /v1/notifications/{id}/read: the caller marks one notification of its organisation
-- read (again is no change); a foreign or unknown one answers NULL (404).
CREATE FUNCTION notification_read(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v notifications;
BEGIN
  SELECT * INTO v FROM notifications
   WHERE id = p_id AND org_id = (p_actor->>'org_id')::uuid;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  INSERT INTO notification_reads (notification_id, user_id)
  VALUES (p_id, (p_actor->>'user_id')::uuid) ON CONFLICT DO NOTHING;
  RETURN notification_json(v, true);
END $$;
