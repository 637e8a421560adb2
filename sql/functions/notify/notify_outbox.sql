-- The outbox: every notification inserted writes, in the same transaction, one delivery per
-- active webhook endpoint of its organisation that subscribed to its kind. The body is fixed
-- here: {"id": delivery id, "type": kind, "created_at", "data": the notification}.
CREATE FUNCTION notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_deliveries (id, endpoint_id, notification_id, event, body)
  SELECT d.id, d.endpoint_id, d.notification_id, d.kind,
         jsonb_build_object('id', d.id, 'type', d.kind, 'created_at', ts(d.created_at),
                            'data', d.data)::text
    FROM (SELECT uuid_v7() AS id, e.id AS endpoint_id, n.id AS notification_id, n.kind,
                 n.created_at, notification_json(n, false) - 'read' AS data
            FROM new_notifications n
            JOIN webhook_endpoints e ON e.org_id = n.org_id AND e.status = 'active'
                                    AND n.kind = ANY (e.events)
           ORDER BY n.id, e.id) d;
  RETURN NULL;
END $$;

CREATE TRIGGER notifications_outbox AFTER INSERT ON notifications
  REFERENCING NEW TABLE AS new_notifications
  FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox();
