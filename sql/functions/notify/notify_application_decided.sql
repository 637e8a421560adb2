-- application.decided: a city decided an institute's application (approved, rejected or
-- waitlisted); to the institute. Attached to the applications table of sql/schema/006 once
-- that table exists (the migration reloads this file on every run).
CREATE FUNCTION notify_application_decided() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM notify_insert(NEW.institute_id, 'application.decided', 'application', NEW.id,
                        jsonb_build_object('program_id', NEW.program_id, 'status', NEW.status,
                                           'requested_fen', NEW.requested_fen,
                                           'approved_fen', NEW.approved_fen,
                                           'voucher_id', NEW.voucher_id,
                                           'note', NEW.decision_note));
  RETURN NULL;
END $$;

DO $$
BEGIN
  IF to_regclass('public.applications') IS NOT NULL THEN
    CREATE TRIGGER applications_notify_decided AFTER UPDATE OF status ON public.applications
      FOR EACH ROW WHEN (NEW.status IN ('approved', 'rejected', 'waitlisted')
                         AND NEW.status IS DISTINCT FROM OLD.status)
      EXECUTE FUNCTION notify_application_decided();
  END IF;
END $$;
