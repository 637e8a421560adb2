-- A programme as the API shows it. Display-time rule (voucher_release_due): the balances of its
-- vouchers past their expiry and not yet released count as released already, as they will
-- once the maintenance runner releases them. Its window and rules are program_public_json's.
CREATE FUNCTION program_json(p programs) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT program_public_json(p) || jsonb_build_object(
    'issued_fen', p.issued_fen, 'redeemed_fen', r.redeemed, 'released_fen', p.released_fen + r.due,
    'outstanding_fen', p.issued_fen - p.released_fen - r.due - r.redeemed,
    'available_fen', p.budget_fen - p.issued_fen + p.released_fen + r.due,
    'created_at', ts(p.created_at), 'updated_at', ts(p.updated_at))
    FROM (SELECT program_redeemed(p.id) AS redeemed,
                 (SELECT coalesce(sum(v.balance_fen), 0) FROM vouchers v
                   WHERE v.program_id = p.id AND v.status IN ('active', 'exhausted')
                     AND v.expires_at <= now()) AS due) r
$$;
