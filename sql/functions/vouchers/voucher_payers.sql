-- The vouchers of p_ids (n: their place in it) that institute p_org could pay with on offer f
-- right now: its own, active, inside their validity window, of an active programme whose rules
-- admit the offer (its classes, regions and green share, the provider accredited or the
-- programme open to all, no related parties); with what redeem_one's limits need to price them
-- the same way: the programme's share for this offer (program_subsidy_bp: the base,
-- domestic-accelerator or west-zone tier), the lifetime and this year's caps per institute with
-- what the institute has redeemed under each, and the cap per contract with, for a voucher
-- issued on an application, that contract's value and what its vouchers have paid so far (no
-- application: the order is the contract). For pricing (match_subsidy, plan_price): nothing is
-- locked. Callers order by n.
CREATE FUNCTION voucher_payers(p_org uuid, f offers, p_ids uuid[])
RETURNS TABLE (id uuid, balance_fen bigint, program_id uuid, max_subsidy_bp integer,
               per_institute_cap_fen bigint, redeemed bigint, year_cap_fen bigint,
               year_redeemed bigint, contract_bp integer, application_id uuid,
               contract_value_fen bigint, contract_used bigint, n bigint)
LANGUAGE sql STABLE AS $$
  SELECT v.id, v.balance_fen, v.program_id, (program_subsidy_bp(p, f)).bp, p.per_institute_cap_fen,
         coalesce(t.redeemed_fen, 0), p.per_institute_year_cap_fen, coalesce(y.redeemed_fen, 0),
         p.per_contract_cap_bp, a.id, a.contract_value_fen,
         CASE WHEN a.id IS NULL THEN 0 ELSE
           (SELECT coalesce(sum(r.amount_fen), 0) FROM redemptions r JOIN vouchers v2 ON v2.id = r.voucher_id
             WHERE v2.application_id = a.id AND r.status = 'applied')::bigint END,
         u.n
    FROM unnest(p_ids) WITH ORDINALITY u(id, n)
    JOIN vouchers v ON v.id = u.id
    JOIN programs p ON p.id = v.program_id
    LEFT JOIN program_institute_totals t
           ON t.program_id = p.id AND t.institute_id = v.institute_id
    LEFT JOIN program_institute_years y
           ON y.program_id = p.id AND y.institute_id = v.institute_id
          AND y.year = extract(year FROM now() AT TIME ZONE 'UTC')::integer
    LEFT JOIN applications a ON a.id = v.application_id AND a.contract_value_fen IS NOT NULL
   WHERE v.institute_id = p_org AND v.status = 'active'
     AND now() >= v.not_before AND now() < v.expires_at
     AND program_state(p) = 'active'
     AND f.resource_class = ANY (p.resource_classes) AND f.region = ANY (p.regions)
     AND f.green_share >= p.min_green_share
     AND program_provider_admitted(p, f.provider_id)
     AND NOT related_party_exists(f.provider_id, v.institute_id)
$$;
