-- POST /v1/applications/{id}/reject {reason}: by an administrator of the programme's city.
CREATE FUNCTION application_reject(p_actor jsonb, p_id uuid, p_reason text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  a applications;
BEGIN
  a := application_lock(p_actor, p_id, true);
  UPDATE applications SET status = 'rejected', decision_note = p_reason,
                          decided_by = (p_actor->>'user_id')::uuid, decided_at = now(),
                          updated_at = now()
   WHERE id = p_id RETURNING * INTO a;
  PERFORM audit_append(p_actor, 'application.reject', 'application', a.id,
                       jsonb_build_object('program_id', a.program_id, 'institute_id', a.institute_id,
                                          'reason', p_reason),
                       a.city_id);
  RETURN application_json(a);
END $$;
