-- Group commit (SUANLI_GROUP_COMMIT=on, server/group.c): several requests' one-round-trip
-- redemptions in one statement, so one transaction and one commit. p_items is a JSON array of
-- redemption_create_as's eleven arguments as text (or null) per request. Each runs in a block of
-- its own (a savepoint), in the order of its voucher (so that two groups lock vouchers in the
-- same order), and has one row: i its index in p_items, the columns of redemption_create_as,
-- and failed the SQLSTATE of its refusal or error (then undone, nothing else of the group is).
-- A request without a row of redemption_create_as (not the plain case) has w_user NULL. Both
-- take the server's usual path again after the group has committed.
CREATE FUNCTION redemption_create_group(p_items jsonb,
                                        OUT i integer, OUT failed text,
                                        OUT w_user uuid, OUT w_role text, OUT w_org uuid,
                                        OUT w_city text, OUT w_credential uuid,
                                        OUT w_redemption jsonb)
RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE
  v_item record;
  a jsonb;
BEGIN
  FOR v_item IN SELECT e.a, e.n - 1 AS k FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(a, n)
                ORDER BY e.a->>7, e.n LOOP
    a := v_item.a;
    i := v_item.k;
    failed := NULL;
    w_user := NULL; w_role := NULL; w_org := NULL; w_city := NULL; w_credential := NULL;
    w_redemption := NULL;
    BEGIN
      SELECT r.w_user, r.w_role, r.w_org, r.w_city, r.w_credential, r.w_redemption
        INTO w_user, w_role, w_org, w_city, w_credential, w_redemption
        FROM redemption_create_as(a->>0, (a->>1)::boolean, a->>2, a->>3, a->>4, a->>5, a->>6,
                                  (a->>7)::uuid, (a->>8)::uuid, (a->>9)::bigint,
                                  (a->>10)::boolean) r;
    EXCEPTION WHEN OTHERS THEN
      failed := SQLSTATE;
      w_user := NULL; w_role := NULL; w_org := NULL; w_city := NULL; w_credential := NULL;
      w_redemption := NULL;
    END;
    RETURN NEXT;
  END LOOP;
END $$;
