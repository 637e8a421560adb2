-- GET /v1/payouts: the visible payouts, optionally of one state or payee, in id order
-- (keyset pagination), without their lines.
CREATE FUNCTION payout_list(p_actor jsonb, p_state text, p_payee uuid, p_after uuid,
                            p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT page_json(jsonb_agg(payout_json(x.p, false) ORDER BY (x.p).id), p_limit) FROM (
    SELECT p FROM payouts p
     WHERE payout_visible(p_actor, p)
       AND (p_state IS NULL OR p.state = p_state)
       AND (p_payee IS NULL OR p.payee_id = p_payee)
       AND (p_after IS NULL OR p.id > p_after)
     ORDER BY p.id LIMIT p_limit + 1) x
$$;
