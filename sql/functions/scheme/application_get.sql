-- GET /v1/applications/{id}; another institute's application does not exist (NULL: 404).
CREATE FUNCTION application_get(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT application_json(a) FROM applications a WHERE a.id = p_id AND application_visible(p_actor, a)
$$;
