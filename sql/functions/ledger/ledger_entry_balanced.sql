-- The last line of defence for I1: at commit, every entry of the transaction must have at
-- least two postings that sum to zero.
CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_sum numeric;
  v_n integer;
BEGIN
  SELECT coalesce(sum(amount_fen), 0), count(*) INTO v_sum, v_n
    FROM ledger_postings WHERE entry_id = NEW.id;
  IF v_sum <> 0 OR v_n < 2 THEN
    RAISE EXCEPTION 'ledger entry % (%) does not balance: % postings summing to %',
                    NEW.id, NEW.kind, v_n, v_sum
      USING ERRCODE = '23514', CONSTRAINT = 'ledger_entries_balanced';
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();
