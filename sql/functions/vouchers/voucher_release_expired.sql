-- Releases one due voucher's unspent balance to its programme and marks it expired, with
-- the ledger entry and the audit event. The caller holds the voucher's row lock.
CREATE FUNCTION voucher_release_expired(p_actor jsonb, v vouchers) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE vouchers SET status = 'expired', balance_fen = 0,
                      released_fen = released_fen + v.balance_fen, expired_at = now()
   WHERE id = v.id;
  IF v.balance_fen > 0 THEN
    UPDATE programs SET released_fen = released_fen + v.balance_fen WHERE id = v.program_id;
    PERFORM ledger_move(p_actor, 'release', v.program_id, v.id, NULL, NULL,
                        'voucher', v.id, 'program_budget', v.program_id, v.balance_fen);
  END IF;
  PERFORM audit_append(p_actor, 'voucher.expire', 'voucher', v.id,
                       jsonb_build_object('program_id', v.program_id,
                                          'released_fen', v.balance_fen), v.city_id);
END $$;
