-- POST /v1/related-parties {provider_id, institute_id, note?}: the operator, or an
-- administrator of the institute's city, declares the pair related.
CREATE FUNCTION related_party_create(p_actor jsonb, p_body jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_provider uuid := (p_body->>'provider_id')::uuid;
  v_institute uuid := (p_body->>'institute_id')::uuid;
  v_city uuid;
  x related_parties;
BEGIN
  IF p_actor->>'role' NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('forbidden', 'only city administrators and the operator declare related parties');
  END IF;
  SELECT city_id INTO v_city FROM organizations WHERE id = v_institute AND type = 'institute';
  IF NOT FOUND OR (p_actor->>'role' = 'city_admin' AND v_city IS DISTINCT FROM actor_city(p_actor)) THEN
    PERFORM problem_at('not-found', 'institute_id', format('no institute %s in your city', v_institute));
  END IF;
  PERFORM 1 FROM organizations WHERE id = v_provider AND type = 'provider';
  IF NOT FOUND THEN
    PERFORM problem_at('not-found', 'provider_id', format('no provider %s', v_provider));
  END IF;
  PERFORM 1 FROM related_parties WHERE provider_id = v_provider AND institute_id = v_institute;
  IF FOUND THEN
    PERFORM problem('duplicate', format('provider %s and institute %s are declared related already', v_provider, v_institute));
  END IF;
  INSERT INTO related_parties (city_id, provider_id, institute_id, note, created_by)
  VALUES (v_city, v_provider, v_institute, p_body->>'note', (p_actor->>'user_id')::uuid)
  RETURNING * INTO x;
  PERFORM audit_append(p_actor, 'related_party.create', 'related_party', x.id,
                       jsonb_build_object('provider_id', v_provider, 'institute_id', v_institute,
                                          'note', x.note),
                       v_city);
  RETURN related_party_json(x);
END $$;
