-- When an order completes, its subsidy becomes owed to the provider: a trigger, so that no
-- completion path can forget the ledger. One entry per applied redemption and funder's share
-- (ledger_move_funded), so that what is owed is known per programme and per funder.
CREATE FUNCTION order_settle_subsidy() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r redemptions;
  v_provider uuid;
BEGIN
  SELECT provider_id INTO v_provider FROM offers WHERE id = NEW.offer_id;
  FOR r IN SELECT * FROM redemptions WHERE order_id = NEW.id AND status = 'applied'
            ORDER BY program_id, id
  LOOP
    PERFORM ledger_move_funded(system_actor('order-settlement'), 'settle', r.program_id,
                               r.voucher_id, NEW.id, r.id, 'order_subsidy', NEW.id,
                               'provider_receivable', v_provider, r.amount_fen, r.funder_shares);
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER orders_settle_subsidy AFTER UPDATE OF status ON orders FOR EACH ROW
  WHEN (OLD.status = 'reserved' AND NEW.status = 'completed' AND NEW.subsidy_fen > 0)
  EXECUTE FUNCTION order_settle_subsidy();
