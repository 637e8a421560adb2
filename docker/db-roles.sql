-- The two database roles of suanli (README "Database roles"), made once on the primary by the
-- db-roles service of compose.yaml as the postgres superuser; idempotent.
--   suanli_owner  owns the database and everything in it; `suanlid migrate` connects as it
--                 (SUANLI_MIGRATE_URL).
--   suanli_app    the runtime role `suanlid serve` connects as (DATABASE_URL): migrate grants it
--                 EXECUTE on the API's functions and a few column grants, nothing else.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'suanli_owner') THEN
    CREATE ROLE suanli_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'suanli_app') THEN
    CREATE ROLE suanli_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
END $$;
ALTER DATABASE suanli OWNER TO suanli_owner;
