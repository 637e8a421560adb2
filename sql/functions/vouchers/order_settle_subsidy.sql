-- When an order completes, its subsidy becomes owed to the provider: a trigger, so that no
-- completion path can forget the ledger.
CREATE FUNCTION order_settle_subsidy() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  x record;
  v_provider uuid;
BEGIN
  SELECT provider_id INTO v_provider FROM offers WHERE id = NEW.offer_id;
  FOR x IN SELECT program_id, sum(amount_fen)::bigint AS amount FROM redemptions
            WHERE order_id = NEW.id AND status = 'applied' GROUP BY program_id ORDER BY program_id
  LOOP
    PERFORM ledger_move(system_actor('order-settlement'), 'settle', x.program_id, NULL, NEW.id,
                        NULL, 'order_subsidy', NEW.id, 'provider_receivable', v_provider, x.amount);
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER orders_settle_subsidy AFTER UPDATE OF status ON orders FOR EACH ROW
  WHEN (OLD.status = 'reserved' AND NEW.status = 'completed' AND NEW.subsidy_fen > 0)
  EXECUTE FUNCTION order_settle_subsidy();
