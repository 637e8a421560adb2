-- 006 — reading a voucher never shows an expired one still holding money.
--
-- The read paths release due expiries before they answer, but through the sweep
-- voucher_expire_due, which skips vouchers another transaction has locked. When that other
-- transaction was the maintenance thread releasing the very voucher being read, the read
-- answered "expired" with the unspent balance still on it (seen under load by
-- check_redemptions' cancelling_after_expiry_returns_the_amount_to_the_programme). Now:
--   - a single-voucher read (GET /v1/vouchers/{id}, POST /v1/vouchers/verify) releases that
--     voucher itself, waiting for its lock, so it answers the released state;
--   - a list, which must not wait on many locks, still sweeps with SKIP LOCKED, and
--     voucher_json shows a due voucher that is not yet released as it will be once released:
--     balance 0, its balance counted as released. The sweep that holds it makes it so.

-- Whether a voucher's expiry is due but its balance not yet released.
CREATE FUNCTION voucher_release_due(v vouchers) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT v.status IN ('active', 'exhausted') AND now() >= v.expires_at
$$;

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

CREATE OR REPLACE FUNCTION voucher_expire_due(p_program uuid, p_city uuid, p_limit integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_actor jsonb := system_actor('voucher-expiry');
  v vouchers;
  v_n integer := 0;
BEGIN
  FOR v IN SELECT * FROM vouchers
            WHERE status IN ('active', 'exhausted') AND expires_at <= now()
              AND (p_program IS NULL OR program_id = p_program)
              AND (p_city IS NULL OR city_id = p_city)
            ORDER BY expires_at, id LIMIT p_limit
            FOR UPDATE SKIP LOCKED
  LOOP
    PERFORM voucher_release_expired(v_actor, v);
    v_n := v_n + 1;
  END LOOP;
  RETURN v_n;
END $$;

-- The current row of one voucher, its expiry released first if due: waits for a transaction
-- that holds the voucher (a sweep releasing it, a redemption) and then reads what it left.
-- NULL when there is no such voucher.
CREATE FUNCTION voucher_settled(p_id uuid) RETURNS vouchers LANGUAGE plpgsql AS $$
DECLARE
  v vouchers;
BEGIN
  SELECT * INTO v FROM vouchers WHERE id = p_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF voucher_release_due(v) THEN
    SELECT * INTO v FROM vouchers WHERE id = p_id FOR UPDATE;
    IF voucher_release_due(v) THEN
      PERFORM voucher_release_expired(system_actor('voucher-expiry'), v);
      SELECT * INTO v FROM vouchers WHERE id = p_id;
    END IF;
  END IF;
  RETURN v;
END $$;

CREATE OR REPLACE FUNCTION voucher_json(v vouchers) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', v.id, 'program_id', v.program_id, 'city_id', v.city_id,
    'institute_id', v.institute_id, 'face_value_fen', v.face_value_fen,
    'balance_fen', CASE WHEN voucher_release_due(v) THEN 0 ELSE v.balance_fen END,
    'redeemed_fen', v.face_value_fen - v.balance_fen - v.released_fen,
    'released_fen', v.released_fen + CASE WHEN voucher_release_due(v) THEN v.balance_fen ELSE 0 END,
    'currency', 'CNY',
    'not_before', ts(v.not_before), 'expires_at', ts(v.expires_at), 'issued_at', ts(v.issued_at),
    'status', voucher_state(v), 'kid', v.kid, 'revoked_at', ts(v.revoked_at),
    'revoke_reason', v.revoke_reason, 'expired_at', ts(v.expired_at))
$$;

CREATE OR REPLACE FUNCTION voucher_get(p_actor jsonb, p_id uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v vouchers;
BEGIN
  SELECT * INTO v FROM vouchers WHERE id = p_id;
  IF NOT FOUND OR NOT voucher_visible(p_actor, v) THEN
    RETURN NULL;
  END IF;
  RETURN voucher_json(voucher_settled(p_id));
END $$;

CREATE OR REPLACE FUNCTION voucher_live(p_id uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v vouchers := voucher_settled(p_id);
BEGIN
  IF v.id IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN jsonb_build_object('id', v.id, 'status', voucher_state(v), 'balance_fen', v.balance_fen,
                            'not_before', ts(v.not_before), 'expires_at', ts(v.expires_at),
                            'program_status', (SELECT program_state(p) FROM programs p WHERE p.id = v.program_id));
END $$;
