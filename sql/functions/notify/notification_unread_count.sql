-- How many notifications of the caller's organisation the caller has not marked read.
CREATE FUNCTION notification_unread_count(p_actor jsonb) RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT count(*) FROM notifications n
   WHERE n.org_id = (p_actor->>'org_id')::uuid
     AND NOT EXISTS (SELECT 1 FROM notification_reads r
                      WHERE r.notification_id = n.id AND r.user_id = (p_actor->>'user_id')::uuid)
$$;
