/* check_db.c — server/db.c against a real PostgreSQL (a fresh database of the test cluster):
 * what a statement leaves behind in the caller's transaction. */
#include "harness.h"

#include "db.h"

#include <stdlib.h>
#include <string.h>

static char *dburl;

static void world_up(void) {
    dburl = th_db_create("db");
    /* the usual statement timeout is the database's, as `suanlid migrate` sets it */
    free(th_sql(dburl, "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET statement_timeout = "
                       "1000', current_database()); END $$"));
    db_init(dburl, NULL, 1000);
}

static int world_down(void) {
    db_cleanup();
    free(dburl);
    return 0;
}

/* The statement timeout in force on this thread's connection, as PostgreSQL shows it. */
static char *timeout_now(void) {
    PGresult *r;
    ck_assert_int_eq(db_exec("SELECT current_setting('statement_timeout')", 0, NULL, &r), 1);
    char *value = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return value;
}

static void assert_long_statement_timeout(void) {
    PGresult *r;
    ck_assert_int_eq(
        db_exec_long("SELECT current_setting('statement_timeout')", 0, NULL, &r, 60000), 1);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "1min");
    PQclear(r);
}

START_TEST(long_statement_in_a_transaction_leaves_the_usual_timeout_after_it) {
    ck_assert_int_eq(db_begin(), 0);
    assert_long_statement_timeout();
    char *after = timeout_now();
    ck_assert_str_eq(after, "1s");
    free(after);
    db_rollback();
}
END_TEST

START_TEST(long_statement_alone_runs_in_a_transaction_of_its_own) {
    assert_long_statement_timeout();
    ck_assert(!db_in_transaction());
    char *after = timeout_now();
    ck_assert_str_eq(after, "1s");
    free(after);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("db");
    th_shared(world_up, world_down);
    th_case(s, long_statement_in_a_transaction_leaves_the_usual_timeout_after_it, 60, NULL, NULL);
    th_case(s, long_statement_alone_runs_in_a_transaction_of_its_own, 60, NULL, NULL);
    return s;
}

int main(void) {
    return th_run(make_suite());
}
