-- As in 001, plus one guarantee the sealer relies on: the transaction has its id BEFORE it
-- draws a sequence number. Every transaction that may still commit an event with seq <= M then
-- has an xid lower than that of any transaction that starts after M was drawn, so the sealer
-- can prove a sequence gap permanent from the snapshot horizon alone (audit_seal_begin).
--
-- PL/pgSQL, not SQL: it cannot be inlined (it is two statements), and a SQL
-- function that is not inlined is parsed, analysed and planned again in every statement that
-- calls it; PL/pgSQL prepares its query once per connection (README, Measurements).
CREATE FUNCTION audit_append(p_actor jsonb, p_action text, p_subject_type text,
                                        p_subject_id uuid, p_data jsonb, p_city uuid DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_current_xact_id();
  INSERT INTO audit_events (actor_user, actor_role, actor_org, city_id, action, subject_type,
                            subject_id, data, request_id, client_ip)
  VALUES ((p_actor->>'user_id')::uuid, p_actor->>'role', (p_actor->>'org_id')::uuid,
          coalesce(p_city, nullif(p_actor->>'city_id', '')::uuid), p_action, p_subject_type,
          p_subject_id, coalesce(p_data, '{}'), p_actor->>'request_id', p_actor->>'ip');
END $$;
