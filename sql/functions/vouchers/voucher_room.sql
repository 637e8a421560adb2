-- How much more voucher x (a row of voucher_payers) may pay on an order of p_gross of which
-- p_paid is already subsidised, for pricing (match_subsidy, plan_price); redeem_one checks the
-- same limits under its locks, so that a quote is what a plan is then charged. The least of:
-- the programme's share of the gross less p_paid; the lifetime and yearly caps per institute
-- less what was redeemed and p_used (priced so far in this plan under the programme); the cap
-- per contract less what the contract has paid: the application's value less its redemptions
-- and p_contract_used (priced so far on that application), or, with no application, the
-- order's gross less p_paid. A limit the programme does not set is NULL, which least() skips.
-- Not bounded by the voucher's balance.
CREATE FUNCTION voucher_room(p_gross bigint, p_paid bigint, p_bp integer, p_cap bigint,
                             p_redeemed bigint, p_year_cap bigint, p_year_redeemed bigint,
                             p_used bigint, p_contract_bp integer, p_contract_value bigint,
                             p_contract_used bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT least(floor(p_gross::numeric * p_bp / 10000)::bigint - p_paid,
               p_cap - p_redeemed - p_used,
               p_year_cap - p_year_redeemed - p_used,
               CASE WHEN p_contract_value IS NULL
                    THEN floor(p_gross::numeric * p_contract_bp / 10000)::bigint - p_paid
                    ELSE floor(p_contract_value::numeric * p_contract_bp / 10000)::bigint
                         - p_contract_used END)
$$;
