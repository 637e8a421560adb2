-- program.budget_threshold: the programme's committed money (issued − released) passed 80 % or
-- 100 % of its budget, upwards, in this change; to the programme's city. Changes of one
-- programme are serialised by its row lock, so a passing is seen exactly once; passing again
-- after falling back is notified again.
CREATE FUNCTION notify_program_budget() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_old numeric := OLD.issued_fen - OLD.released_fen;
  v_new numeric := NEW.issued_fen - NEW.released_fen;
  v_pct integer;
BEGIN
  IF NEW.budget_fen <= 0 THEN
    RETURN NULL;
  END IF;
  FOREACH v_pct IN ARRAY ARRAY[80, 100] LOOP
    IF v_new * 100 >= NEW.budget_fen * v_pct
       AND (v_old * 100 < OLD.budget_fen * v_pct OR OLD.budget_fen <= 0) THEN
      PERFORM notify_insert(NEW.city_id, 'program.budget_threshold', 'program', NEW.id,
                            jsonb_build_object('program_name', NEW.name, 'threshold_pct', v_pct,
                                               'budget_fen', NEW.budget_fen,
                                               'committed_fen', v_new::bigint,
                                               'available_fen', NEW.budget_fen - v_new::bigint));
    END IF;
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER programs_notify_budget AFTER UPDATE OF issued_fen, released_fen, budget_fen
  ON programs FOR EACH ROW EXECUTE FUNCTION notify_program_budget();
