-- Append-only tables: the audit log (audit_events), its hash chain and signed checkpoints, and
-- the ledger (a correction is a new entry). A trigger refuses UPDATE, DELETE and TRUNCATE for
-- every role but a superuser who disables it on purpose (which the audit chain then exposes).
CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = '42501';
END $$;

-- The same two triggers on each append-only table.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['audit_events', 'audit_chain', 'audit_checkpoints', 'ledger_entries',
                           'ledger_postings'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW '
                   'EXECUTE FUNCTION forbid_change()', t || '_append_only', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                   'EXECUTE FUNCTION forbid_change()', t || '_no_truncate', t);
  END LOOP;
END $$;
