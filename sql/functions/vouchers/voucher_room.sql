-- How much more a voucher of a programme may pay on an order of p_gross of which p_paid is
-- already subsidised, for pricing (match_subsidy, plan_price; redeem_one checks the same rules
-- under its locks): the programme's share p_bp of the gross less p_paid, and, when the
-- programme caps each institute (p_cap), what the cap leaves after p_redeemed (redeemed so
-- far) and p_used (priced so far in this plan). Not bounded by the voucher's balance.
CREATE FUNCTION voucher_room(p_gross bigint, p_bp integer, p_paid bigint, p_cap bigint,
                             p_redeemed bigint, p_used bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_cap IS NULL THEN floor(p_gross::numeric * p_bp / 10000)::bigint - p_paid
              ELSE least(floor(p_gross::numeric * p_bp / 10000)::bigint - p_paid,
                         p_cap - p_redeemed - p_used) END
$$;
