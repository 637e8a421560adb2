-- POST /v1/notifications/read-all: the caller marks every notification of its organisation
-- read; answers how many were unread.
CREATE FUNCTION notification_read_all(p_actor jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_n integer;
BEGIN
  INSERT INTO notification_reads (notification_id, user_id)
  SELECT n.id, (p_actor->>'user_id')::uuid FROM notifications n
   WHERE n.org_id = (p_actor->>'org_id')::uuid
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  RETURN jsonb_build_object('marked', v_n, 'unread_count', 0);
END $$;
