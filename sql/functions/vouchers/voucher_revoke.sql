-- POST /v1/vouchers/{id}/revoke: the unspent balance returns to the programme.
CREATE FUNCTION voucher_revoke(p_actor jsonb, p_id uuid, p_reason text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v vouchers;
BEGIN
  SELECT * INTO v FROM vouchers WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR NOT voucher_visible(p_actor, v)
     OR p_actor->>'role' NOT IN ('operator', 'city_admin') THEN
    PERFORM problem('not-found', 'no voucher ' || p_id);
  END IF;
  IF v.status = 'revoked' THEN
    PERFORM problem('voucher-revoked', format('voucher %s was revoked at %s', p_id, ts(v.revoked_at)));
  END IF;
  IF v.status = 'expired' OR now() >= v.expires_at THEN
    PERFORM problem('voucher-expired', format('voucher %s expired at %s', p_id, ts(v.expires_at)));
  END IF;
  UPDATE vouchers SET status = 'revoked', balance_fen = 0,
                      released_fen = released_fen + v.balance_fen, revoked_at = now(),
                      revoke_reason = p_reason
   WHERE id = p_id;
  IF v.balance_fen > 0 THEN
    UPDATE programs SET released_fen = released_fen + v.balance_fen WHERE id = v.program_id;
    PERFORM ledger_move(p_actor, 'release', v.program_id, p_id, NULL, NULL,
                        'voucher', p_id, 'program_budget', v.program_id, v.balance_fen);
  END IF;
  PERFORM audit_append(p_actor, 'voucher.revoke', 'voucher', p_id,
                       jsonb_build_object('program_id', v.program_id, 'released_fen', v.balance_fen,
                                          'reason', p_reason), v.city_id);
  SELECT * INTO v FROM vouchers WHERE id = p_id;
  RETURN voucher_json(v);
END $$;
