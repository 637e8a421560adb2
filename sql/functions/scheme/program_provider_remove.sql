-- DELETE /v1/programs/{id}/providers/{provider_id}: takes a provider off the list (404 when it
-- is not on it).
CREATE FUNCTION program_provider_remove(p_actor jsonb, p_program uuid, p_provider uuid)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  p programs;
  x program_providers;
BEGIN
  SELECT * INTO p FROM programs WHERE id = p_program;
  IF NOT FOUND OR NOT program_visible(p_actor, p) OR p_actor->>'role' NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('not-found', 'no programme ' || p_program);
  END IF;
  DELETE FROM program_providers WHERE program_id = p_program AND provider_id = p_provider
  RETURNING * INTO x;
  IF NOT FOUND THEN
    PERFORM problem('not-found', format('provider %s is not on the list of programme %s', p_provider, p_program));
  END IF;
  PERFORM audit_append(p_actor, 'program.provider.remove', 'program', p_program,
                       jsonb_build_object('program_id', p_program, 'provider_id', p_provider,
                                          'previous_status', x.status),
                       p.city_id);
  RETURN true;
END $$;
