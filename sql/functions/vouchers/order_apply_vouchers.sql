-- Called inside order_create: redeems each of p_vouchers ([{voucher_id, amount_fen?,
-- via_token?}]) on the new order. The server has already verified every token and replaced it
-- by its voucher_id (api_vouchers_resolve_tokens); a token that reaches SQL was not verified
-- and is refused. The vouchers are locked in id order first, so that two orders naming the
-- same vouchers in different orders cannot deadlock.
CREATE FUNCTION order_apply_vouchers(p_actor jsonb, p_order uuid, p_vouchers jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  e record;
  v_dup record;
BEGIN
  IF jsonb_typeof(p_vouchers) <> 'array' OR jsonb_array_length(p_vouchers) = 0 THEN
    RETURN;
  END IF;
  SELECT t.n - 1 AS i INTO e FROM jsonb_array_elements(p_vouchers) WITH ORDINALITY t(x, n)
   WHERE t.x ? 'token' OR NOT t.x ? 'voucher_id' ORDER BY t.n LIMIT 1;
  IF FOUND THEN
    PERFORM problem_at('validation-failed', format('vouchers[%s].token', e.i),
                       'voucher tokens must be verified by the server first');
  END IF;
  SELECT t.n - 1 AS i, t.x->>'voucher_id' AS id INTO v_dup
    FROM jsonb_array_elements(p_vouchers) WITH ORDINALITY t(x, n)
   WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(p_vouchers) WITH ORDINALITY u(y, m)
                  WHERE u.m < t.n AND u.y->>'voucher_id' = t.x->>'voucher_id')
   ORDER BY t.n LIMIT 1;
  IF FOUND THEN
    PERFORM problem_at('validation-failed', format('vouchers[%s].voucher_id', v_dup.i),
                       format('voucher %s is named twice', v_dup.id));
  END IF;
  PERFORM 1 FROM orders WHERE id = p_order FOR UPDATE;
  PERFORM 1 FROM vouchers
   WHERE id IN (SELECT (x->>'voucher_id')::uuid FROM jsonb_array_elements(p_vouchers) x)
   ORDER BY id FOR UPDATE;
  FOR e IN SELECT t.n - 1 AS i, (t.x->>'voucher_id')::uuid AS voucher_id,
                  (t.x->>'amount_fen')::bigint AS amount,
                  coalesce((t.x->>'via_token')::boolean, false) AS via_token
             FROM jsonb_array_elements(p_vouchers) WITH ORDINALITY t(x, n) ORDER BY t.n
  LOOP
    PERFORM redeem_one(p_actor, e.voucher_id, p_order, e.amount, e.via_token,
                       format('vouchers[%s].', e.i));
  END LOOP;
END $$;
