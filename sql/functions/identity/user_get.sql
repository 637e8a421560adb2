CREATE FUNCTION user_get(p_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT user_json(u) FROM users u WHERE u.id = p_id
$$;
