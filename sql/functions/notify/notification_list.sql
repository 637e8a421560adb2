-- GET /v1/notifications: the notifications of the caller's organisation, newest first (the
-- cursor is the id of the last one shown), optionally unread only, with the caller's unread
-- count. Nobody sees another organisation's.
CREATE FUNCTION notification_list(p_actor jsonb, p_unread boolean, p_before uuid, p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT page_json((SELECT jsonb_agg(notification_json(x.n, x.read) ORDER BY (x.n).id DESC) FROM (
           SELECT n, r.user_id IS NOT NULL AS read
             FROM notifications n
             LEFT JOIN notification_reads r ON r.notification_id = n.id
                                           AND r.user_id = (p_actor->>'user_id')::uuid
            WHERE n.org_id = (p_actor->>'org_id')::uuid
              AND (p_before IS NULL OR n.id < p_before)
              AND (NOT coalesce(p_unread, false) OR r.user_id IS NULL)
            ORDER BY n.id DESC LIMIT p_limit + 1) x), p_limit)
         || jsonb_build_object('unread_count', notification_unread_count(p_actor))
$$;
