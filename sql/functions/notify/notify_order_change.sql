-- order.created and order.cancelled, to the provider whose offer the order is on.
CREATE FUNCTION notify_order_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_offer offers;
BEGIN
  SELECT * INTO v_offer FROM offers WHERE id = NEW.offer_id;
  PERFORM notify_insert(v_offer.provider_id,
                        CASE TG_OP WHEN 'INSERT' THEN 'order.created' ELSE 'order.cancelled' END,
                        'order', NEW.id,
                        jsonb_build_object('offer_id', NEW.offer_id, 'accelerator', v_offer.accelerator,
                                           'region', v_offer.region, 'institute_id', NEW.institute_id,
                                           'units', NEW.units, 'start', ts(NEW.start_at),
                                           'end', ts(NEW.end_at), 'gross_fen', NEW.gross_fen));
  RETURN NULL;
END $$;

CREATE TRIGGER orders_notify_created AFTER INSERT ON orders
  FOR EACH ROW EXECUTE FUNCTION notify_order_change();
CREATE TRIGGER orders_notify_cancelled AFTER UPDATE OF status ON orders
  FOR EACH ROW WHEN (NEW.status = 'cancelled' AND OLD.status <> 'cancelled')
  EXECUTE FUNCTION notify_order_change();
