-- POST /v1/payouts/{id}/paid {transfer_reference}: records the bank transfer of an approved
-- payout, once. The ledger moves each line's receivable to the payee (provider_receivable ->
-- payee_paid, one entry per funder's share: the line's funder, else the programme's split),
-- and each netted debt out of what was paid (payee_paid -> payee_debt).
CREATE FUNCTION payout_paid(p_actor jsonb, p_id uuid, p_reference text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  p payouts;
  i record;
BEGIN
  p := payout_lock(p_actor, p_id, 'approved');
  FOR i IN SELECT t.*, f.provider_id, g.funders FROM payout_items t
             JOIN orders o ON o.id = t.order_id JOIN offers f ON f.id = o.offer_id
             JOIN programs g ON g.id = t.program_id
            WHERE t.payout_id = p.id ORDER BY t.id
  LOOP
    IF i.kind = 'order' THEN
      PERFORM ledger_move_funded(p_actor, 'payout', i.program_id, NULL, i.order_id, NULL,
                                 'provider_receivable', i.provider_id, 'payee_paid', p.payee_id,
                                 i.amount_fen,
                                 CASE WHEN i.funder IS NOT NULL
                                      THEN jsonb_build_array(jsonb_build_object(
                                             'funder', i.funder, 'amount_fen', i.amount_fen))
                                      ELSE program_funder_shares(i.funders, i.amount_fen) END,
                                 p.id, NULL);
    ELSE
      PERFORM ledger_move(p_actor, 'net', i.program_id, NULL, i.order_id, NULL, 'payee_paid',
                          p.payee_id, 'payee_debt', p.payee_id, -i.amount_fen, p.id,
                          i.recovery_id);
    END IF;
  END LOOP;
  UPDATE payouts SET state = 'paid', paid_by = (p_actor->>'user_id')::uuid, paid_at = now(),
                     transfer_reference = p_reference
   WHERE id = p_id RETURNING * INTO p;
  PERFORM audit_append(p_actor, 'payout.paid', 'payout', p.id,
                       jsonb_build_object('payee_id', p.payee_id, 'total_fen', p.total_fen,
                                          'transfer_reference', p_reference),
                       p.city_id);
  RETURN payout_json(p, true);
END $$;
