-- POST /v1/payouts/{id}/approve: a second administrator of the city approves a proposed
-- payout; the one who proposed it may not (403 two-person-rule).
CREATE FUNCTION payout_approve(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  p payouts;
BEGIN
  p := payout_lock(p_actor, p_id, 'proposed');
  IF p.proposed_by = (p_actor->>'user_id')::uuid THEN
    PERFORM problem('two-person-rule',
                    'the administrator who proposed a payout may not approve it; another administrator of the city must');
  END IF;
  UPDATE payouts SET state = 'approved', approved_by = (p_actor->>'user_id')::uuid,
                     approved_at = now()
   WHERE id = p_id RETURNING * INTO p;
  PERFORM audit_append(p_actor, 'payout.approve', 'payout', p.id,
                       jsonb_build_object('payee_id', p.payee_id, 'total_fen', p.total_fen,
                                          'proposed_by', p.proposed_by),
                       p.city_id);
  RETURN payout_json(p, true);
END $$;
