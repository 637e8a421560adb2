/* check_roles.c — the database role the server runs as cannot rewrite history (issue 15).
 * `suanlid migrate` runs as the owner role; serve connects as the runtime role (suanli_app),
 * which may only EXECUTE the API's functions and read or write the few columns that
 * server/migrate.c grants. These cases connect as that role, as an attacker holding the
 * server's database credentials would, and try to edit, delete or truncate history, disable
 * the triggers that guard it, change the schema, and register a checkpoint signer. */
#include "world.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static struct world w;
static char *program;

static void up(void) {
    world_setup(&w, "roles", WORLD_OFFER);
    program = world_program(&w, NULL);
    struct th_resp v = world_voucher(&w, program, w.inst_org, 50000, NULL, NULL);
    th_resp_free(&v);
}

static int down(void) {
    free(program);
    program = NULL;
    return world_teardown(&w);
}

static PGconn *runtime_connect(void) {
    PGconn *pg = PQconnectdb(w.srv.appurl);
    ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "cannot connect as the runtime role: %s",
                  PQerrorMessage(pg));
    return pg;
}

static long long sql_int(const char *sql) {
    char *v = th_sql(w.dburl, sql);
    long long n = v ? atoll(v) : -1;
    free(v);
    return n;
}

/* Runs sql as the runtime role; it must fail with insufficient_privilege (42501). */
static void refused(PGconn *pg, const char *sql) {
    PGresult *r = PQexec(pg, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_FATAL_ERROR, "as the runtime role, %s succeeded", sql);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    ck_assert_msg(state != NULL && strcmp(state, "42501") == 0, "%s: SQLSTATE %s (%s)", sql,
                  state ? state : "?", PQresultErrorMessage(r));
    PQclear(r);
}

START_TEST(the_server_serves_as_the_runtime_role_which_is_no_superuser) {
    /* the world above was built through the API of a server connected as suanli_app */
    ck_assert_int_gt(sql_int("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                             "current_database() AND application_name = 'suanlid' AND "
                             "usename = 'suanli_app'"),
                     0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                             "current_database() AND application_name = 'suanlid' AND "
                             "usename <> 'suanli_app'"),
                     0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM pg_roles WHERE rolname = 'suanli_app' AND "
                             "NOT rolsuper AND NOT rolcreaterole AND NOT rolcreatedb AND NOT "
                             "rolreplication AND NOT rolbypassrls"),
                     1);
    /* every function it may call runs as the owner, with a search path it cannot change,
     * except pure (IMMUTABLE) ones and those whose standard SQL body depends on no table;
     * helpers that take a table row it cannot call at all */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM pg_proc p WHERE pronamespace = "
                             "'api'::regnamespace AND provolatile <> 'i' AND "
                             "has_function_privilege('suanli_app', oid, 'EXECUTE') AND NOT "
                             "(prosecdef AND proconfig @> ARRAY['search_path=public, api, "
                             "pg_temp']) AND NOT (prosqlbody IS NOT NULL AND NOT EXISTS ("
                             "SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass"
                             " AND d.objid = p.oid AND d.refclassid = 'pg_class'::regclass))"),
                     0);
    /* ts() is such a helper, and so the planner inlines it: the statement's plan calls
     * to_char, not ts */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM pg_proc WHERE oid = "
                             "'api.ts(timestamptz)'::regprocedure AND NOT prosecdef AND "
                             "proconfig IS NULL AND provolatile = 's'"),
                     1);
    ck_assert_int_gt(sql_int("SELECT count(*) FROM pg_proc WHERE pronamespace = "
                             "'api'::regnamespace AND prosecdef"),
                     50);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM pg_proc p WHERE pronamespace = "
                             "'api'::regnamespace AND (prosecdef OR has_function_privilege("
                             "'suanli_app', p.oid, 'EXECUTE')) AND EXISTS (SELECT 1 FROM "
                             "unnest(proargtypes) a JOIN pg_type t ON t.oid = a WHERE "
                             "t.typtype = 'c')"),
                     0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM pg_proc WHERE oid = 'api.offer_visible(jsonb, "
                             "offers)'::regprocedure AND NOT prosecdef"),
                     1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM pg_proc WHERE pronamespace = "
                             "'api'::regnamespace AND has_function_privilege('public', oid, "
                             "'EXECUTE')"),
                     0);
    PGconn *pg = runtime_connect();
    PGresult *r = PQexec(pg, "EXPLAIN (VERBOSE, COSTS OFF) SELECT ts(now())");
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    char plan[1024] = "";
    for (int i = 0; i < PQntuples(r); i++)
        snprintf(plan + strlen(plan), sizeof plan - strlen(plan), "%s\n", PQgetvalue(r, i, 0));
    PQclear(r);
    ck_assert_msg(strstr(plan, "to_char(") != NULL && strstr(plan, "ts(") == NULL, "%s", plan);
    r = PQexec(pg, "SELECT current_user, current_setting('statement_timeout'), "
                   "current_setting('TimeZone'), current_setting('search_path')");
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "suanli_app");
    /* the session settings are the database's (migrate), not SETs of each connection */
    ck_assert_str_eq(PQgetvalue(r, 0, 1), "5s");
    ck_assert_str_eq(PQgetvalue(r, 0, 2), "UTC");
    ck_assert_str_eq(PQgetvalue(r, 0, 3), "public, api");
    PQclear(r);
    PQfinish(pg);
}
END_TEST

START_TEST(history_cannot_be_edited_deleted_or_truncated) {
    ck_assert_int_gt(sql_int("SELECT count(*) FROM audit_events"), 0);
    ck_assert_int_gt(sql_int("SELECT count(*) FROM ledger_entries"), 0);
    ck_assert_int_gt(sql_int("SELECT count(*) FROM ledger_postings"), 0);
    long long events = sql_int("SELECT count(*) FROM audit_events");
    long long postings = sql_int("SELECT count(*) FROM ledger_postings");
    PGconn *pg = runtime_connect();
    const char *tables[] = {"audit_events",   "audit_chain",     "audit_checkpoints",
                            "ledger_entries", "ledger_postings", "redemptions",
                            "vouchers",       "programs",        "orders"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT attname FROM pg_attribute WHERE attrelid = '%s'::regclass AND attnum > 0 "
                 "AND NOT attisdropped AND attidentity = '' AND attgenerated = '' ORDER BY attnum "
                 "LIMIT 1",
                 tables[i]);
        char *column = th_sql(w.dburl, sql);
        ck_assert_ptr_nonnull(column);
        snprintf(sql, sizeof sql, "UPDATE %s SET %s = %s", tables[i], column, column);
        free(column);
        refused(pg, sql);
        snprintf(sql, sizeof sql, "DELETE FROM %s", tables[i]);
        refused(pg, sql);
        snprintf(sql, sizeof sql, "TRUNCATE %s", tables[i]);
        refused(pg, sql);
        snprintf(sql, sizeof sql, "TRUNCATE %s CASCADE", tables[i]);
        refused(pg, sql);
    }
    /* nor read what it has no column grant for */
    refused(pg, "SELECT password_hash FROM users");
    refused(pg, "SELECT data FROM audit_events");
    PQfinish(pg);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM audit_events"), events);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM ledger_postings"), postings);
}
END_TEST

START_TEST(the_guarding_triggers_cannot_be_switched_off) {
    PGconn *pg = runtime_connect();
    refused(pg, "ALTER TABLE audit_events DISABLE TRIGGER ALL");
    refused(pg, "ALTER TABLE ledger_postings DISABLE TRIGGER USER");
    refused(pg, "ALTER TABLE redemptions DISABLE TRIGGER ALL");
    refused(pg, "SET session_replication_role = replica");
    refused(pg, "SET SESSION AUTHORIZATION postgres");
    refused(pg, "SET ROLE postgres");
    PQfinish(pg);
}
END_TEST

START_TEST(the_schema_cannot_be_changed) {
    PGconn *pg = runtime_connect();
    refused(pg, "CREATE TABLE public.shadow (x int)");
    refused(pg, "CREATE TABLE api.shadow (x int)");
    refused(pg, "CREATE FUNCTION api.audit_append() RETURNS int LANGUAGE sql AS 'SELECT 1'");
    refused(pg, "CREATE OR REPLACE FUNCTION public.uuid_v7() RETURNS uuid LANGUAGE sql AS "
                "'SELECT NULL::uuid'");
    refused(pg, "DROP TABLE audit_chain");
    refused(pg, "DROP SCHEMA api CASCADE");
    refused(pg, "ALTER TABLE audit_events ADD COLUMN note text");
    char *trigger = th_sql(w.dburl, "SELECT tgname FROM pg_trigger WHERE tgrelid = "
                                    "'audit_events'::regclass AND NOT tgisinternal LIMIT 1");
    ck_assert_ptr_nonnull(trigger);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP TRIGGER %s ON audit_events", trigger);
    free(trigger);
    refused(pg, sql);
    PQfinish(pg);
}
END_TEST

START_TEST(a_checkpoint_signer_cannot_be_inserted) {
    PGconn *pg = runtime_connect();
    refused(pg, "INSERT INTO signing_keys (kid, paserk, status, created_at) VALUES "
                "('k4.pid.forged', 'k4.public.forged', 'current', now())");
    refused(pg, "UPDATE signing_keys SET status = 'current'");
    refused(pg, "INSERT INTO audit_checkpoints DEFAULT VALUES");
    refused(pg, "INSERT INTO audit_events DEFAULT VALUES");
    PQfinish(pg);
}
END_TEST

/* The embedded cluster (here the test cluster itself, which is one) creates the owner role,
 * which owns the database and migrates it, and the runtime role the server connects as. */
START_TEST(the_embedded_cluster_migrates_as_the_owner_and_serves_as_the_runtime_role) {
    const char *dir = getenv("SUANLI_TEST_PG_DIR"), *pg = getenv("SUANLI_TEST_PG");
    ck_assert_ptr_nonnull(dir);
    ck_assert_ptr_nonnull(pg);
    /* hold the cluster as a user, so that the server leaving does not stop it */
    char lock[PATH_MAX], env[PATH_MAX + 32], admin[1024], db[1024];
    snprintf(lock, sizeof lock, "%s/pg.users", dir);
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_SH), 0);
    snprintf(admin, sizeof admin, "%s dbname=postgres", pg);
    free(th_sql(admin, "DROP DATABASE IF EXISTS suanli WITH (FORCE)"));
    snprintf(env, sizeof env, "SUANLI_DATA_DIR=%s", dir);
    const char *const extra[] = {env, NULL};
    struct th_server s;
    th_server_start(&s, NULL, extra);
    struct th_resp r = th_req(&s, "GET", "/readyz", NULL, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    snprintf(db, sizeof db, "%s dbname=suanli", pg);
    char *owner = th_sql(db, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = "
                             "current_database()");
    ck_assert_str_eq(owner, "suanli_owner");
    free(owner);
    char *n = th_sql(db, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'api'::regnamespace "
                         "AND pg_get_userbyid(proowner) <> 'suanli_owner'");
    ck_assert_str_eq(n, "0");
    free(n);
    n = th_sql(db, "SELECT count(*) FROM pg_roles WHERE rolname IN ('suanli_owner', "
                   "'suanli_app') AND NOT rolsuper");
    ck_assert_str_eq(n, "2");
    free(n);
    n = th_sql(db, "SELECT count(*) FILTER (WHERE usename = 'suanli_app') > 0 AND count(*) "
                   "FILTER (WHERE usename <> 'suanli_app') = 0 FROM pg_stat_activity WHERE "
                   "datname = 'suanli' AND application_name = 'suanlid'");
    ck_assert_str_eq(n, "t");
    free(n);
    ck_assert_int_eq(th_server_stop(&s), 0);
    close(fd);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("roles");
    th_shared(up, down);
    th_case(s, the_server_serves_as_the_runtime_role_which_is_no_superuser, 180, NULL, NULL);
    th_case(s, history_cannot_be_edited_deleted_or_truncated, 180, NULL, NULL);
    th_case(s, the_guarding_triggers_cannot_be_switched_off, 180, NULL, NULL);
    th_case(s, the_schema_cannot_be_changed, 180, NULL, NULL);
    th_case(s, a_checkpoint_signer_cannot_be_inserted, 180, NULL, NULL);
    th_case(s, the_embedded_cluster_migrates_as_the_owner_and_serves_as_the_runtime_role, 180, NULL,
            NULL);
    return s;
}

int main(void) {
    return th_run(make_suite());
}
