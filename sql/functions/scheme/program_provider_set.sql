-- PUT /v1/programs/{id}/providers/{provider_id} {status, note?}: puts a provider on the
-- programme's list as pending, accredited or suspended (an administrator of its city, or the
-- operator). Answers the entry and whether it is new.
CREATE FUNCTION program_provider_set(p_actor jsonb, p_program uuid, p_provider uuid,
                                     p_status text, p_note text, OUT entry jsonb, OUT created boolean)
LANGUAGE plpgsql AS $$
DECLARE
  p programs;
  x program_providers;
  v_old text;
BEGIN
  SELECT * INTO p FROM programs WHERE id = p_program;
  IF NOT FOUND OR NOT program_visible(p_actor, p) OR p_actor->>'role' NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('not-found', 'no programme ' || p_program);
  END IF;
  PERFORM 1 FROM organizations WHERE id = p_provider AND type = 'provider';
  IF NOT FOUND THEN
    PERFORM problem('not-found', 'no provider ' || p_provider);
  END IF;
  SELECT status INTO v_old FROM program_providers
   WHERE program_id = p_program AND provider_id = p_provider FOR UPDATE;
  created := NOT FOUND;
  INSERT INTO program_providers (program_id, provider_id, status, note, updated_by)
  VALUES (p_program, p_provider, p_status, p_note, (p_actor->>'user_id')::uuid)
  ON CONFLICT (program_id, provider_id) DO UPDATE
     SET status = EXCLUDED.status, note = EXCLUDED.note, updated_by = EXCLUDED.updated_by,
         updated_at = now()
  RETURNING * INTO x;
  PERFORM audit_append(p_actor, 'program.provider.set', 'program', p_program,
                       jsonb_build_object('program_id', p_program, 'provider_id', p_provider,
                                          'status', p_status, 'previous_status', v_old, 'note', p_note),
                       p.city_id);
  entry := program_provider_json(x);
END $$;
