-- POST /v1/redemptions in one round trip (api/redemptions.c): the caller's authentication (the
-- keyed hash of its API key, or of its session token with the hash of its X-CSRF-Token), the
-- claim of its Idempotency-Key (when it sent one), the redemption and the reply the key will
-- replay travel as one statement, so one transaction. The actor is the one api_actor() builds.
-- Returns no row, having changed nothing, whenever the request is not the plain case: unknown,
-- revoked or expired credentials, a disabled user, another role than institute, a CSRF token
-- that does not match, a key claimed before (a replay, a reuse or one still in progress). A
-- refusal raises as redemption_create does, undoing the claim with it. In every one of those
-- cases the server takes its usual path (authentication, then the idempotency transaction),
-- which answers them as it always has.
CREATE FUNCTION redemption_create_as(p_token_hash text, p_cookie boolean, p_csrf_hash text,
                                     p_request_id text, p_ip text, p_idem_key text,
                                     p_request_hash text, p_voucher uuid, p_order uuid,
                                     p_amount bigint, p_via_token boolean,
                                     OUT w_user uuid, OUT w_role text, OUT w_org uuid,
                                     OUT w_city text, OUT w_credential uuid,
                                     OUT w_redemption jsonb)
RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE
  v_claimed integer;
BEGIN
  IF p_cookie THEN
    SELECT u.id, u.role, u.organization_id, coalesce(o.city_id::text, ''), s.id
      INTO w_user, w_role, w_org, w_city, w_credential
      FROM sessions s JOIN users u ON u.id = s.user_id
      JOIN organizations o ON o.id = u.organization_id
     WHERE s.token_hash = p_token_hash AND s.expires_at > now() AND u.disabled_at IS NULL
       AND s.csrf_hash = p_csrf_hash;
  ELSE
    SELECT u.id, u.role, u.organization_id, coalesce(o.city_id::text, ''), k.id
      INTO w_user, w_role, w_org, w_city, w_credential
      FROM api_keys k JOIN users u ON u.id = k.user_id
      JOIN organizations o ON o.id = u.organization_id
     WHERE k.key_hash = p_token_hash AND k.revoked_at IS NULL AND u.disabled_at IS NULL;
  END IF;
  IF w_user IS NULL OR w_role <> 'institute' THEN
    RETURN;
  END IF;
  IF p_idem_key IS NOT NULL THEN
    INSERT INTO idempotency_keys (user_id, key, request_hash)
    VALUES (w_user, p_idem_key, p_request_hash)
    ON CONFLICT (user_id, key) DO NOTHING;
    GET DIAGNOSTICS v_claimed = ROW_COUNT;
    IF v_claimed = 0 THEN
      RETURN;
    END IF;
  END IF;
  w_redemption := redemption_create(
    jsonb_build_object('request_id', p_request_id, 'ip', p_ip, 'user_id', w_user,
                       'role', w_role, 'org_id', w_org, 'city_id', w_city),
    p_voucher, p_order, p_amount, p_via_token);
  IF p_idem_key IS NOT NULL THEN
    UPDATE idempotency_keys
       SET status = 201, content_type = 'application/json', body = w_redemption::text,
           headers = '{}'
     WHERE user_id = w_user AND key = p_idem_key;
  END IF;
  RETURN NEXT;
END $$;
