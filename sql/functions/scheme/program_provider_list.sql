-- GET /v1/programs/{id}/providers (p_provider NULL) or …/providers/{provider_id}: the
-- programme's accreditation list, optionally of one status, with open_to_all_providers. NULL
-- when the programme (or the provider on its list) is not there for the actor.
CREATE FUNCTION program_provider_list(p_actor jsonb, p_program uuid, p_provider uuid,
                                      p_status text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  p programs;
  x program_providers;
BEGIN
  SELECT * INTO p FROM programs WHERE id = p_program;
  IF NOT FOUND OR NOT program_visible(p_actor, p) THEN
    RETURN NULL;
  END IF;
  IF p_provider IS NOT NULL THEN
    SELECT * INTO x FROM program_providers WHERE program_id = p_program AND provider_id = p_provider;
    RETURN CASE WHEN FOUND THEN program_provider_json(x) END;
  END IF;
  RETURN jsonb_build_object(
    'program_id', p.id, 'open_to_all_providers', p.open_to_all_providers,
    'items', coalesce((SELECT jsonb_agg(program_provider_json(y) ORDER BY o.name, y.provider_id)
                         FROM program_providers y JOIN organizations o ON o.id = y.provider_id
                        WHERE y.program_id = p_program AND (p_status IS NULL OR y.status = p_status)), '[]'));
END $$;
