/* check_faults.c — a write whose connection is lost after it committed is never applied twice.
 *
 * The PostgreSQL backend running a redemption, an order or an issuance (sent without an
 * Idempotency-Key) is terminated right after its transaction committed: the test cluster is
 * told to wait for a synchronous standby that does not exist, so every commit is durable
 * locally and then waits (wait event SyncRep) for the standby; the test terminates the
 * waiting backend with pg_terminate_backend from a connection of its own. The change stays
 * committed, the server loses its connection without an answer, and must not send the
 * statement again: it answers 503 outcome-unknown. Each case repeats this many times and then
 * counts the rows: exactly one per request, and no statement was ever seen waiting twice for
 * one request. */
#include "world.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KILLS 12          /* requests killed right after commit, per case */
#define MAX_SHOTS (KILLS * 3)

static struct world w;

/* Commits wait for a standby named 'suanli_absent_standby' (on) or for none (off). The
 * setting is the test cluster's (ALTER SYSTEM), so it is cleared before the world is built
 * too: a run cut short would otherwise leave every later commit waiting. */
static void sync_wait(bool on) {
    char admin[512];
    snprintf(admin, sizeof admin, "%s dbname=postgres", getenv("SUANLI_TEST_PG"));
    free(th_sql(admin, on ? "ALTER SYSTEM SET synchronous_standby_names = 'suanli_absent_standby'"
                          : "ALTER SYSTEM RESET synchronous_standby_names"));
    free(th_sql(admin, "SELECT pg_reload_conf()"));
    ck_assert(th_sql_wait(admin, "SHOW synchronous_standby_names",
                          on ? "suanli_absent_standby" : "", 30000));
}

static void up(void) {
    sync_wait(false);
    world_setup(&w, "faults", WORLD_OFFER);
}

/* After the last case (outside any test, so without assertions): a failed case does not run
 * its teardown, and must not leave the cluster's commits waiting for later suites. */
static int down(void) {
    char admin[512];
    snprintf(admin, sizeof admin, "%s dbname=postgres", getenv("SUANLI_TEST_PG"));
    PGconn *pg = PQconnectdb(admin);
    bool reset = PQstatus(pg) == CONNECTION_OK;
    const char *const sql[] = {"ALTER SYSTEM RESET synchronous_standby_names",
                               "SELECT pg_reload_conf()"};
    for (size_t i = 0; reset && i < 2; i++) {
        PGresult *r = PQexec(pg, sql[i]);
        reset = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
    }
    PQfinish(pg);
    int rc = world_teardown(&w);
    return reset ? rc : 1;
}

/* A case that failed half way may have left commits waiting: every case starts without. */
static void setup(void) {
    sync_wait(false);
}

static void teardown(void) {
    sync_wait(false);
    world_ledger_ok(&w);
}

struct shot {
    const char *path, *body;
    const struct th_auth *by;
    struct th_resp resp;
    atomic_bool done;
};

static void *send_shot(void *arg) {
    struct shot *s = arg;
    s->resp = th_req(&w.srv, "POST", s->path, s->by, s->body, NULL);
    atomic_store(&s->done, true);
    return NULL;
}

/* Terminates every suanlid backend that waits for the standby, while the request is under
 * way; adds the process ids of those that were running fn (the request's statement) to pids
 * (a terminated backend stays listed until it has exited). */
static void kill_waiters(PGconn *pg, const char *fn, int pids[MAX_SHOTS], int *npids) {
    const char *params[] = {fn};
    PGresult *r = PQexecParams(
        pg,
        "SELECT pid, query LIKE '%' || $1 || '(%', pg_terminate_backend(pid) "
        "FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND application_name = 'suanlid'",
        1, NULL, params, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(pg));
    for (int i = 0; i < PQntuples(r); i++) {
        if (strcmp(PQgetvalue(r, i, 1), "t") != 0)
            continue;
        int pid = atoi(PQgetvalue(r, i, 0)), k = 0;
        while (k < *npids && pids[k] != pid)
            k++;
        if (k == *npids && *npids < MAX_SHOTS)
            pids[(*npids)++] = pid;
    }
    PQclear(r);
}

/* Sends POST path body as by (the statement runs SQL function fn) until KILLS of these
 * requests had their backend terminated after commit. Returns how many requests were sent;
 * asserts that each killed request answered 503 outcome-unknown (and was not sent twice), and
 * each other one 201. */
static int shoot(const char *path, const char *(*body)(int i), const struct th_auth *by,
                 const char *fn) {
    PGconn *pg = PQconnectdb(w.dburl);
    ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
    sync_wait(true);
    int killed = 0, sent = 0;
    while (killed < KILLS && sent < MAX_SHOTS) {
        struct shot s = {.path = path, .body = body(sent), .by = by};
        atomic_init(&s.done, false);
        pthread_t t;
        ck_assert(pthread_create(&t, NULL, send_shot, &s) == 0);
        int pids[MAX_SHOTS], kills = 0;
        while (!atomic_load(&s.done)) {
            kill_waiters(pg, fn, pids, &kills);
            usleep(2000);
        }
        pthread_join(t, NULL);
        sent++;
        ck_assert_msg(kills <= 1, "request %d: its statement waited for commit %d times (sent again "
                                  "after the connection was lost)", sent, kills);
        if (kills == 1) {
            killed++;
            th_assert_problem(&s.resp, 503, "outcome-unknown");
            char *ra = th_header(&s.resp, "Retry-After");
            ck_assert_ptr_nonnull(ra);
            free(ra);
        } else {
            th_assert_status(&s.resp, 201);
        }
        th_resp_free(&s.resp);
    }
    PQfinish(pg);
    sync_wait(false);
    ck_assert_msg(killed == KILLS, "only %d of %d requests were caught waiting for the standby",
                  killed, KILLS);
    return sent;
}

/* ==== redemptions ========================================================================= */

static char *voucher, *order;

static const char *redemption_body(int i) {
    (void)i;
    static char b[256];
    snprintf(b, sizeof b, "{\"voucher_id\":\"%s\",\"order_id\":\"%s\",\"amount_fen\":1}", voucher,
             order);
    return b;
}

/* POST /v1/redemptions runs as one statement, redemption_create_as (api/redemptions.c). */
START_TEST(a_redemption_killed_after_commit_is_applied_once) {
    char *program = world_program(&w, NULL);
    voucher = world_voucher_id(&w, program, w.inst_org, 100000);
    order = world_order(&w, &w.inst, NULL, 1, 10, "2030-02-01T00:00:00Z"); /* gross 20 000 */
    int sent = shoot("/v1/redemptions", redemption_body, &w.inst, "redemption_create_as");
    long long n =
        world_sql_ll(&w, "SELECT count(*) FROM redemptions WHERE voucher_id = '%s'", voucher);
    ck_assert_msg(n == sent, "%d redemptions sent, %lld applied", sent, n);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT balance_fen FROM vouchers WHERE id = '%s'", voucher),
        100000 - sent);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT subsidy_fen FROM orders WHERE id = '%s'", order),
                     sent);
    free(program);
    free(voucher);
    free(order);
}
END_TEST

/* ==== orders ============================================================================== */

static char *offer;

/* Order i reserves one unit for the i-th hour from 2030-03-01. */
static const char *order_body(int i) {
    static char b[256];
    char start[32], end[32];
    time_t t = (time_t)1898553600 + (time_t)i * 3600; /* 2030-03-01T00:00:00Z */
    struct tm tm;
    strftime(start, sizeof start, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    t += 3600;
    strftime(end, sizeof end, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    snprintf(b, sizeof b, "{\"offer_id\":\"%s\",\"units\":1,\"start\":\"%s\",\"end\":\"%s\"}",
             offer, start, end);
    return b;
}

START_TEST(an_order_killed_after_commit_is_made_once) {
    offer = world_offer(&w, &w.prov, NULL);
    int sent = shoot("/v1/orders", order_body, &w.inst, "order_create");
    long long n = world_sql_ll(&w, "SELECT count(*) FROM orders WHERE offer_id = '%s'", offer);
    ck_assert_msg(n == sent, "%d orders sent, %lld made", sent, n);
    free(offer);
}
END_TEST

/* ==== issuance ============================================================================ */

static const char *issue_body(int i) {
    (void)i;
    static char b[256];
    snprintf(b, sizeof b,
             "{\"institute_id\":\"%s\",\"face_value_fen\":100,\"expires_at\":\"2030-01-01T00:00:00Z\"}",
             w.inst_org);
    return b;
}

START_TEST(an_issuance_killed_after_commit_is_made_once) {
    char *program = world_program(&w, NULL);
    char path[128];
    snprintf(path, sizeof path, "/v1/programs/%s/vouchers", program);
    int sent = shoot(path, issue_body, &w.admin, "voucher_issue");
    long long n = world_sql_ll(&w, "SELECT count(*) FROM vouchers WHERE program_id = '%s'", program);
    ck_assert_msg(n == sent, "%d issuances sent, %lld vouchers made", sent, n);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM audit_events WHERE action = "
                                  "'voucher.issue' AND subject_id IN (SELECT id FROM vouchers "
                                  "WHERE program_id = '%s')",
                                  program),
                     sent);
    free(program);
}
END_TEST

int main(void) {
    Suite *s = suite_create("faults");
    th_shared(up, down);
    th_case(s, a_redemption_killed_after_commit_is_applied_once, 600, setup, teardown);
    th_case(s, an_order_killed_after_commit_is_made_once, 600, setup, teardown);
    th_case(s, an_issuance_killed_after_commit_is_made_once, 600, setup, teardown);
    return th_run(s);
}
