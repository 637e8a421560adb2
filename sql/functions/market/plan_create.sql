-- POST /v1/plans: every leg of a plan ([{offer_id, units, start, end, vouchers?}]) reserved as
-- an order, in this one transaction: all legs or none. Each leg is order_create's (same
-- capacity, window and voucher rules); a refusal of leg i names its field as "legs[i].<field>".
-- The offers, then the vouchers, are locked in id order first, so that two plans naming the
-- same offers or vouchers in different orders cannot deadlock.
CREATE FUNCTION plan_create(p_actor jsonb, p_legs jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  l record;
  v_order jsonb;
  v_orders jsonb := '[]';
  v_gross bigint := 0;
  v_subsidy bigint := 0;
  v_slug text;
  v_field text;
  v_detail text;
BEGIN
  IF p_actor->>'role' <> 'institute' THEN
    PERFORM problem('forbidden', 'only institutes reserve capacity');
  END IF;
  IF jsonb_typeof(p_legs) <> 'array' OR jsonb_array_length(p_legs) = 0 THEN
    PERFORM problem_at('validation-failed', 'legs', 'must hold at least one leg');
  END IF;
  PERFORM 1 FROM offers
   WHERE id IN (SELECT (x->>'offer_id')::uuid FROM jsonb_array_elements(p_legs) x)
   ORDER BY id FOR UPDATE;
  PERFORM 1 FROM vouchers
   WHERE id IN (SELECT (v->>'voucher_id')::uuid
                  FROM jsonb_array_elements(p_legs) x,
                       jsonb_array_elements(coalesce(nullif(x->'vouchers', 'null'), '[]')) v
                 WHERE v ? 'voucher_id')
   ORDER BY id FOR UPDATE;
  FOR l IN SELECT t.n - 1 AS i, t.x FROM jsonb_array_elements(p_legs) WITH ORDINALITY t(x, n)
            ORDER BY t.n
  LOOP
    BEGIN
      v_order := order_create(p_actor, (l.x->>'offer_id')::uuid, (l.x->>'units')::integer,
                              (l.x->>'start')::timestamptz, (l.x->>'end')::timestamptz,
                              coalesce(nullif(l.x->'vouchers', 'null'), '[]'));
    EXCEPTION WHEN SQLSTATE 'SL000' THEN
      GET STACKED DIAGNOSTICS v_slug = MESSAGE_TEXT, v_field = COLUMN_NAME,
                              v_detail = PG_EXCEPTION_DETAIL;
      RAISE EXCEPTION USING ERRCODE = 'SL000', MESSAGE = v_slug, DETAIL = v_detail,
        COLUMN = format('legs[%s].', l.i) || coalesce(nullif(v_field, ''),
                   CASE v_slug WHEN 'insufficient-capacity' THEN 'units'
                               WHEN 'outside-offer-window' THEN 'start'
                               ELSE 'offer_id' END);
    END;
    v_orders := v_orders || jsonb_build_array(v_order);
    v_gross := v_gross + (v_order->>'gross_fen')::bigint;
    v_subsidy := v_subsidy + (v_order->>'subsidy_fen')::bigint;
  END LOOP;
  RETURN jsonb_build_object('orders', v_orders, 'gross_fen', v_gross, 'subsidy_fen', v_subsidy,
                            'net_fen', v_gross - v_subsidy);
END $$;
