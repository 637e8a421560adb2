-- voucher.issued: one notification per institute and programme for each statement that
-- issues vouchers (a batch of 10 000 is one notification per institute, not 10 000), written
-- in one INSERT so that the outbox trigger runs once; and the first expiry notice each new
-- voucher is due (voucher_expiry_watch).
CREATE FUNCTION notify_voucher_issued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO notifications (org_id, kind, subject_type, subject_id, data)
  SELECT g.institute_id, 'voucher.issued',
         CASE WHEN g.n = 1 THEN 'voucher' ELSE 'program' END,
         CASE WHEN g.n = 1 THEN g.first_id ELSE g.program_id END,
         jsonb_build_object('program_id', g.program_id, 'program_name', p.name,
                            'count', g.n, 'face_value_fen', g.total,
                            'voucher_ids', g.ids, 'expires_at', ts(g.expires))
    FROM (SELECT institute_id, program_id, count(*) AS n, sum(face_value_fen) AS total,
                 min(id::text)::uuid AS first_id, min(expires_at) AS expires,
                 to_jsonb((array_agg(id ORDER BY id))[1:20]) AS ids
            FROM new_vouchers GROUP BY institute_id, program_id) g
    JOIN programs p ON p.id = g.program_id
   ORDER BY g.institute_id, g.program_id;
  INSERT INTO voucher_expiry_watch (voucher_id, next_at)
  SELECT id, expires_at - interval '30 days' FROM new_vouchers;
  RETURN NULL;
END $$;

CREATE TRIGGER vouchers_notify_issued AFTER INSERT ON vouchers
  REFERENCING NEW TABLE AS new_vouchers
  FOR EACH STATEMENT EXECUTE FUNCTION notify_voucher_issued();
