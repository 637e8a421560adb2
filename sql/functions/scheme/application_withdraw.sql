-- POST /v1/applications/{id}/withdraw: by the institute that applied, before a decision.
CREATE FUNCTION application_withdraw(p_actor jsonb, p_id uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  a applications;
BEGIN
  a := application_lock(p_actor, p_id, false);
  UPDATE applications SET status = 'withdrawn', updated_at = now()
   WHERE id = p_id RETURNING * INTO a;
  PERFORM audit_append(p_actor, 'application.withdraw', 'application', a.id,
                       jsonb_build_object('program_id', a.program_id, 'institute_id', a.institute_id),
                       a.city_id);
  RETURN application_json(a);
END $$;
