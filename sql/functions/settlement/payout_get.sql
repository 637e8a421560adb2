-- GET /v1/payouts/{id}, with its lines; a payout the actor does not see is NULL (404).
CREATE FUNCTION payout_get(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT payout_json(p, true) FROM payouts p WHERE p.id = p_id AND payout_visible(p_actor, p)
$$;
