/* check_audit.c — the audit log against real suanlid processes and PostgreSQL: every change
 * commits with its event, the application connection cannot rewrite the log, the sealer chains
 * what is committed (never past an uncommitted lower seq, across two servers at once), the
 * endpoints (filters, scope, pagination), the export and `suanlid audit-verify`, and tampering
 * with superuser access: each kind is named, at its first bad position, online and offline. */
#include "harness.h"

#include "keys.h"
#include "paseto.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const fast_sealer[] = {"SUANLI_AUDIT_SEAL_MS=50",
                                          "SUANLI_AUDIT_CHECKPOINT_MS=100", NULL};

static struct th_server srv;
static struct th_auth op;
static char *dburl;
static char workdir[64];
static char keys_path[PATH_MAX];

static void setup(void) {
    dburl = th_db_create("audit");
    th_server_start(&srv, dburl, fast_sealer);
    th_operator(&srv, &op);
    snprintf(workdir, sizeof workdir, "/tmp/audit-it-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(workdir));
    keys_path[0] = '\0';
}

static void teardown(void) {
    ck_assert_int_eq(th_server_stop(&srv), 0);
    free(dburl);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", workdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ==== helpers ============================================================================= */

static long long sql_int(const char *sql) {
    char *v = th_sql(dburl, sql);
    long long n = v ? atoll(v) : -1;
    free(v);
    return n;
}

/* Creates n cities (one audit event each); names are prefix-i. */
static void make_cities(int n, const char *prefix) {
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s-%d", prefix, i);
        free(th_org(&srv, &op, "city", name, NULL));
    }
}

static long long report_int(json_t *report, const char *name) {
    return json_integer_value(json_object_get(report, name));
}

/* Waits until every event is chained and sealed by a checkpoint; the log verifies all along. */
/* The log verifies, and every event is chained and sealed. */
static bool all_sealed(void *ctx) {
    (void)ctx;
    struct th_resp r = th_req(&srv, "GET", "/v1/audit/verify", &op, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_msg(json_is_true(json_object_get(r.json, "ok")), "the log does not verify: %s",
                  r.body);
    long long events = sql_int("SELECT count(*) FROM audit_events");
    bool done = report_int(r.json, "chain_size") == events &&
                report_int(r.json, "sealed_size") == events &&
                report_int(r.json, "unchained_events") == 0;
    th_resp_free(&r);
    return done;
}

static void wait_sealed(void) {
    ck_assert_msg(th_wait_until(all_sealed, NULL, 30000, 100),
                  "the sealer did not chain and seal every event within 30 s");
}

/* How many sealer rounds srv has ended, from its /metrics. */
static long long sealer_rounds(void) {
    return th_metric(&srv, "suanli_cron_runs_total{job=\"audit_sealer\"}");
}

struct rounds {
    long long until;
};

static bool rounds_done(void *ctx) {
    return sealer_rounds() >= ((struct rounds *)ctx)->until;
}

/* Waits until the sealer has run n whole rounds that began after now. */
static void wait_sealer_rounds(int n) {
    struct rounds rd = {sealer_rounds() + n + 1}; /* one may be under way now */
    ck_assert_msg(th_wait_until(rounds_done, &rd, 30000, 20),
                  "the sealer did not run %d rounds within 30 s", n);
}

static void write_file(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* The public keys as an auditor gets them: the saved GET /v1/keys answer. */
static const char *saved_keys(void) {
    if (keys_path[0])
        return keys_path;
    snprintf(keys_path, sizeof keys_path, "%s/keys.json", workdir);
    struct th_resp r = th_req(&srv, "GET", "/v1/keys", NULL, NULL, NULL);
    th_assert_status(&r, 200);
    write_file(keys_path, r.body, strlen(r.body));
    th_resp_free(&r);
    return keys_path;
}

/* Saves GET /v1/audit/export as who under name; returns the path. */
static const char *save_export(const struct th_auth *who, const char *name) {
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", workdir, name);
    struct th_resp r = th_req(&srv, "GET", "/v1/audit/export", who, NULL, NULL);
    th_assert_status(&r, 200);
    char *ct = th_header(&r, "Content-Type");
    ck_assert_msg(ct && strncmp(ct, "application/jsonl", 17) == 0, "Content-Type %s", ct);
    free(ct);
    write_file(path, r.body, strlen(r.body));
    th_resp_free(&r);
    return path;
}

/* Runs `suanlid audit-verify`; returns its report and exit status. */
static json_t *audit_verify(const char *export_path, int *status) {
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "%s audit-verify %s --keys %s 2>>%s", th_suanlid(), export_path,
             saved_keys(), srv.log);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 1 << 16, len = 0, n;
    char *out = calloc(1, cap);
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0)
        len += n;
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    json_t *report = json_loads(out, 0, NULL);
    ck_assert_msg(report != NULL, "audit-verify printed no report: %s", out);
    free(out);
    return report;
}

static void assert_first_bad(json_t *report, long long position, const char *reason,
                             const char *who) {
    char *text = json_dumps(report, 0);
    json_t *bad = json_object_get(report, "first_bad");
    ck_assert_msg(json_is_false(json_object_get(report, "ok")), "%s: the log verified: %s", who,
                  text);
    ck_assert_msg(json_integer_value(json_object_get(bad, "position")) == position &&
                      json_string_value(json_object_get(bad, "reason")) &&
                      strcmp(json_string_value(json_object_get(bad, "reason")), reason) == 0,
                  "%s: expected %s at position %lld: %s", who, reason, position, text);
    free(text);
}

/* Both verifiers accept the log now; after sql (run as superuser) both name reason at the
 * position that position_sql computed before the change. */
static void tamper_and_expect(const char *sql, const char *position_sql, const char *reason) {
    wait_sealed();
    int status;
    json_t *before = audit_verify(save_export(&op, "before.jsonl"), &status);
    ck_assert_msg(status == 0 && json_is_true(json_object_get(before, "ok")),
                  "the export does not verify before tampering");
    json_decref(before);
    long long position = sql_int(position_sql);
    ck_assert_int_gt(position, 0);

    free(th_sql(dburl, sql));

    struct th_resp r = th_req(&srv, "GET", "/v1/audit/verify", &op, NULL, NULL);
    th_assert_status(&r, 200);
    assert_first_bad(r.json, position, reason, "GET /v1/audit/verify");
    th_resp_free(&r);
    json_t *after = audit_verify(save_export(&op, "after.jsonl"), &status);
    ck_assert_int_eq(status, 1);
    assert_first_bad(after, position, reason, "suanlid audit-verify");
    json_decref(after);
}

/* Runs sql on its own connection, expecting it to fail; returns the SQLSTATE. */
static char *sql_error(const char *sql) {
    PGconn *pg = PQconnectdb(dburl);
    ck_assert(PQstatus(pg) == CONNECTION_OK);
    PGresult *r = PQexec(pg, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_FATAL_ERROR, "%s succeeded", sql);
    char *state = strdup(PQresultErrorField(r, PG_DIAG_SQLSTATE));
    PQclear(r);
    PQfinish(pg);
    return state;
}

/* ==== I5: no change without its event, no rewriting ======================================= */

START_TEST(a_change_commits_only_with_its_event) {
    /* Make the audit insert of one change fail: the change must not happen either. */
    free(th_sql(dburl, "CREATE FUNCTION refuse_doomed() RETURNS trigger LANGUAGE plpgsql AS $$ "
                       "BEGIN IF NEW.data->>'name' = 'Doomed' THEN RAISE EXCEPTION 'no'; END IF; "
                       "RETURN NEW; END $$; "
                       "CREATE TRIGGER refuse_doomed BEFORE INSERT ON audit_events FOR EACH ROW "
                       "EXECUTE FUNCTION refuse_doomed()"));
    struct th_resp r = th_req(&srv, "POST", "/v1/organizations", &op,
                              "{\"type\":\"city\",\"name\":\"Doomed\"}", NULL);
    th_assert_problem(&r, 500, "internal-error");
    th_resp_free(&r);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM organizations WHERE name = 'Doomed'"), 0);

    /* And every change that did commit has exactly its one event. */
    char *id = th_org(&srv, &op, "city", "Kept", NULL);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit_events WHERE subject_id = '%s' AND action = "
             "'organization.create' AND actor_user = '%s'",
             id, op.user_id);
    ck_assert_int_eq(sql_int(sql), 1);
    free(id);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM organizations o WHERE NOT EXISTS (SELECT 1 "
                             "FROM audit_events e WHERE e.subject_id = o.id)"),
                     0);
}
END_TEST

START_TEST(the_application_connection_cannot_rewrite_the_log) {
    make_cities(2, "Append");
    wait_sealed();
    const char *tables[] = {"audit_events", "audit_chain", "audit_checkpoints"};
    for (int i = 0; i < 3; i++) {
        char sql[128];
        const char *forms[] = {"UPDATE %s SET %s", "DELETE FROM %s", "TRUNCATE %s"};
        const char *set = i == 0 ? "data = '{}'" : i == 1 ? "seq = seq" : "kid = kid";
        for (int f = 0; f < 3; f++) {
            snprintf(sql, sizeof sql, forms[f], tables[i], set);
            char *state = sql_error(sql);
            ck_assert_msg(strcmp(state, "42501") == 0, "%s: SQLSTATE %s", sql, state);
            free(state);
        }
    }
    wait_sealed();
}
END_TEST

/* ==== the sealer ========================================================================== */

START_TEST(every_event_is_chained_and_sealed) {
    make_cities(6, "Sealed");
    wait_sealed();
    struct th_resp r =
        th_req(&srv, "GET", "/v1/audit/checkpoints?order=desc&limit=1", &op, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "items.0.size"), sql_int("SELECT count(*) FROM audit_events"));
    ck_assert_int_eq(strlen(th_str(&r, "items.0.head_hash")), 64);
    ck_assert_int_eq(strlen(th_str(&r, "items.0.signature")), 128);
    ck_assert_int_eq(keys_load(getenv("SUANLI_KEY_FILE")), 0);
    ck_assert_str_eq(th_str(&r, "items.0.kid"), keys_current()->kid);
    keys_cleanup();
    th_resp_free(&r);
    /* positions are dense and follow seq */
    ck_assert_int_eq(sql_int("SELECT max(position) - count(*) FROM audit_chain"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY position) "
                             "AS prev FROM audit_chain) x WHERE seq <= prev"),
                     0);
}
END_TEST

START_TEST(the_sealer_never_chains_past_an_uncommitted_event) {
    PGconn *held = PQconnectdb(dburl);
    ck_assert(PQstatus(held) == CONNECTION_OK);
    PGresult *r = PQexec(held, "BEGIN; SELECT audit_append('{\"role\":\"operator\",\"request_id\":"
                               "\"slow\"}', 'test.slow', 'test', NULL, '{}')");
    ck_assert(PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
    r = PQexec(held, "SELECT currval(pg_get_serial_sequence('audit_events', 'seq'))");
    long long held_seq = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);

    make_cities(3, "After");
    wait_sealer_rounds(3); /* each had the chance to chain past the held event */
    char sql[160];
    ck_assert_int_lt(sql_int("SELECT coalesce(max(seq), 0) FROM audit_chain"), held_seq);
    struct th_resp v = th_req(&srv, "GET", "/v1/audit/verify", &op, NULL, NULL);
    ck_assert_msg(json_is_true(json_object_get(v.json, "ok")), "%s", v.body);
    ck_assert_int_ge(report_int(v.json, "unchained_events"), 3);
    th_resp_free(&v);

    r = PQexec(held, "COMMIT");
    ck_assert(PQresultStatus(r) == PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(held);
    wait_sealed();
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit_chain WHERE seq > %lld AND position < (SELECT position "
             "FROM audit_chain WHERE seq = %lld)",
             held_seq, held_seq);
    ck_assert_int_eq(sql_int(sql), 0);
}
END_TEST

START_TEST(rolled_back_sequence_gaps_are_passed_once_settled) {
    make_cities(2, "Before");
    free(th_sql(dburl, "BEGIN; SELECT audit_append('{\"role\":\"operator\"}', 'test.rolled_back', "
                       "'test', NULL, '{}'); ROLLBACK"));
    make_cities(2, "After");
    wait_sealed();
    ck_assert_int_gt(sql_int("SELECT max(seq) - count(*) FROM audit_chain"), 0);
}
END_TEST

struct burst {
    struct th_server *servers[2];
    atomic_int created;
};

static void create_burst(int i, void *ctx) {
    struct burst *b = ctx;
    for (int k = 0; k < 5; k++) {
        char body[128];
        snprintf(body, sizeof body, "{\"type\":\"city\",\"name\":\"Burst-%d-%d\"}", i, k);
        struct th_resp r =
            th_req(b->servers[(i + k) % 2], "POST", "/v1/organizations", &op, body, NULL);
        if (r.status == 201)
            atomic_fetch_add(&b->created, 1);
        th_resp_free(&r);
    }
}

START_TEST(writers_on_two_servers_are_chained_by_one_sealer_at_a_time) {
    struct th_server second;
    th_server_start(&second, dburl, fast_sealer);
    struct burst b = {{&srv, &second}, 0};
    th_parallel(8, create_burst, &b);
    ck_assert_int_eq(atomic_load(&b.created), 40);
    wait_sealed();
    ck_assert_int_eq(sql_int("SELECT count(*) FROM audit_events e JOIN audit_chain c USING (seq) "
                             "WHERE e.action = 'organization.create' AND e.data->>'name' LIKE "
                             "'Burst-%'"),
                     40);
    ck_assert_int_eq(sql_int("SELECT max(position) - count(*) FROM audit_chain"), 0);
    ck_assert_int_eq(th_server_stop(&second), 0);
}
END_TEST

START_TEST(the_sealer_can_be_switched_off) {
    char *other = th_db_create("audit_off");
    struct th_server off;
    const char *const env[] = {"SUANLI_AUDIT_SEALER=off", "SUANLI_AUDIT_SEAL_MS=50", NULL};
    th_server_start(&off, other, env);
    struct th_auth boss;
    th_operator(&off, &boss);
    /* Nothing can show that a sealer that is off did not run, except time: this server's
     * rounds would come every 50 ms, so 10 of them would have passed. */
    usleep(500000);
    char *n = th_sql(other, "SELECT count(*) FROM audit_chain");
    ck_assert_str_eq(n, "0");
    free(n);
    struct th_resp r = th_req(&off, "GET", "/v1/audit/verify", &boss, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert(json_is_true(json_object_get(r.json, "ok")));
    ck_assert_int_gt(report_int(r.json, "unchained_events"), 0);
    th_resp_free(&r);
    ck_assert_int_eq(th_server_stop(&off), 0);
    free(other);
}
END_TEST

/* ==== the endpoints ======================================================================= */

struct world {
    char *city_a, *city_b, *provider_a;
    struct th_auth auditor_a, admin_a, lab;
};

static void world_make(struct world *w) {
    w->city_a = th_org(&srv, &op, "city", "Alpha", NULL);
    w->city_b = th_org(&srv, &op, "city", "Bravo", NULL);
    w->provider_a = th_org(&srv, &op, "provider", "Alpha Cloud", w->city_a);
    free(th_org(&srv, &op, "provider", "Bravo Secret Cloud", w->city_b));
    char *inst = th_org(&srv, &op, "institute", "Bravo Lab", w->city_b);
    th_user(&srv, &op, "auditor", w->city_a, "auditor@alpha.test", &w->auditor_a);
    th_user(&srv, &op, "city_admin", w->city_a, "admin@alpha.test", &w->admin_a);
    th_user(&srv, &op, "institute", inst, "lab@bravo.test", &w->lab);
    free(inst);
}

static void world_free(struct world *w) {
    free(w->city_a);
    free(w->city_b);
    free(w->provider_a);
}

/* Follows next_cursor through path (which has a query already); returns the item count. */
static int count_pages(const char *path, const struct th_auth *who, long long *first_seq) {
    char url[512], cursor[32] = "";
    int total = 0;
    for (int page = 0; page < 1000; page++) {
        snprintf(url, sizeof url, "%s%s%s", path, cursor[0] ? "&cursor=" : "", cursor);
        struct th_resp r = th_req(&srv, "GET", url, who, NULL, NULL);
        th_assert_status(&r, 200);
        json_t *items = json_object_get(r.json, "items");
        if (page == 0 && first_seq && json_array_size(items) > 0)
            *first_seq = th_int(&r, "items.0.seq");
        total += (int)json_array_size(items);
        json_t *next = json_object_get(r.json, "next_cursor");
        bool more = json_is_string(next);
        if (more)
            snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        th_resp_free(&r);
        if (!more)
            return total;
    }
    ck_abort_msg("pagination does not end");
    return -1;
}

START_TEST(events_are_filtered_and_paginated) {
    struct world w;
    world_make(&w);
    long long all = sql_int("SELECT count(*) FROM audit_events");
    long long first_asc = 0, first_desc = 0;
    ck_assert_int_eq(count_pages("/v1/audit/events?limit=3", &op, &first_asc), all);
    ck_assert_int_eq(count_pages("/v1/audit/events?limit=4&order=desc", &op, &first_desc), all);
    ck_assert_int_gt(first_desc, first_asc);

    char path[256];
    snprintf(path, sizeof path, "/v1/audit/events?subject_id=%s", w.provider_a);
    struct th_resp r = th_req(&srv, "GET", path, &op, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    ck_assert_str_eq(th_str(&r, "items.0.action"), "organization.create");
    ck_assert_str_eq(th_str(&r, "items.0.subject_type"), "organization");
    ck_assert_str_eq(th_str(&r, "items.0.actor_user_id"), op.user_id);
    ck_assert_str_eq(th_str(&r, "items.0.actor_role"), "operator");
    ck_assert_str_eq(th_str(&r, "items.0.city_id"), w.city_a);
    ck_assert_str_eq(th_str(&r, "items.0.data.name"), "Alpha Cloud");
    ck_assert_ptr_nonnull(th_str(&r, "items.0.request_id"));
    ck_assert_str_eq(th_str(&r, "items.0.client_ip"), "127.0.0.1");
    ck_assert_int_eq(strlen(th_str(&r, "items.0.at")), 27); /* microseconds */
    th_resp_free(&r);

    snprintf(path, sizeof path, "/v1/audit/events?action=user.create&actor_id=%s&limit=200",
             op.user_id);
    ck_assert_int_eq(count_pages(path, &op, NULL),
                     sql_int("SELECT count(*) FROM audit_events WHERE action = 'user.create' AND "
                             "actor_user IS NOT NULL"));
    ck_assert_int_eq(count_pages("/v1/audit/events?subject_type=api_key", &op, NULL),
                     sql_int("SELECT count(*) FROM audit_events WHERE subject_type = 'api_key'"));
    ck_assert_int_eq(count_pages("/v1/audit/events?from=2999-01-01T00:00:00Z", &op, NULL), 0);
    ck_assert_int_eq(count_pages("/v1/audit/events?to=2999-01-01T00:00:00%2B08:00", &op, NULL),
                     all);
    snprintf(path, sizeof path, "/v1/audit/events?city_id=%s", w.city_b);
    char sql_b[128];
    snprintf(sql_b, sizeof sql_b, "SELECT count(*) FROM audit_events WHERE city_id = '%s'",
             w.city_b);
    ck_assert_int_eq(count_pages(path, &op, NULL), sql_int(sql_b));

    /* the programme filter: events about the programme or naming it in their data */
    const char *prog = "0193a1b2-0000-7000-8000-000000000001";
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT audit_append('{\"role\":\"operator\"}', 'program.create', 'program', '%s', "
             "'{}'); SELECT audit_append('{\"role\":\"operator\"}', 'voucher.issue', 'voucher', "
             "NULL, '{\"program_id\":\"%s\"}')",
             prog, prog);
    free(th_sql(dburl, sql));
    snprintf(path, sizeof path, "/v1/audit/events?program_id=%s", prog);
    ck_assert_int_eq(count_pages(path, &op, NULL), 2);
    world_free(&w);
}
END_TEST

START_TEST(a_city_sees_only_its_own_events) {
    struct world w;
    world_make(&w);
    const struct th_auth *readers[] = {&w.auditor_a, &w.admin_a};
    for (int i = 0; i < 2; i++) {
        struct th_resp r =
            th_req(&srv, "GET", "/v1/audit/events?limit=200", readers[i], NULL, NULL);
        th_assert_status(&r, 200);
        json_t *items = json_object_get(r.json, "items");
        ck_assert_int_gt(json_array_size(items), 2);
        size_t k;
        json_t *item;
        json_array_foreach(items, k, item) {
            const char *city = json_string_value(json_object_get(item, "city_id"));
            ck_assert_msg(city && strcmp(city, w.city_a) == 0, "foreign event: %s", r.body);
        }
        ck_assert_ptr_null(strstr(r.body, "Bravo"));
        th_resp_free(&r);
        char path[128];
        snprintf(path, sizeof path, "/v1/audit/events?city_id=%s", w.city_b);
        ck_assert_int_eq(count_pages(path, readers[i], NULL), 0);
    }
    struct th_resp r = th_req(&srv, "GET", "/v1/audit/events", &w.lab, NULL, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = th_req(&srv, "GET", "/v1/audit/export", &w.lab, NULL, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = th_req(&srv, "GET", "/v1/audit/verify", NULL, NULL, NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
    world_free(&w);
}
END_TEST

START_TEST(bad_query_parameters_are_named) {
    const char *cases[][2] = {
        {"/v1/audit/events?limit=0", "limit"},
        {"/v1/audit/events?cursor=abc", "cursor"},
        {"/v1/audit/events?order=sideways", "order"},
        {"/v1/audit/events?from=yesterday", "from"},
        {"/v1/audit/events?to=2026-01-01", "to"},
        {"/v1/audit/events?actor_id=42", "actor_id"},
        {"/v1/audit/events?subject_id=x", "subject_id"},
        {"/v1/audit/events?program_id=x", "program_id"},
        {"/v1/audit/events?city_id=x", "city_id"},
        {"/v1/audit/events?action=a%20b", "action"},
        {"/v1/audit/events?colour=red", "colour"},
        {"/v1/audit/checkpoints?cursor=-1", "cursor"},
        {"/v1/audit/checkpoints?limit=201", "limit"},
        {"/v1/audit/verify?deep=1", "deep"},
        {"/v1/audit/export?since=1", "since"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct th_resp r = th_req(&srv, "GET", cases[i][0], &op, NULL, NULL);
        th_assert_problem(&r, 400, "invalid-query");
        ck_assert_msg(strcmp(th_str(&r, "errors.0.field"), cases[i][1]) == 0, "%s: %s", cases[i][0],
                      r.body);
        th_resp_free(&r);
    }
}
END_TEST

START_TEST(checkpoints_are_paginated) {
    for (int i = 0; i < 4; i++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "Cp%d", i);
        make_cities(1, prefix);
        wait_sealed();
    }
    long long all = sql_int("SELECT count(*) FROM audit_checkpoints");
    ck_assert_int_ge(all, 4);
    ck_assert_int_eq(count_pages("/v1/audit/checkpoints?limit=1", &op, NULL), all);
    ck_assert_int_eq(count_pages("/v1/audit/checkpoints?limit=3&order=desc", &op, NULL), all);
}
END_TEST

/* ==== export and offline verification ===================================================== */

START_TEST(an_export_verifies_offline_with_the_public_keys_alone) {
    make_cities(5, "Export");
    wait_sealed();
    int status;
    json_t *report = audit_verify(save_export(&op, "all.jsonl"), &status);
    char *text = json_dumps(report, 0);
    ck_assert_msg(status == 0 && json_is_true(json_object_get(report, "ok")), "%s", text);
    free(text);
    long long events = sql_int("SELECT count(*) FROM audit_events");
    ck_assert_int_eq(report_int(report, "chain_size"), events);
    ck_assert_int_eq(report_int(report, "sealed_size"), events);
    ck_assert_int_eq(report_int(report, "events"), events);
    ck_assert_int_eq(report_int(report, "redacted"), 0);
    json_decref(report);

    /* a key that did not sign: the checkpoints fail */
    char other[PATH_MAX];
    snprintf(other, sizeof other, "%s/other.txt", workdir);
    unsigned char pk[32], sk[64];
    char paserk[PASERK_K4_PUBLIC_LEN];
    crypto_sign_keypair(pk, sk);
    paserk_k4_public(pk, paserk);
    write_file(other, paserk, strlen(paserk));
    snprintf(keys_path, sizeof keys_path, "%s", other);
    report = audit_verify(save_export(&op, "all.jsonl"), &status);
    ck_assert_int_eq(status, 1);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(report, "first_bad"), "reason")),
        "checkpoint-signature-invalid");
    json_decref(report);
}
END_TEST

START_TEST(a_city_export_redacts_foreign_events_and_still_verifies) {
    struct world w;
    world_make(&w);
    wait_sealed();
    const char *path = save_export(&w.auditor_a, "alpha.jsonl");
    size_t len;
    FILE *f = fopen(path, "r");
    char *body = calloc(1, 1 << 20);
    len = fread(body, 1, (1 << 20) - 1, f);
    fclose(f);
    ck_assert_int_gt(len, 0);
    ck_assert_ptr_null(strstr(body, "Bravo"));
    ck_assert_ptr_nonnull(strstr(body, "\"kind\":\"redacted\""));
    ck_assert_ptr_nonnull(strstr(body, "Alpha Cloud"));
    char header[128];
    snprintf(header, sizeof header, "\"city_id\":\"%s\"}", w.city_a);
    ck_assert_ptr_nonnull(strstr(body, header));
    free(body);
    int status;
    json_t *report = audit_verify(path, &status);
    char *text = json_dumps(report, 0);
    ck_assert_msg(status == 0 && json_is_true(json_object_get(report, "ok")), "%s", text);
    free(text);
    ck_assert_int_gt(report_int(report, "redacted"), 0);
    ck_assert_int_eq(report_int(report, "events") + report_int(report, "redacted"),
                     sql_int("SELECT count(*) FROM audit_events"));
    json_decref(report);
    world_free(&w);
}
END_TEST

/* ==== tampering with superuser access ===================================================== */

#define UNGUARDED(sql)                                                                             \
    "ALTER TABLE audit_events DISABLE TRIGGER USER; ALTER TABLE audit_chain DISABLE TRIGGER "      \
    "USER; " sql "; ALTER TABLE audit_events ENABLE TRIGGER USER; ALTER TABLE audit_chain "        \
    "ENABLE TRIGGER USER"

START_TEST(tamper_edited_event_is_named) {
    make_cities(8, "Edit");
    tamper_and_expect(UNGUARDED("UPDATE audit_events SET data = jsonb_set(data, '{name}', "
                                "'\"forged\"') WHERE seq = (SELECT seq FROM audit_chain WHERE "
                                "position = 7)"),
                      "SELECT 7", "edited");
}
END_TEST

START_TEST(tamper_deleted_event_is_named) {
    make_cities(8, "Delete");
    tamper_and_expect(UNGUARDED("DELETE FROM audit_events WHERE seq = (SELECT seq FROM "
                                "audit_chain WHERE position = 6)"),
                      "SELECT 6", "missing");
}
END_TEST

START_TEST(tamper_inserted_event_is_named) {
    make_cities(3, "Insert");
    free(th_sql(dburl, "BEGIN; SELECT audit_append('{\"role\":\"operator\"}', 'test.rolled_back', "
                       "'test', NULL, '{}'); ROLLBACK"));
    make_cities(3, "Later");
    /* an event slipped into the gap the rolled-back transaction left */
    tamper_and_expect(
        "INSERT INTO audit_events (seq, action, subject_type, data) OVERRIDING SYSTEM VALUE "
        "SELECT s, 'organization.create', 'organization', '{\"name\":\"Ghost\"}' FROM "
        "generate_series(1, (SELECT max(seq) FROM audit_chain)) s WHERE s NOT IN (SELECT seq "
        "FROM audit_chain) ORDER BY s LIMIT 1",
        "SELECT min(position) FROM audit_chain WHERE seq > (SELECT min(s) FROM "
        "generate_series(1, (SELECT max(seq) FROM audit_chain)) s WHERE s NOT IN (SELECT seq "
        "FROM audit_chain))",
        "inserted");
}
END_TEST

START_TEST(tamper_swapped_events_are_named) {
    make_cities(8, "Swap");
    tamper_and_expect(
        UNGUARDED("UPDATE audit_events t SET at = s.at, actor_user = s.actor_user, actor_role = "
                  "s.actor_role, actor_org = s.actor_org, city_id = s.city_id, action = s.action, "
                  "subject_type = s.subject_type, subject_id = s.subject_id, data = s.data, "
                  "request_id = s.request_id, client_ip = s.client_ip FROM audit_events s, "
                  "(SELECT (SELECT seq FROM audit_chain WHERE position = 6) AS a, (SELECT seq "
                  "FROM audit_chain WHERE position = 9) AS b) p WHERE (t.seq = p.a AND s.seq = "
                  "p.b) OR (t.seq = p.b AND s.seq = p.a)"),
        "SELECT 6", "reordered");
}
END_TEST

START_TEST(tamper_truncated_tail_is_named) {
    make_cities(8, "Tail");
    /* the last three positions, all under a signed checkpoint, gone with their chain rows */
    tamper_and_expect(UNGUARDED("DELETE FROM audit_events WHERE seq >= (SELECT seq FROM "
                                "audit_chain WHERE position = (SELECT max(position) - 2 FROM "
                                "audit_chain)); DELETE FROM audit_chain WHERE position >= "
                                "(SELECT max(position) - 2 FROM audit_chain)"),
                      "SELECT max(position) - 2 FROM audit_chain", "truncated");
}
END_TEST

START_TEST(tamper_forged_checkpoint_is_named) {
    make_cities(4, "Forge");
    tamper_and_expect("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER; UPDATE "
                      "audit_checkpoints SET head_hash = decode(repeat('ab', 32), 'hex') WHERE "
                      "size = (SELECT max(size) FROM audit_checkpoints); ALTER TABLE "
                      "audit_checkpoints ENABLE TRIGGER USER",
                      "SELECT max(size) FROM audit_checkpoints", "checkpoint-signature-invalid");
}
END_TEST

/* ==== the witness URL ===================================================================== */

/* A loopback HTTP receiver: keeps every POST body, answers the first fail_first with 503. */
struct receiver {
    int fd, port, fail_first;
    pthread_t thread;
    pthread_mutex_t mu;
    int n;  /* bodies received */
    int ok; /* answered 2xx */
    char *bodies[64];
    atomic_bool stop;
};

static void *receive(void *arg) {
    struct receiver *rc = arg;
    while (!atomic_load(&rc->stop)) {
        int c = accept(rc->fd, NULL, NULL);
        if (c < 0)
            continue;
        char buf[8192];
        size_t len = 0;
        char *end = NULL;
        while (len < sizeof buf - 1 && (end = strstr(buf, "\r\n\r\n")) == NULL) {
            ssize_t k = recv(c, buf + len, sizeof buf - 1 - len, 0);
            if (k <= 0)
                break;
            len += (size_t)k;
            buf[len] = '\0';
        }
        if (end != NULL) {
            char *cl = strcasestr(buf, "\r\nContent-Length:");
            size_t want = cl ? (size_t)atol(cl + 17) : 0, head = (size_t)(end + 4 - buf);
            while (len < head + want && len < sizeof buf - 1) {
                ssize_t k = recv(c, buf + len, sizeof buf - 1 - len, 0);
                if (k <= 0)
                    break;
                len += (size_t)k;
            }
            buf[len] = '\0';
            pthread_mutex_lock(&rc->mu);
            bool fail = rc->n < rc->fail_first;
            if (rc->n < 64)
                rc->bodies[rc->n++] = strdup(buf + head);
            if (!fail)
                rc->ok++;
            pthread_mutex_unlock(&rc->mu);
            const char *reply = fail ? "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                       "Connection: close\r\n\r\n"
                                     : "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
            (void)send(c, reply, strlen(reply), MSG_NOSIGNAL);
        }
        close(c);
    }
    return NULL;
}

static void receiver_start(struct receiver *rc, int fail_first) {
    memset(rc, 0, sizeof *rc);
    rc->fail_first = fail_first;
    pthread_mutex_init(&rc->mu, NULL);
    rc->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(rc->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t alen = sizeof a;
    getsockname(rc->fd, (struct sockaddr *)&a, &alen);
    rc->port = ntohs(a.sin_port);
    ck_assert_int_eq(listen(rc->fd, 16), 0);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000}; /* accept wakes to see stop */
    setsockopt(rc->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    pthread_create(&rc->thread, NULL, receive, rc);
}

static void receiver_stop(struct receiver *rc) {
    atomic_store(&rc->stop, true);
    pthread_join(rc->thread, NULL);
    close(rc->fd);
    for (int i = 0; i < rc->n; i++)
        free(rc->bodies[i]);
}

static bool receiver_got_one(void *ctx) {
    struct receiver *rc = ctx;
    pthread_mutex_lock(&rc->mu);
    bool ok = rc->ok > 0;
    pthread_mutex_unlock(&rc->mu);
    return ok;
}

static long long metric(const char *body, const char *name) {
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(body, key);
    return p ? atoll(p + strlen(key)) : -1;
}

START_TEST(each_checkpoint_is_posted_to_the_witness_url_and_retried) {
    struct receiver rc;
    receiver_start(&rc, 2);
    char url[96];
    snprintf(url, sizeof url, "SUANLI_AUDIT_WITNESS_URL=http://127.0.0.1:%d/witness", rc.port);
    const char *const env[] = {"SUANLI_AUDIT_SEAL_MS=50", "SUANLI_AUDIT_CHECKPOINT_MS=100", url,
                               NULL};
    char *other = th_db_create("audit_witness_url");
    struct th_server ws;
    th_server_start(&ws, other, env);
    struct th_auth boss;
    th_operator(&ws, &boss); /* events, so a checkpoint gets signed */
    ck_assert_msg(th_wait_until(receiver_got_one, &rc, 60000, 20),
                  "no checkpoint reached the witness URL within 60 s");
    pthread_mutex_lock(&rc.mu);
    /* the first two POSTs were refused; the same line came again until it was taken */
    ck_assert_int_ge(rc.n, 3);
    ck_assert_str_eq(rc.bodies[0], rc.bodies[2]);
    ck_assert_str_eq(rc.bodies[1], rc.bodies[2]);
    json_t *cp = json_loads(rc.bodies[2], 0, NULL);
    pthread_mutex_unlock(&rc.mu);
    ck_assert_ptr_nonnull(cp);
    ck_assert_str_eq(json_string_value(json_object_get(cp, "kind")), "checkpoint");
    /* it is the checkpoint the database holds, signature and all */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT encode(head_hash, 'hex') || ' ' || kid || ' ' || encode(signature, 'hex') "
             "FROM audit_checkpoints WHERE size = %lld",
             (long long)json_integer_value(json_object_get(cp, "size")));
    char *row = th_sql(other, sql), want[512];
    snprintf(want, sizeof want, "%s %s %s", json_string_value(json_object_get(cp, "head_hash")),
             json_string_value(json_object_get(cp, "kid")),
             json_string_value(json_object_get(cp, "signature")));
    ck_assert_ptr_nonnull(row);
    ck_assert_str_eq(row, want);
    free(row);
    json_decref(cp);
    struct th_resp m = th_req(&ws, "GET", "/metrics", NULL, NULL, NULL);
    th_assert_status(&m, 200);
    ck_assert_int_ge(metric(m.body, "suanli_audit_witness_posted_total"), 1);
    ck_assert_int_ge(metric(m.body, "suanli_audit_witness_failures_total"), 2);
    ck_assert_int_eq(metric(m.body, "suanli_audit_witness_dropped_total"), 0);
    th_resp_free(&m);
    ck_assert_int_eq(th_server_stop(&ws), 0);
    receiver_stop(&rc);
    free(other);
}
END_TEST

START_TEST(a_witness_url_that_is_not_http_stops_start_up) {
    /* keygen is the cheapest command; every command checks the whole configuration first */
    char dir[] = "/tmp/audit-wurl-XXXXXX", cmd[PATH_MAX + 160];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cmd, sizeof cmd,
             "SUANLI_AUDIT_WITNESS_URL=file:///etc/passwd %s keygen %s/k.json 2>%s/err",
             th_suanlid(), dir, dir);
    int st = system(cmd);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    snprintf(cmd, sizeof cmd, "grep -q SUANLI_AUDIT_WITNESS_URL %s/err && rm -rf %s", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void) {
    if (sodium_init() < 0)
        return 1;
    Suite *s = suite_create("audit");
    th_case(s, a_change_commits_only_with_its_event, 120, setup, teardown);
    th_case(s, the_application_connection_cannot_rewrite_the_log, 120, setup, teardown);
    th_case(s, every_event_is_chained_and_sealed, 120, setup, teardown);
    th_case(s, the_sealer_never_chains_past_an_uncommitted_event, 120, setup, teardown);
    th_case(s, rolled_back_sequence_gaps_are_passed_once_settled, 120, setup, teardown);
    th_case(s, writers_on_two_servers_are_chained_by_one_sealer_at_a_time, 120, setup, teardown);
    th_case(s, the_sealer_can_be_switched_off, 120, setup, teardown);
    th_case(s, events_are_filtered_and_paginated, 120, setup, teardown);
    th_case(s, a_city_sees_only_its_own_events, 120, setup, teardown);
    th_case(s, bad_query_parameters_are_named, 120, setup, teardown);
    th_case(s, checkpoints_are_paginated, 120, setup, teardown);
    th_case(s, an_export_verifies_offline_with_the_public_keys_alone, 120, setup, teardown);
    th_case(s, a_city_export_redacts_foreign_events_and_still_verifies, 120, setup, teardown);
    th_case(s, tamper_edited_event_is_named, 120, setup, teardown);
    th_case(s, tamper_deleted_event_is_named, 120, setup, teardown);
    th_case(s, tamper_inserted_event_is_named, 120, setup, teardown);
    th_case(s, tamper_swapped_events_are_named, 120, setup, teardown);
    th_case(s, tamper_truncated_tail_is_named, 120, setup, teardown);
    th_case(s, tamper_forged_checkpoint_is_named, 120, setup, teardown);
    th_case(s, each_checkpoint_is_posted_to_the_witness_url_and_retried, 120, setup, teardown);
    th_case(s, a_witness_url_that_is_not_http_stops_start_up, 60, NULL, NULL);
    return th_run(s);
}
