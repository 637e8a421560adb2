/* check_vouchers.c — signed vouchers against two suanlid processes on one database: issuance
 * (one, a batch of 10 000, all or nothing, within budget under concurrency, Idempotency-Key),
 * tokens (PASETO v4.public, recomputed identically, verified online and offline, forged,
 * tampered, unknown key, key rotation), reads and isolation, revocation and expiry without a
 * cron, and the idempotency records' cleanup. The ledger check closes every scenario. */
#include "world.h"

#include "paseto.h"
#include "vtoken.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>
#include <sys/wait.h>

static struct world w;
static char *program; /* budget 100 000 000, max_subsidy_bp 5000 */

static void up(void) {
    world_setup(&w, "vouchers", WORLD_TWO_SERVERS | WORLD_OFFER);
}

static int down(void) {
    return world_teardown(&w);
}

/* Each test case gets a programme of its own, and leaves the ledger in order. */
static void setup(void) {
    program = world_program(&w, NULL);
}

static void teardown(void) {
    world_ledger_ok(&w);
    free(program);
}

/* ==== helpers ============================================================================= */

/* POST /v1/vouchers/verify {token} as the institute; the caller frees the answer. */
static struct th_resp verify(const struct th_server *s, const char *token) {
    json_t *b = json_pack("{s:s}", "token", token);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    struct th_resp r = th_req(s, "POST", "/v1/vouchers/verify", &w.inst, body, NULL);
    free(body);
    th_assert_status(&r, 200);
    return r;
}

static void assert_verdict(const struct th_server *s, const char *token, bool valid,
                           const char *reason) {
    struct th_resp r = verify(s, token);
    ck_assert_msg(json_is_boolean(json_object_get(r.json, "valid")) &&
                      json_is_true(json_object_get(r.json, "valid")) == valid,
                  "expected valid=%d: %s", valid, r.body);
    if (reason)
        ck_assert_msg(th_str(&r, "reason") && strcmp(th_str(&r, "reason"), reason) == 0,
                      "expected reason %s: %s", reason, r.body);
    else
        ck_assert(json_is_null(json_object_get(r.json, "reason")));
    th_resp_free(&r);
}

static char *path_of(const char *fmt, const char *id) {
    char *p;
    ck_assert(asprintf(&p, fmt, id) > 0);
    return p;
}

/* The programme's balances: issued, released, available. */
static void balances(const char *id, long long *issued, long long *released, long long *avail) {
    char *p = path_of("/v1/programs/%s", id);
    struct th_resp r = th_req(&w.srv, "GET", p, &w.admin, NULL, NULL);
    th_assert_status(&r, 200);
    *issued = th_int(&r, "issued_fen");
    *released = th_int(&r, "released_fen");
    *avail = th_int(&r, "available_fen");
    th_resp_free(&r);
    free(p);
}

/* ==== issuance ============================================================================ */

START_TEST(issuing_one_voucher_commits_budget_and_returns_its_token) {
    long long issued0, released0, avail0;
    balances(program, &issued0, &released0, &avail0);
    struct th_resp r =
        world_voucher(&w, program, w.inst_org, 12345, "2029-03-01T08:00:00+08:00", NULL);
    char *loc = th_header(&r, "Location");
    char *want = path_of("/v1/vouchers/%s", th_str(&r, "id"));
    ck_assert_str_eq(loc, want);
    free(loc);
    free(want);
    ck_assert_int_eq(th_int(&r, "face_value_fen"), 12345);
    ck_assert_int_eq(th_int(&r, "balance_fen"), 12345);
    ck_assert_str_eq(th_str(&r, "status"), "active");
    ck_assert_str_eq(th_str(&r, "expires_at"), "2029-03-01T00:00:00.000Z");
    ck_assert_str_eq(th_str(&r, "institute_id"), w.inst_org);
    ck_assert_str_eq(th_str(&r, "program_id"), program);
    const char *token = th_str(&r, "token");
    ck_assert_ptr_nonnull(token);
    ck_assert(strncmp(token, "v4.public.", 10) == 0);

    /* any PASETO library verifies it with the key from GET /v1/keys; the claims name it */
    struct th_resp k = th_req(&w.srv, "GET", "/v1/keys", NULL, NULL, NULL);
    th_assert_status(&k, 200);
    struct keys_public *keys;
    int nkeys;
    char *text = json_dumps(k.json, 0), *error;
    ck_assert_int_eq(keys_public_parse("GET /v1/keys", text, strlen(text), &keys, &nkeys, &error),
                     0);
    free(text);
    const char *why;
    struct vtoken_claims c;
    char kid[PASERK_K4_PID_LEN];
    ck_assert_int_eq(vtoken_verify(token, keys, nkeys, &c, kid, &why), VTOKEN_OK);
    ck_assert_str_eq(kid, th_str(&r, "kid"));
    ck_assert_str_eq(c.jti, th_str(&r, "id"));
    ck_assert_str_eq(c.sub, w.inst_org);
    ck_assert_str_eq(c.prg, program);
    ck_assert_int_eq(c.amt, 12345);
    ck_assert_str_eq(c.exp, "2029-03-01T00:00:00.000Z");
    ck_assert_str_eq(c.nbf, th_str(&r, "not_before"));
    ck_assert_str_eq(c.iat, th_str(&r, "issued_at"));
    free(keys);
    th_resp_free(&k);

    /* the token is recomputed identically on every read, on either server */
    char *p = path_of("/v1/vouchers/%s", th_str(&r, "id"));
    struct th_resp g = th_req(&w.srv2, "GET", p, &w.inst, NULL, NULL);
    th_assert_status(&g, 200);
    ck_assert_str_eq(th_str(&g, "token"), token);
    /* the holder sees which programme funds the voucher, and reads the programme without its
     * balances (issue 13) */
    struct th_resp pg = th_req(&w.srv, "GET", "/v1/programs", &w.inst, NULL, NULL);
    th_assert_status(&pg, 200);
    ck_assert_ptr_null(
        json_object_get(json_array_get(json_object_get(pg.json, "items"), 0), "issued_fen"));
    th_resp_free(&pg);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT name FROM programs WHERE id = '%s'", program);
    char *name = th_sql(w.dburl, sql);
    ck_assert_ptr_nonnull(name);
    ck_assert_str_eq(th_str(&g, "program_name"), name);
    free(name);
    th_resp_free(&g);
    free(p);
    th_resp_free(&r);

    long long issued, released, avail;
    balances(program, &issued, &released, &avail);
    ck_assert_int_eq(issued, issued0 + 12345);
    ck_assert_int_eq(avail, avail0 - 12345);
    world_ledger_ok(&w);
}
END_TEST

/* A batch body for n vouchers of face fen each, alternating the two Chengdu institutes;
 * bad_at >= 0 puts a Hami institute at that index. malloc'd. */
static char *batch_body(int n, int face, int bad_at) {
    size_t cap = (size_t)n * 64 + 256, len = 0;
    char *b = malloc(cap);
    len += (size_t)snprintf(b, cap,
                            "{\"face_value_fen\":%d,\"expires_at\":\"2029-12-31T00:00:00Z\","
                            "\"vouchers\":[",
                            face);
    for (int i = 0; i < n; i++) {
        const char *inst = i == bad_at ? w.other_inst_org : i % 2 ? w.inst2_org : w.inst_org;
        len +=
            (size_t)snprintf(b + len, cap - len, "%s{\"institute_id\":\"%s\"}", i ? "," : "", inst);
    }
    snprintf(b + len, cap - len, "]}");
    return b;
}

START_TEST(a_batch_of_ten_thousand_is_issued_all_or_nothing) {
    char *p = world_program(&w, "{\"budget_fen\":1000000}");
    long long before = world_sql_ll(&w, "SELECT count(*) FROM vouchers");
    /* one bad institute at the very end refuses the whole batch */
    th_answer_timeout_s = 240; /* three batches of 10 000, each long by design */
    char *bad = batch_body(10000, 100, 9999);
    ck_assert_int_lt((int)strlen(bad), 1024 * 1024);
    struct th_resp r = world_issue(&w, NULL, &w.admin, p, bad, NULL);
    th_assert_problem(&r, 404, "not-found");
    ck_assert_ptr_nonnull(strstr(th_str(&r, "detail"), "vouchers[9999].institute_id"));
    th_resp_free(&r);
    free(bad);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT count(*) FROM vouchers"), before);

    char *good = batch_body(10000, 100, -1);
    r = world_issue(&w, NULL, &w.admin, p, good, NULL);
    th_assert_status(&r, 201);
    json_t *items = json_object_get(r.json, "items");
    ck_assert_int_eq((int)json_array_size(items), 10000);
    for (size_t i = 0; i < 10000; i += 997) {
        json_t *v = json_array_get(items, i);
        ck_assert_str_eq(json_string_value(json_object_get(v, "institute_id")),
                         i % 2 ? w.inst2_org : w.inst_org);
        ck_assert(strncmp(json_string_value(json_object_get(v, "token")), "v4.public.", 10) == 0);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "face_value_fen")), 100);
    }
    th_resp_free(&r);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT count(*) FROM vouchers WHERE program_id = '%s'", p),
                     10000);
    long long issued, released, avail;
    balances(p, &issued, &released, &avail);
    ck_assert_int_eq(issued, 1000000);
    ck_assert_int_eq(avail, 0);
    /* the budget is spent: one more fen is refused, and nothing changes */
    r = world_issue(&w, NULL, &w.admin, p, good, NULL);
    th_assert_problem(&r, 409, "budget-exceeded");
    th_resp_free(&r);
    free(good);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT count(*) FROM vouchers WHERE program_id = '%s'", p),
                     10000);
    /* each voucher is audited */
    ck_assert_int_eq(
        world_sql_ll(&w,
                     "SELECT count(*) FROM audit_events WHERE action = 'voucher.issue' "
                     "AND data->>'program_id' = '%s'",
                     p),
        10000);
    world_ledger_ok(&w);
    th_answer_timeout_s = 60;
    free(p);
}
END_TEST

START_TEST(a_batch_over_the_available_budget_changes_nothing) {
    char *p = world_program(&w, "{\"budget_fen\":1000}");
    char *b = batch_body(11, 100, -1);
    struct th_resp r = world_issue(&w, NULL, &w.admin, p, b, NULL);
    th_assert_problem(&r, 409, "budget-exceeded");
    ck_assert_ptr_nonnull(strstr(th_str(&r, "detail"), "1100"));
    th_resp_free(&r);
    free(b);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT count(*) FROM vouchers WHERE program_id = '%s'", p),
                     0);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT issued_fen FROM programs WHERE id = '%s'", p), 0);
    b = batch_body(10, 100, -1);
    r = world_issue(&w, NULL, &w.admin, p, b, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    free(b);
    free(p);
    world_ledger_ok(&w);
}
END_TEST

START_TEST(each_voucher_of_a_request_is_validated) {
    char body[512];
    static const struct {
        const char *json, *field;
    } shape[] = {
        {"{\"face_value_fen\":100,\"expires_at\":\"2029-01-01T00:00:00Z\"}", "institute_id"},
        {"{\"institute_id\":\"%s\",\"expires_at\":\"2029-01-01T00:00:00Z\"}", "face_value_fen"},
        {"{\"institute_id\":\"%s\",\"face_value_fen\":100}", "expires_at"},
        {"{\"institute_id\":\"%s\",\"face_value_fen\":0,\"expires_at\":\"2029-01-01T00:00:00Z\"}",
         "face_value_fen"},
        {"{\"institute_id\":\"%s\",\"face_value_fen\":100,\"expires_at\":\"soon\"}", "expires_at"},
        {"{\"institute_id\":\"%s\",\"face_value_fen\":100,\"expires_at\":\"2029-01-01T00:00:00Z\","
         "\"balance_fen\":1}",
         "balance_fen"},
        {"{\"vouchers\":[{\"institute_id\":\"%s\"}]}", "vouchers[0].face_value_fen"},
        {"{\"face_value_fen\":1,\"expires_at\":\"2029-01-01T00:00:00Z\",\"vouchers\":[{"
         "\"institute_id\":\"%s\"},{\"institute_id\":7}]}",
         "vouchers[1].institute_id"},
        {"{\"vouchers\":[]}", "vouchers"},
    };
    for (size_t i = 0; i < sizeof shape / sizeof shape[0]; i++) {
        snprintf(body, sizeof body, shape[i].json, w.inst_org);
        struct th_resp r = world_issue(&w, NULL, &w.admin, program, body, NULL);
        th_assert_problem(&r, 400, "validation-failed");
        ck_assert_msg(strcmp(th_str(&r, "errors.0.field"), shape[i].field) == 0, "expected %s: %s",
                      shape[i].field, r.body);
        th_resp_free(&r);
    }
    /* rules of the programme: its city's institutes only, inside its window */
    struct {
        const char *inst, *extra;
        long status;
        const char *slug, *words;
    } rules[] = {
        {w.other_inst_org, "", 404, "not-found", "vouchers[0].institute_id"},
        {w.prov_org, "", 404, "not-found", "no institute"},
        {w.inst_org, ",\"expires_at\":\"2031-01-01T00:00:00Z\"", 400, "validation-failed",
         "programme ends"},
        {w.inst_org, ",\"expires_at\":\"2021-01-01T00:00:00Z\"", 400, "validation-failed",
         "in the future"},
        {w.inst_org,
         ",\"not_before\":\"2029-06-01T00:00:00Z\",\"expires_at\":\"2029-05-01T00:00:00Z\"", 400,
         "validation-failed", "after not_before"},
    };
    long long before = world_sql_ll(&w, "SELECT count(*) FROM vouchers");
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (strstr(rules[i].extra, "expires_at"))
            snprintf(body, sizeof body, "{\"institute_id\":\"%s\",\"face_value_fen\":100%s}",
                     rules[i].inst, rules[i].extra);
        else
            snprintf(body, sizeof body,
                     "{\"institute_id\":\"%s\",\"face_value_fen\":100,"
                     "\"expires_at\":\"2029-01-01T00:00:00Z\"}",
                     rules[i].inst);
        struct th_resp r = world_issue(&w, NULL, &w.admin, program, body, NULL);
        th_assert_problem(&r, rules[i].status, rules[i].slug);
        ck_assert_msg(strstr(th_str(&r, "detail"), rules[i].words), "%s", r.body);
        th_resp_free(&r);
    }
    ck_assert_int_eq(world_sql_ll(&w, "SELECT count(*) FROM vouchers"), before);
    /* who may issue: Chengdu's administrator and the operator; not Hami's, not the others */
    snprintf(
        body, sizeof body,
        "{\"institute_id\":\"%s\",\"face_value_fen\":100,\"expires_at\":\"2029-01-01T00:00:00Z\"}",
        w.inst_org);
    struct th_resp r = world_issue(&w, NULL, &w.other_admin, program, body, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    const struct th_auth *refused[] = {&w.auditor, &w.inst, &w.prov};
    for (int i = 0; i < 3; i++) {
        r = world_issue(&w, NULL, refused[i], program, body, NULL);
        th_assert_problem(&r, 403, "forbidden");
        th_resp_free(&r);
    }
    r = world_issue(&w, NULL, &w.op, program, body, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
}
END_TEST

START_TEST(an_idempotency_key_replays_issuance) {
    char body[256];
    snprintf(
        body, sizeof body,
        "{\"institute_id\":\"%s\",\"face_value_fen\":777,\"expires_at\":\"2029-01-01T00:00:00Z\"}",
        w.inst_org);
    const char *key[] = {"Idempotency-Key: issue-777", NULL};
    struct th_resp a = world_issue(&w, NULL, &w.admin, program, body, key);
    th_assert_status(&a, 201);
    struct th_resp b = world_issue(&w, &w.srv2, &w.admin, program, body, key);
    th_assert_status(&b, 201);
    ck_assert_str_eq(a.body, b.body);
    char *replayed = th_header(&b, "Idempotent-Replayed");
    ck_assert_str_eq(replayed, "true");
    free(replayed);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT count(*) FROM vouchers WHERE face_value_fen = 777"),
                     1);
    th_resp_free(&a);
    th_resp_free(&b);
    body[strlen(body) - 1] = '\0';
    strcat(body, ",\"not_before\":\"2027-01-01T00:00:00Z\"}");
    struct th_resp c = world_issue(&w, NULL, &w.admin, program, body, key);
    th_assert_problem(&c, 422, "idempotency-key-reused");
    th_resp_free(&c);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT count(*) FROM vouchers WHERE face_value_fen = 777"),
                     1);
}
END_TEST

struct replay {
    char body[256];
    char *answers[32];
    long status[32];
};

static void replay_one(int i, void *ctx) {
    struct replay *x = ctx;
    const char *key[] = {"Idempotency-Key: concurrent-issue", NULL};
    struct th_resp r = world_issue(&w, i % 2 ? &w.srv2 : &w.srv, &w.admin, program, x->body, key);
    x->status[i] = r.status;
    x->answers[i] = strdup(r.body);
    th_resp_free(&r);
}

START_TEST(concurrent_replays_of_one_key_have_one_effect_and_one_answer) {
    struct replay x = {0};
    snprintf(
        x.body, sizeof x.body,
        "{\"institute_id\":\"%s\",\"face_value_fen\":4242,\"expires_at\":\"2029-01-01T00:00:00Z\"}",
        w.inst2_org);
    th_parallel(32, replay_one, &x);
    for (int i = 0; i < 32; i++) {
        ck_assert_msg(x.status[i] == 201, "request %d: %ld %s", i, x.status[i], x.answers[i]);
        ck_assert_str_eq(x.answers[i], x.answers[0]);
    }
    for (int i = 0; i < 32; i++)
        free(x.answers[i]);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT count(*) FROM vouchers WHERE face_value_fen = 4242"),
                     1);
}
END_TEST

struct race {
    char *program;
    int ok, refused, other;
    pthread_mutex_t lock;
};

static void race_one(int i, void *ctx) {
    struct race *x = ctx;
    char body[256];
    snprintf(
        body, sizeof body,
        "{\"institute_id\":\"%s\",\"face_value_fen\":7000,\"expires_at\":\"2029-01-01T00:00:00Z\"}",
        i % 2 ? w.inst_org : w.inst2_org);
    struct th_resp r = world_issue(&w, i % 2 ? &w.srv2 : &w.srv, &w.admin, x->program, body, NULL);
    pthread_mutex_lock(&x->lock);
    if (r.status == 201)
        x->ok++;
    else if (r.status == 409 && th_str(&r, "type") &&
             strcmp(th_str(&r, "type"), "/problems/budget-exceeded") == 0)
        x->refused++;
    else
        x->other++;
    pthread_mutex_unlock(&x->lock);
    th_resp_free(&r);
}

START_TEST(concurrent_issuance_racing_for_the_last_of_the_budget_never_overspends) {
    struct race x = {.program = world_program(&w, "{\"budget_fen\":100000}")};
    pthread_mutex_init(&x.lock, NULL);
    th_parallel(40, race_one, &x);
    ck_assert_int_eq(x.other, 0);
    ck_assert_int_eq(x.ok, 14); /* floor(100000 / 7000) */
    ck_assert_int_eq(x.refused, 26);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT issued_fen FROM programs WHERE id = '%s'", x.program),
                     98000);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT count(*) FROM vouchers WHERE program_id = '%s'", x.program), 14);
    world_ledger_ok(&w);
    free(x.program);
}
END_TEST

/* ==== reads =============================================================================== */

START_TEST(institutes_see_their_own_vouchers_and_city_staff_their_citys) {
    char *mine = world_voucher_id(&w, program, w.inst_org, 31);
    char *theirs = world_voucher_id(&w, program, w.inst2_org, 32);
    char *p = path_of("/v1/vouchers/%s", theirs);
    struct th_resp r = th_req(&w.srv, "GET", p, &w.inst, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", p, &w.other_admin, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", p, &w.auditor, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_ptr_nonnull(th_str(&r, "token"));
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", p, &w.prov, NULL, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    free(p);

    char q[256];
    snprintf(q, sizeof q, "/v1/vouchers?program_id=%s&limit=200", program);
    r = th_req(&w.srv, "GET", q, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(r.json, "items"), i, v) {
        ck_assert_str_eq(json_string_value(json_object_get(v, "institute_id")), w.inst_org);
    }
    ck_assert_ptr_nonnull(strstr(r.body, mine));
    ck_assert_ptr_null(strstr(r.body, theirs));
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/vouchers", &w.other_admin, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq((int)json_array_size(json_object_get(r.json, "items")), 0);
    th_resp_free(&r);
    snprintf(q, sizeof q, "/v1/vouchers?program_id=%s&institute_id=%s&status=active&limit=200",
             program, w.inst2_org);
    r = th_req(&w.srv, "GET", q, &w.admin, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_ptr_nonnull(strstr(r.body, theirs));
    ck_assert_ptr_null(strstr(r.body, mine));
    th_resp_free(&r);
    static const char *const bad[][2] = {{"/v1/vouchers?status=spent", "status"},
                                         {"/v1/vouchers?program_id=1", "program_id"},
                                         {"/v1/vouchers?institute_id=x", "institute_id"},
                                         {"/v1/vouchers?limit=0", "limit"},
                                         {"/v1/vouchers?owner=me", "owner"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        r = th_req(&w.srv, "GET", bad[k][0], &w.admin, NULL, NULL);
        th_assert_problem(&r, 400, "invalid-query");
        ck_assert_str_eq(th_str(&r, "errors.0.field"), bad[k][1]);
        th_resp_free(&r);
    }
    free(mine);
    free(theirs);
}
END_TEST

/* ==== revocation and expiry =============================================================== */

START_TEST(revoking_releases_the_balance_to_the_programme) {
    char *p = world_program(&w, "{\"budget_fen\":5000}");
    char *v = world_voucher_id(&w, p, w.inst_org, 5000);
    char *rp = path_of("/v1/vouchers/%s/revoke", v);
    struct th_resp r = th_req(&w.srv, "POST", rp, &w.inst, NULL, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", rp, &w.other_admin, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", rp, &w.admin, "{\"reason\":\"left the programme\"}", NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "revoked");
    ck_assert_int_eq(th_int(&r, "balance_fen"), 0);
    ck_assert_int_eq(th_int(&r, "released_fen"), 5000);
    ck_assert_str_eq(th_str(&r, "revoke_reason"), "left the programme");
    th_resp_free(&r);
    r = th_req(&w.srv2, "POST", rp, &w.admin, NULL, NULL);
    th_assert_problem(&r, 409, "voucher-revoked");
    th_resp_free(&r);
    long long issued, released, avail;
    balances(p, &issued, &released, &avail);
    ck_assert_int_eq(issued, 5000);
    ck_assert_int_eq(released, 5000);
    ck_assert_int_eq(avail, 5000);
    /* the released budget can be issued again */
    char *v2 = world_voucher_id(&w, p, w.inst2_org, 5000);
    free(v2);
    world_ledger_ok(&w);
    free(rp);
    free(v);
    free(p);
}
END_TEST

START_TEST(an_expired_voucher_is_released_without_a_cron) {
    char *p = world_program(&w, "{\"budget_fen\":300}");
    char soon[32];
    /* a read shows a due expiry as released (the display-time rule; reads never write) */
    struct th_resp r = world_voucher(&w, p, w.inst_org, 100, world_time(soon, 3), NULL);
    char *v1 = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    /* and the maintenance thread releases one that nobody reads */
    r = world_voucher(&w, p, w.inst2_org, 200, world_time(soon, 3), NULL);
    char *v2 = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    th_wait_past(w.dburl, soon, 15000); /* both have expired now */
    char *path = path_of("/v1/vouchers/%s", v1);
    r = th_req(&w.srv, "GET", path, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "expired");
    ck_assert_int_eq(th_int(&r, "balance_fen"), 0);
    ck_assert_int_eq(th_int(&r, "released_fen"), 100);
    th_resp_free(&r);
    free(path);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT status FROM vouchers WHERE id = '%s'", v2);
    bool released = th_sql_wait(w.dburl, sql, "expired", 10000);
    ck_assert_msg(released, "the maintenance thread did not release voucher %s", v2);
    long long issued, rel, avail;
    balances(p, &issued, &rel, &avail);
    ck_assert_int_eq(rel, 300);
    ck_assert_int_eq(avail, 300);
    ck_assert_int_eq(
        world_sql_ll(&w,
                     "SELECT count(*) FROM audit_events WHERE action = 'voucher.expire' "
                     "AND subject_id IN ('%s', '%s')",
                     v1, v2),
        2);
    /* an expired voucher cannot be revoked */
    path = path_of("/v1/vouchers/%s/revoke", v1);
    r = th_req(&w.srv, "POST", path, &w.admin, NULL, NULL);
    th_assert_problem(&r, 409, "voucher-expired");
    th_resp_free(&r);
    free(path);
    world_ledger_ok(&w);
    free(v1);
    free(v2);
    free(p);
}
END_TEST

/* ==== verification ======================================================================== */

START_TEST(verify_reports_signature_claims_and_live_state) {
    char later[32], soon[32];
    struct th_resp r = world_voucher(&w, program, w.inst_org, 502, world_time(soon, 3), NULL);
    char *expiring = strdup(th_str(&r, "token"));
    th_resp_free(&r);
    r = world_voucher(&w, program, w.inst_org, 500, NULL, NULL);
    char *good = strdup(th_str(&r, "token")), *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    struct th_resp v = verify(&w.srv2, good);
    ck_assert(json_is_true(json_object_get(v.json, "valid")));
    ck_assert_str_eq(th_str(&v, "claims.jti"), id);
    ck_assert_int_eq(th_int(&v, "claims.amt"), 500);
    ck_assert_int_eq(th_int(&v, "voucher.balance_fen"), 500);
    ck_assert_str_eq(th_str(&v, "voucher.status"), "active");
    th_resp_free(&v);

    char *forged = world_forge_signature(good), *tampered = world_tamper_payload(good);
    char *foreign = world_foreign_key_token(good);
    assert_verdict(&w.srv, forged, false, "voucher-token-invalid");
    assert_verdict(&w.srv, tampered, false, "voucher-token-invalid");
    assert_verdict(&w.srv, foreign, false, "voucher-key-unknown");
    assert_verdict(&w.srv, "v4.local.abc", false, "voucher-token-invalid");
    assert_verdict(&w.srv, "not a token", false, "voucher-token-invalid");

    r = world_voucher(&w, program, w.inst_org, 501, NULL,
                      ",\"not_before\":\"2029-01-01T00:00:00Z\"");
    char *future = strdup(th_str(&r, "token"));
    th_resp_free(&r);
    assert_verdict(&w.srv, future, false, "voucher-not-yet-valid");
    r = world_voucher(&w, program, w.inst_org, 503, world_time(later, 3600), NULL);
    char *revoked = strdup(th_str(&r, "token"));
    char *rp = path_of("/v1/vouchers/%s/revoke", th_str(&r, "id"));
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", rp, &w.admin, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    assert_verdict(&w.srv2, revoked, false, "voucher-revoked");
    th_wait_past(w.dburl, soon, 15000);
    assert_verdict(&w.srv, expiring, false, "voucher-expired");
    /* the body is checked like any other */
    r = th_req(&w.srv, "POST", "/v1/vouchers/verify", &w.inst, "{}", NULL);
    th_assert_problem(&r, 400, "validation-failed");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", "/v1/vouchers/verify", NULL, "{\"token\":\"x\"}", NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
    free(rp);
    free(good);
    free(id);
    free(forged);
    free(tampered);
    free(foreign);
    free(future);
    free(expiring);
    free(revoked);
}
END_TEST

/* Runs cmd, returns its exit status and its standard output (malloc'd) in *out. */
static int run(const char *cmd, char **out) {
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 65536, len = 0;
    *out = calloc(1, cap);
    size_t n;
    while ((n = fread(*out + len, 1, cap - len - 1, p)) > 0)
        len += n;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(voucher_verify_checks_a_token_offline_with_saved_keys) {
    struct th_resp k = th_req(&w.srv, "GET", "/v1/keys", NULL, NULL, NULL);
    th_assert_status(&k, 200);
    char keys[PATH_MAX], junk[PATH_MAX], cmd[PATH_MAX * 3];
    snprintf(keys, sizeof keys, "%s/keys-%d.json", getenv("SUANLI_TEST_LOGS"), (int)getpid());
    snprintf(junk, sizeof junk, "%s/junk-%d.json", getenv("SUANLI_TEST_LOGS"), (int)getpid());
    FILE *f = fopen(keys, "w");
    fputs(k.body, f);
    fclose(f);
    f = fopen(junk, "w");
    fputs("{\"items\":[{\"kid\":\"k4.pid.x\",\"paserk\":\"k4.public.y\"}]}", f);
    fclose(f);
    th_resp_free(&k);
    struct th_resp r = world_voucher(&w, program, w.inst_org, 900, NULL, NULL);
    char *token = strdup(th_str(&r, "token")), *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);

    char *out;
    snprintf(cmd, sizeof cmd, "%s voucher-verify '%s' --keys %s 2>/dev/null", th_suanlid(), token,
             keys);
    ck_assert_int_eq(run(cmd, &out), 0);
    json_t *j = json_loads(out, 0, NULL);
    ck_assert_msg(json_is_true(json_object_get(j, "valid")), "%s", out);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "claims"), "jti")), id);
    json_decref(j);
    free(out);

    char *forged = world_forge_signature(token), *foreign = world_foreign_key_token(token);
    snprintf(cmd, sizeof cmd, "%s voucher-verify '%s' --keys %s 2>/dev/null", th_suanlid(), forged,
             keys);
    ck_assert_int_eq(run(cmd, &out), 1);
    ck_assert_ptr_nonnull(strstr(out, "voucher-token-invalid"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s voucher-verify '%s' --keys %s 2>/dev/null", th_suanlid(), foreign,
             keys);
    ck_assert_int_eq(run(cmd, &out), 1);
    ck_assert_ptr_nonnull(strstr(out, "voucher-key-unknown"));
    free(out);
    /* a key list that is not one is refused, and so is a missing argument */
    snprintf(cmd, sizeof cmd, "%s voucher-verify '%s' --keys %s 2>/dev/null", th_suanlid(), token,
             junk);
    ck_assert_int_eq(run(cmd, &out), 2);
    free(out);
    snprintf(cmd, sizeof cmd, "%s voucher-verify '%s' 2>/dev/null", th_suanlid(), token);
    ck_assert_int_eq(run(cmd, &out), 2);
    free(out);
    free(forged);
    free(foreign);
    free(token);
    free(id);
    unlink(keys);
    unlink(junk);
}
END_TEST

START_TEST(idempotency_records_older_than_48_hours_are_dropped) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at) "
             "VALUES ('%s', 'old-key', 'x', 201, '{}', now() - interval '49 hours'), "
             "('%s', 'young-key', 'x', 201, '{}', now() - interval '47 hours')",
             w.admin.user_id, w.admin.user_id);
    free(th_sql(w.dburl, sql));
    bool gone = th_sql_wait(w.dburl, "SELECT count(*) FROM idempotency_keys WHERE key = 'old-key'",
                            "0", 10000);
    ck_assert_msg(gone, "the 49-hour-old idempotency record was not dropped");
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT count(*) FROM idempotency_keys WHERE key = 'young-key'"), 1);
}
END_TEST

/* ==== keys ================================================================================ */

START_TEST(keys_are_public_paserk_with_status) {
    struct th_resp r = th_req(&w.srv, "GET", "/v1/keys", NULL, NULL, NULL);
    th_assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    ck_assert_int_ge((int)json_array_size(items), 1);
    int current = 0;
    size_t i;
    json_t *k;
    json_array_foreach(items, i, k) {
        const char *paserk = json_string_value(json_object_get(k, "paserk"));
        unsigned char pk[32];
        char pid[PASERK_K4_PID_LEN];
        ck_assert_int_eq(paserk_k4_public_decode(paserk, pk), 0);
        paserk_k4_pid(pk, pid);
        ck_assert_str_eq(pid, json_string_value(json_object_get(k, "kid")));
        current += strcmp(json_string_value(json_object_get(k, "status")), "current") == 0;
    }
    ck_assert_int_eq(current, 1);
    th_resp_free(&r);
    /* both servers answer the same */
    struct th_resp a = th_req(&w.srv, "GET", "/v1/keys", NULL, NULL, NULL);
    struct th_resp b = th_req(&w.srv2, "GET", "/v1/keys", NULL, NULL, NULL);
    ck_assert_str_eq(a.body, b.body);
    th_resp_free(&a);
    th_resp_free(&b);
}
END_TEST

/* A new key signs from then on; vouchers signed by the old one stay valid until they expire;
 * a server that does not hold a token's key refuses it (fail closed). */
START_TEST(after_rotation_old_vouchers_stay_valid_and_unknown_keys_fail_closed) {
    struct th_resp r = world_voucher(&w, program, w.inst_org, 1111, "2029-09-09T00:00:00Z", NULL);
    char *old_token = strdup(th_str(&r, "token")), *old_id = strdup(th_str(&r, "id"));
    char *old_kid = strdup(th_str(&r, "kid"));
    th_resp_free(&r);

    char rotated[PATH_MAX], cmd[PATH_MAX * 3], env[PATH_MAX + 32];
    snprintf(rotated, sizeof rotated, "%s/rotated-keys-%d.json", getenv("SUANLI_TEST_LOGS"),
             (int)getpid());
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod 600 '%s' && %s keygen '%s' >/dev/null",
             getenv("SUANLI_KEY_FILE"), rotated, rotated, th_suanlid(), rotated);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(env, sizeof env, "SUANLI_KEY_FILE=%s", rotated);
    const char *extra[] = {env, NULL};
    struct th_server s3;
    th_server_start(&s3, w.dburl, extra);

    r = th_req(&s3, "GET", "/v1/keys", NULL, NULL, NULL);
    th_assert_status(&r, 200);
    const char *new_kid = th_str(&r, "items.0.kid");
    ck_assert_str_eq(th_str(&r, "items.0.status"), "current");
    ck_assert_str_ne(new_kid, old_kid);
    bool old_listed = false;
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(r.json, "items"), i, k) {
        if (strcmp(json_string_value(json_object_get(k, "kid")), old_kid) == 0) {
            old_listed = true;
            ck_assert_str_eq(json_string_value(json_object_get(k, "status")), "retired");
            ck_assert_ptr_nonnull(json_string_value(json_object_get(k, "not_after")));
        }
    }
    ck_assert(old_listed);
    char *new_kid_copy = strdup(new_kid);
    th_resp_free(&r);

    /* the rotated server signs with the new key and still verifies the old voucher */
    char body[256];
    snprintf(
        body, sizeof body,
        "{\"institute_id\":\"%s\",\"face_value_fen\":2222,\"expires_at\":\"2029-01-01T00:00:00Z\"}",
        w.inst_org);
    r = world_issue(&w, &s3, &w.admin, program, body, NULL);
    th_assert_status(&r, 201);
    ck_assert_str_eq(th_str(&r, "kid"), new_kid_copy);
    char *new_token = strdup(th_str(&r, "token"));
    th_resp_free(&r);
    assert_verdict(&s3, old_token, true, NULL);
    assert_verdict(&s3, new_token, true, NULL);
    char *p = path_of("/v1/vouchers/%s", old_id);
    r = th_req(&s3, "GET", p, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "token"), old_token);
    th_resp_free(&r);
    free(p);
    /* a server without the new key refuses its tokens */
    assert_verdict(&w.srv, new_token, false, "voucher-key-unknown");
    ck_assert_int_eq(th_server_stop(&s3), 0);
    unlink(rotated);
    free(old_token);
    free(old_id);
    free(old_kid);
    free(new_kid_copy);
    free(new_token);
}
END_TEST

int main(void) {
    if (sodium_init() < 0)
        return 1;
    Suite *s = suite_create("vouchers");
    th_shared(up, down);
    th_case(s, issuing_one_voucher_commits_budget_and_returns_its_token, 300, setup, teardown);
    th_case(s, a_batch_of_ten_thousand_is_issued_all_or_nothing, 900, setup, teardown);
    th_case(s, a_batch_over_the_available_budget_changes_nothing, 300, setup, teardown);
    th_case(s, each_voucher_of_a_request_is_validated, 300, setup, teardown);
    th_case(s, an_idempotency_key_replays_issuance, 300, setup, teardown);
    th_case(s, concurrent_replays_of_one_key_have_one_effect_and_one_answer, 300, setup, teardown);
    th_case(s, concurrent_issuance_racing_for_the_last_of_the_budget_never_overspends, 300, setup,
            teardown);
    th_case(s, institutes_see_their_own_vouchers_and_city_staff_their_citys, 300, setup, teardown);
    th_case(s, revoking_releases_the_balance_to_the_programme, 300, setup, teardown);
    th_case(s, an_expired_voucher_is_released_without_a_cron, 300, setup, teardown);
    th_case(s, verify_reports_signature_claims_and_live_state, 300, setup, teardown);
    th_case(s, voucher_verify_checks_a_token_offline_with_saved_keys, 300, setup, teardown);
    th_case(s, idempotency_records_older_than_48_hours_are_dropped, 300, setup, teardown);
    th_case(s, keys_are_public_paserk_with_status, 300, setup, teardown);
    th_case(s, after_rotation_old_vouchers_stay_valid_and_unknown_keys_fail_closed, 300, setup,
            teardown);
    return th_run(s);
}
