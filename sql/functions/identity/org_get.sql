CREATE FUNCTION org_get(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT org_json(o) FROM organizations o WHERE o.id = p_id AND org_visible(p_actor, o)
$$;
