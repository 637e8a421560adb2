-- GET /v1/programs/{id}. Reads only: balances follow program_json's display-time rule.
CREATE FUNCTION program_get(p_actor jsonb, p_id uuid)
RETURNS TABLE (program jsonb, version integer) LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_actor->>'role' = 'institute' THEN program_public_json(p) ELSE program_json(p) END,
         p.version FROM programs p WHERE p.id = p_id AND program_visible(p_actor, p)
$$;
