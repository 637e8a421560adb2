/* check_redemptions.c — redemptions against two suanlid processes on one database: a voucher
 * pays part of an own reserved order; every failing condition of DESIGN.md §2 has its own
 * problem type and changes nothing; orders pay with vouchers and cancelling reverses them;
 * completion settles the subsidy to the provider; 1 000 concurrent redemptions never
 * overspend; Idempotency-Key replays; the ledger check (SQL and `suanlid ledger-check`)
 * proves every balance after each scenario. */
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
static char *program; /* max_subsidy_bp 5000, budget 100 000 000 */

static void up(void) {
    world_setup(&w, "redemptions", WORLD_TWO_SERVERS | WORLD_OFFER);
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

/* POST /v1/redemptions as by on s (NULL: srv) naming the voucher by id, or by token when
 * token is not NULL. */
static struct th_resp redeem(const struct th_server *s, const struct th_auth *by,
                             const char *voucher, const char *token, const char *order,
                             long long amount, const char *const *headers) {
    json_t *b = json_pack("{s:s, s:I}", "order_id", order, "amount_fen", (json_int_t)amount);
    if (token)
        json_object_set_new(b, "token", json_string(token));
    else
        json_object_set_new(b, "voucher_id", json_string(voucher));
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    struct th_resp r = th_req(s ? s : &w.srv, "POST", "/v1/redemptions", by, body, headers);
    free(body);
    return r;
}

static long long voucher_balance(const char *id) {
    return world_sql_ll(&w, "SELECT balance_fen FROM vouchers WHERE id = '%s'", id);
}

static long long order_subsidy(const char *id) {
    return world_sql_ll(&w, "SELECT subsidy_fen FROM orders WHERE id = '%s'", id);
}

/* A fingerprint of all the money: redemptions, voucher balances, order subsidies, releases. */
static char *money(void) {
    return th_sql(w.dburl, "SELECT (SELECT count(*) FROM redemptions) || '/' || "
                           "(SELECT coalesce(sum(balance_fen), 0) FROM vouchers) || '/' || "
                           "(SELECT coalesce(sum(subsidy_fen), 0) FROM orders) || '/' || "
                           "(SELECT coalesce(sum(released_fen), 0) FROM programs) || '/' || "
                           "(SELECT count(*) FROM ledger_entries)");
}

static char *issue_token(const char *prog, const char *inst, long long face, const char *extra,
                         char **id) {
    struct th_resp r = world_voucher(&w, prog, inst, face, NULL, extra);
    char *token = strdup(th_str(&r, "token"));
    if (id)
        *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    return token;
}

static char *path_of(const char *fmt, const char *id) {
    char *p;
    ck_assert(asprintf(&p, fmt, id) > 0);
    return p;
}

static void patch_program(const char *id, const char *etag, const char *body) {
    char *p = path_of("/v1/programs/%s", id);
    char h[64];
    snprintf(h, sizeof h, "If-Match: \"%s\"", etag);
    const char *headers[] = {h, NULL};
    struct th_resp r = th_req(&w.srv, "PATCH", p, &w.admin, body, headers);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    free(p);
}

/* ==== the happy paths ===================================================================== */

START_TEST(a_voucher_pays_part_of_an_own_reserved_order) {
    char *v = world_voucher_id(&w, program, w.inst_org, 10000);
    char *o = world_order(&w, &w.inst, NULL, 1, 10, NULL); /* gross 20 000 */
    long long redeemed0 = world_sql_ll(&w, "SELECT program_redeemed('%s')", program);
    struct th_resp r = redeem(&w.srv2, &w.inst, v, NULL, o, 3000, NULL);
    th_assert_status(&r, 201);
    ck_assert_int_eq(th_int(&r, "amount_fen"), 3000);
    ck_assert_str_eq(th_str(&r, "status"), "applied");
    ck_assert_str_eq(th_str(&r, "voucher_id"), v);
    ck_assert_str_eq(th_str(&r, "order_id"), o);
    ck_assert_str_eq(th_str(&r, "program_id"), program);
    char *rid = strdup(th_str(&r, "id"));
    th_resp_free(&r);

    char *op = path_of("/v1/orders/%s", o);
    r = th_req(&w.srv, "GET", op, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "subsidy_fen"), 3000);
    ck_assert_int_eq(th_int(&r, "net_fen"), 17000);
    th_resp_free(&r);
    char *vp = path_of("/v1/vouchers/%s", v);
    ck_assert_int_eq(world_get_int(&w, &w.inst, vp, "balance_fen"), 7000);
    ck_assert_int_eq(world_get_int(&w, &w.inst, vp, "redeemed_fen"), 3000);
    char *pp = path_of("/v1/programs/%s", program);
    ck_assert_int_eq(world_get_int(&w, &w.admin, pp, "redeemed_fen"), redeemed0 + 3000);

    /* who sees it: the institute, its city, the provider of the offer; not the others */
    char *lp = path_of("/v1/redemptions?order_id=%s", o);
    const struct th_auth *see[] = {&w.inst, &w.admin, &w.auditor, &w.prov, &w.op};
    for (int i = 0; i < 5; i++) {
        r = th_req(&w.srv, "GET", lp, see[i], NULL, NULL);
        th_assert_status(&r, 200);
        ck_assert_msg(strstr(r.body, rid) != NULL, "viewer %d: %s", i, r.body);
        th_resp_free(&r);
    }
    const struct th_auth *blind[] = {&w.inst2, &w.other_admin, &w.other_inst};
    for (int i = 0; i < 3; i++) {
        r = th_req(&w.srv, "GET", lp, blind[i], NULL, NULL);
        th_assert_status(&r, 200);
        ck_assert_int_eq((int)json_array_size(json_object_get(r.json, "items")), 0);
        th_resp_free(&r);
    }
    r = th_req(&w.srv, "GET", "/v1/redemptions?order_id=nope", &w.inst, NULL, NULL);
    th_assert_problem(&r, 400, "invalid-query");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "order_id");
    th_resp_free(&r);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM audit_events WHERE action = "
                                  "'redemption.create' AND subject_id = '%s' AND city_id = '%s'",
                                  rid, w.city),
                     1);
    world_ledger_ok(&w);
    free(rid);
    free(op);
    free(vp);
    free(pp);
    free(lp);
    free(v);
    free(o);
}
END_TEST

START_TEST(a_token_stands_for_its_voucher) {
    char *id;
    char *token = issue_token(program, w.inst_org, 5000, NULL, &id);
    char *o = world_order(&w, &w.inst, NULL, 1, 10, NULL);
    struct th_resp r = redeem(NULL, &w.inst, NULL, token, o, 1234, NULL);
    th_assert_status(&r, 201);
    ck_assert_str_eq(th_str(&r, "voucher_id"), id);
    th_resp_free(&r);
    ck_assert_int_eq(voucher_balance(id), 5000 - 1234);
    free(token);
    free(id);
    free(o);
}
END_TEST

/* ==== every failing condition ============================================================= */

struct step {
    const char *name;
    const struct th_auth *by;
    const char *voucher, *token, *order;
    long long amount;
    long status;
    const char *slug;
};

START_TEST(each_failing_condition_has_its_own_problem_and_changes_nothing) {
    char soon[32];
    /* a voucher that expires in a moment, issued first so that it is expired by the end */
    struct th_resp r = world_voucher(&w, program, w.inst_org, 1000, world_time(soon, 3), NULL);
    char *expiring = strdup(th_str(&r, "id"));
    th_resp_free(&r);

    char *v, *v_other, *v_future, *v_revoked, *v_west, *v_npu, *v_green, *v_cap, *v_susp;
    char *t = issue_token(program, w.inst_org, 50000, NULL, &v);
    char *t_other = issue_token(program, w.inst2_org, 5000, NULL, &v_other);
    free(issue_token(program, w.inst_org, 5000, ",\"not_before\":\"2029-01-01T00:00:00Z\"",
                     &v_future));
    free(issue_token(program, w.inst_org, 5000, NULL, &v_revoked));
    char *rp = path_of("/v1/vouchers/%s/revoke", v_revoked);
    r = th_req(&w.srv, "POST", rp, &w.admin, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    free(rp);
    char *p_west = world_program(&w, "{\"regions\":[\"gansu\",\"guizhou\",\"ningxia\"]}");
    char *p_npu = world_program(&w, "{\"resource_classes\":[\"npu\"]}");
    char *p_green = world_program(&w, "{\"min_green_share\":0.9}");
    char *p_cap = world_program(&w, "{\"per_institute_cap_fen\":1000}");
    char *p_susp = world_program(&w, NULL);
    v_west = world_voucher_id(&w, p_west, w.inst_org, 5000);
    v_npu = world_voucher_id(&w, p_npu, w.inst_org, 5000);
    v_green = world_voucher_id(&w, p_green, w.inst_org, 5000);
    v_cap = world_voucher_id(&w, p_cap, w.inst_org, 5000);
    v_susp = world_voucher_id(&w, p_susp, w.inst_org, 5000);
    patch_program(p_susp, "1", "{\"status\":\"suspended\"}");

    struct th_resp e =
        th_req(&w.srv, "POST", "/v1/offers", &w.prov,
               "{\"resource_class\":\"gpu\",\"accelerator\":\"A800\",\"units\":100,"
               "\"fp16_tflops_per_unit\":312,\"memory_gib_per_unit\":80,\"region\":\"cheng-yu\","
               "\"price_fen_per_unit_hour\":1500,\"available_from\":\"2020-01-01T00:00:00Z\","
               "\"available_until\":\"2031-01-01T00:00:00Z\",\"pue\":1.3,\"green_share\":0.95}",
               NULL);
    th_assert_status(&e, 201);
    char *east = strdup(th_str(&e, "id"));
    th_resp_free(&e);

    char *o = world_order(&w, &w.inst, NULL, 1, 10, NULL);      /* gross 20 000: 10 000 at most */
    char *o_east = world_order(&w, &w.inst, east, 1, 10, NULL); /* east, green 0.95 */
    char *o_other = world_order(&w, &w.inst2, NULL, 1, 10, NULL);
    char *o_cancelled = world_order(&w, &w.inst, NULL, 1, 10, NULL);
    char *cp = path_of("/v1/orders/%s/cancel", o_cancelled);
    r = th_req(&w.srv, "POST", cp, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    free(cp);
    /* the cap: 1 000 fen per institute in p_cap, 600 of them already used */
    r = redeem(NULL, &w.inst, v_cap, NULL, o, 600, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);

    char *forged = world_forge_signature(t), *tampered = world_tamper_payload(t);
    char *foreign = world_foreign_key_token(t);
    /* the voucher has expired; a read shows it expired, with balance 0 */
    th_wait_past(w.dburl, soon, 15000);
    char *ep = path_of("/v1/vouchers/%s", expiring);
    r = th_req(&w.srv, "GET", ep, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "expired");
    ck_assert_int_eq(th_int(&r, "balance_fen"), 0);
    th_resp_free(&r);
    free(ep);
    /* reads do not write: the maintenance runner releases it; wait for that before counting
     * money, so that the release is not taken for a refused redemption's effect */
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT status FROM vouchers WHERE id = '%s'", expiring);
    ck_assert_msg(th_sql_wait(w.dburl, sql, "expired", 30000),
                  "the maintenance runner did not release the expired voucher within 30 s");

    const struct step steps[] = {
        {"forged signature", &w.inst, NULL, forged, o, 100, 400, "voucher-token-invalid"},
        {"tampered payload", &w.inst, NULL, tampered, o, 100, 400, "voucher-token-invalid"},
        {"unknown kid", &w.inst, NULL, foreign, o, 100, 400, "voucher-key-unknown"},
        {"not a token", &w.inst, NULL, "v4.public.AAAA", o, 100, 400, "voucher-token-invalid"},
        {"expired", &w.inst, expiring, NULL, o, 100, 409, "voucher-expired"},
        {"not yet valid", &w.inst, v_future, NULL, o, 100, 409, "voucher-not-yet-valid"},
        {"revoked", &w.inst, v_revoked, NULL, o, 100, 409, "voucher-revoked"},
        {"another institute's, by token", &w.inst, NULL, t_other, o, 100, 403, "voucher-not-yours"},
        {"another institute's, by id", &w.inst, v_other, NULL, o, 100, 404, "not-found"},
        {"unknown voucher", &w.inst, "01900000-0000-7000-8000-000000000000", NULL, o, 100, 404,
         "not-found"},
        {"order not yours", &w.inst, v, NULL, o_other, 100, 404, "not-found"},
        {"order cancelled", &w.inst, v, NULL, o_cancelled, 100, 409, "order-state-conflict"},
        {"region outside the programme", &w.inst, v_west, NULL, o_east, 100, 422,
         "offer-not-eligible"},
        {"class outside the programme", &w.inst, v_npu, NULL, o, 100, 422, "offer-not-eligible"},
        {"green share below the minimum", &w.inst, v_green, NULL, o, 100, 422,
         "offer-not-eligible"},
        {"more than the balance", &w.inst, v, NULL, o, 50001, 409, "insufficient-balance"},
        {"subsidy above max_subsidy_bp", &w.inst, v, NULL, o, 9401, 422, "subsidy-ratio-exceeded"},
        {"institute cap exceeded", &w.inst, v_cap, NULL, o, 401, 422, "institute-cap-exceeded"},
        {"programme suspended", &w.inst, v_susp, NULL, o, 100, 409, "program-not-active"},
        {"a provider", &w.prov, v, NULL, o, 100, 403, "forbidden"},
        {"a city administrator", &w.admin, v, NULL, o, 100, 403, "forbidden"},
    };
    char *before = money();
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const struct step *s = &steps[i];
        r = redeem(i % 2 ? &w.srv2 : &w.srv, s->by, s->voucher, s->token, s->order, s->amount,
                   NULL);
        ck_assert_msg(r.status == s->status && th_str(&r, "type") &&
                          strcmp(th_str(&r, "type") + strlen("/problems/"), s->slug) == 0,
                      "%s: expected %ld %s, got %ld %s", s->name, s->status, s->slug, r.status,
                      r.body);
        th_assert_problem(&r, s->status, s->slug);
        th_resp_free(&r);
        char *after = money();
        ck_assert_msg(strcmp(before, after) == 0, "%s changed money: %s -> %s", s->name, before,
                      after);
        free(after);
    }
    /* the limits themselves are allowed: 9 400 more reaches 50 %, 400 reaches the cap */
    r = redeem(NULL, &w.inst, v, NULL, o, 9400, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    r = redeem(NULL, &w.inst, v_cap, NULL, o_east, 400, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    r = redeem(NULL, &w.inst, v_cap, NULL, o_east, 1, NULL);
    th_assert_problem(&r, 422, "institute-cap-exceeded");
    th_resp_free(&r);
    /* malformed requests */
    static const char *const bad[] = {
        "{\"order_id\":\"01900000-0000-7000-8000-000000000000\",\"amount_fen\":1}",
        "{\"voucher_id\":\"01900000-0000-7000-8000-000000000000\",\"token\":\"x\","
        "\"order_id\":\"01900000-0000-7000-8000-000000000000\",\"amount_fen\":1}",
        "{\"voucher_id\":\"01900000-0000-7000-8000-000000000000\","
        "\"order_id\":\"01900000-0000-7000-8000-000000000000\",\"amount_fen\":0}",
        "{\"voucher_id\":\"01900000-0000-7000-8000-000000000000\","
        "\"order_id\":\"01900000-0000-7000-8000-000000000000\",\"amount_fen\":1,\"via\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = th_req(&w.srv, "POST", "/v1/redemptions", &w.inst, bad[i], NULL);
        th_assert_problem(&r, 400, "validation-failed");
        th_resp_free(&r);
    }
    world_ledger_ok(&w);
    free(before);
    free(expiring);
    free(t);
    free(t_other);
    free(forged);
    free(tampered);
    free(foreign);
    free(v);
    free(v_other);
    free(v_future);
    free(v_revoked);
    free(v_west);
    free(v_npu);
    free(v_green);
    free(v_cap);
    free(v_susp);
    free(p_west);
    free(p_npu);
    free(p_green);
    free(p_cap);
    free(p_susp);
    free(east);
    free(o);
    free(o_east);
    free(o_other);
    free(o_cancelled);
}
END_TEST

/* ==== orders ============================================================================== */

static struct th_resp order_with(const char *vouchers_json) {
    char body[1024];
    snprintf(body, sizeof body,
             "{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-02-01T00:00:00Z\","
             "\"end\":\"2030-02-01T10:00:00Z\",\"vouchers\":%s}",
             w.offer, vouchers_json);
    return th_req(&w.srv, "POST", "/v1/orders", &w.inst, body, NULL);
}

START_TEST(an_order_pays_with_vouchers_and_cancelling_returns_them) {
    char *v1 = world_voucher_id(&w, program, w.inst_org, 3000);
    char *v2;
    char *t2 = issue_token(program, w.inst_org, 20000, NULL, &v2);
    char list[1024];
    /* v1 gives all it has, the token as much as the rules allow: 50 % of 20 000 */
    snprintf(list, sizeof list, "[{\"voucher_id\":\"%s\",\"amount_fen\":3000},{\"token\":\"%s\"}]",
             v1, t2);
    struct th_resp r = order_with(list);
    th_assert_status(&r, 201);
    ck_assert_int_eq(th_int(&r, "gross_fen"), 20000);
    ck_assert_int_eq(th_int(&r, "subsidy_fen"), 10000);
    ck_assert_int_eq(th_int(&r, "net_fen"), 10000);
    char *o = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    ck_assert_int_eq(voucher_balance(v1), 0);
    ck_assert_int_eq(voucher_balance(v2), 13000);
    world_ledger_ok(&w);

    char *cp = path_of("/v1/orders/%s/cancel", o);
    r = th_req(&w.srv2, "POST", cp, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "subsidy_fen"), 0);
    ck_assert_int_eq(th_int(&r, "net_fen"), 20000);
    th_resp_free(&r);
    ck_assert_int_eq(voucher_balance(v1), 3000);
    ck_assert_int_eq(voucher_balance(v2), 20000);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM vouchers WHERE id IN ('%s', '%s') "
                                  "AND status = 'active'",
                                  v1, v2),
                     2);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM redemptions WHERE order_id = '%s' AND "
                                  "status = 'reversed' AND reversed_to = 'voucher'",
                                  o),
                     2);
    world_ledger_ok(&w);
    free(cp);
    free(o);
    free(v1);
    free(v2);
    free(t2);
}
END_TEST

START_TEST(an_order_whose_voucher_fails_is_not_made) {
    char *v = world_voucher_id(&w, program, w.inst_org, 3000);
    char *rp = path_of("/v1/vouchers/%s/revoke", v);
    struct th_resp r = th_req(&w.srv, "POST", rp, &w.admin, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    long long orders = world_sql_ll(&w, "SELECT count(*) FROM orders");
    char list[256];
    snprintf(list, sizeof list, "[{\"voucher_id\":\"%s\"}]", v);
    r = order_with(list);
    th_assert_problem(&r, 409, "voucher-revoked");
    ck_assert_ptr_nonnull(strstr(th_str(&r, "detail"), "vouchers[0]"));
    th_resp_free(&r);
    snprintf(list, sizeof list, "[{\"token\":\"v4.public.AAAA\"}]");
    r = order_with(list);
    th_assert_problem(&r, 400, "voucher-token-invalid");
    th_resp_free(&r);
    snprintf(list, sizeof list, "[{\"voucher_id\":\"%s\"},{\"voucher_id\":\"%s\"}]", v, v);
    r = order_with(list);
    th_assert_problem(&r, 400, "validation-failed");
    th_resp_free(&r);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT count(*) FROM orders"), orders);
    free(rp);
    free(v);
}
END_TEST

START_TEST(cancelling_after_revocation_returns_the_amount_to_the_programme) {
    char *p = world_program(&w, "{\"budget_fen\":10000}");
    char *v = world_voucher_id(&w, p, w.inst_org, 10000);
    char *o = world_order(&w, &w.inst, NULL, 1, 10, NULL);
    struct th_resp r = redeem(NULL, &w.inst, v, NULL, o, 4000, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    char *rp = path_of("/v1/vouchers/%s/revoke", v);
    r = th_req(&w.srv, "POST", rp, &w.admin, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "released_fen"), 6000);
    th_resp_free(&r);
    char *cp = path_of("/v1/orders/%s/cancel", o);
    r = th_req(&w.srv, "POST", cp, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM redemptions WHERE order_id = '%s' AND "
                                  "reversed_to = 'program'",
                                  o),
                     1);
    char *pp = path_of("/v1/programs/%s", p);
    r = th_req(&w.srv, "GET", pp, &w.admin, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "released_fen"), 10000);
    ck_assert_int_eq(th_int(&r, "redeemed_fen"), 0);
    ck_assert_int_eq(th_int(&r, "available_fen"), 10000);
    th_resp_free(&r);
    ck_assert_int_eq(voucher_balance(v), 0);
    world_ledger_ok(&w);
    free(pp);
    free(cp);
    free(rp);
    free(o);
    free(v);
    free(p);
}
END_TEST

START_TEST(cancelling_after_expiry_returns_the_amount_to_the_programme) {
    char soon[32];
    struct th_resp r = world_voucher(&w, program, w.inst_org, 8000, world_time(soon, 3), NULL);
    char *v = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    char *o = world_order(&w, &w.inst, NULL, 1, 10, NULL);
    r = redeem(&w.srv2, &w.inst, v, NULL, o, 3000, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    th_wait_past(w.dburl, soon, 15000);
    long long released0 =
        world_sql_ll(&w, "SELECT released_fen FROM programs WHERE id = '%s'", program);
    char *cp = path_of("/v1/orders/%s/cancel", o);
    r = th_req(&w.srv, "POST", cp, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM redemptions WHERE order_id = '%s' AND "
                                  "reversed_to = 'program'",
                                  o),
                     1);
    /* the expired voucher stays empty; its 5 000 unspent and the 3 000 reversed are released */
    char *vp = path_of("/v1/vouchers/%s", v);
    r = th_req(&w.srv, "GET", vp, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "expired");
    ck_assert_int_eq(th_int(&r, "balance_fen"), 0);
    ck_assert_int_eq(th_int(&r, "released_fen"), 8000);
    ck_assert_int_eq(th_int(&r, "redeemed_fen"), 0);
    th_resp_free(&r);
    ck_assert_int_ge(world_sql_ll(&w, "SELECT released_fen FROM programs WHERE id = '%s'", program),
                     released0 + 3000);
    world_ledger_ok(&w);
    free(vp);
    free(cp);
    free(o);
    free(v);
}
END_TEST

START_TEST(completing_an_order_settles_its_subsidy_to_the_provider) {
    char *v = world_voucher_id(&w, program, w.inst_org, 10000);
    char *o = world_order(&w, &w.inst, NULL, 1, 10, "2025-06-01T00:00:00Z");
    long long receivable0 = world_sql_ll(
        &w,
        "SELECT coalesce(sum(amount_fen), 0) FROM ledger_postings WHERE account_kind = "
        "'provider_receivable' AND account_id = '%s'",
        w.prov_org);
    struct th_resp r = redeem(NULL, &w.inst, v, NULL, o, 2500, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    char *cp = path_of("/v1/orders/%s/complete", o);
    r = th_req(&w.srv, "POST", cp, &w.prov, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    ck_assert_int_eq(
        world_sql_ll(
            &w,
            "SELECT coalesce(sum(amount_fen), 0) FROM ledger_postings WHERE account_kind = "
            "'provider_receivable' AND account_id = '%s'",
            w.prov_org),
        receivable0 + 2500);
    ck_assert_int_eq(order_subsidy(o), 2500);
    r = redeem(NULL, &w.inst, v, NULL, o, 100, NULL);
    th_assert_problem(&r, 409, "order-state-conflict");
    th_resp_free(&r);
    world_ledger_ok(&w);
    free(cp);
    free(o);
    free(v);
}
END_TEST

START_TEST(matching_prices_what_the_vouchers_would_pay) {
    char *v1 = world_voucher_id(&w, program, w.inst_org, 3000);
    char *v2 = world_voucher_id(&w, program, w.inst_org, 30000);
    char *theirs = world_voucher_id(&w, program, w.inst2_org, 30000);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT match_subsidy(jsonb_build_object('role', 'institute', 'org_id', '%s'), "
             "'%s', 20000, ARRAY['%s', '%s', '%s']::uuid[])",
             w.inst_org, w.offer, theirs, v1, v2);
    char *s = th_sql(w.dburl, sql);
    ck_assert_str_eq(s, "10000"); /* 3 000 + 7 000 up to 50 %; the foreign voucher pays 0 */
    free(s);
    char body[512];
    snprintf(body, sizeof body,
             "{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-03-01T00:00:00Z\","
             "\"end\":\"2030-03-01T10:00:00Z\",\"voucher_ids\":[\"%s\"]}",
             v1);
    struct th_resp r = th_req(&w.srv, "POST", "/v1/match", &w.inst, body, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "items.0.subsidy_fen"), 3000);
    th_resp_free(&r);
    free(v1);
    free(v2);
    free(theirs);
}
END_TEST

/* ==== concurrency ========================================================================= */

#define STORM 1000
#define STORM_THREADS 64

struct storm {
    const struct th_server *srv[2]; /* the two servers the requests alternate between */
    const char *voucher, *order;
    long long amount;
    int ok, short_balance, other;
    char other_body[512];
    pthread_mutex_t lock;
};

/* Thread i fires the requests i, i + 64, … sequentially, alternating the two servers. */
static void storm_thread(int i, void *ctx) {
    struct storm *x = ctx;
    for (int n = i; n < STORM; n += STORM_THREADS) {
        struct th_resp r =
            redeem(x->srv[n % 2], &w.inst, x->voucher, NULL, x->order, x->amount, NULL);
        pthread_mutex_lock(&x->lock);
        if (r.status == 201) {
            x->ok++;
        } else if (r.status == 409 && th_str(&r, "type") &&
                   strcmp(th_str(&r, "type"), "/problems/insufficient-balance") == 0) {
            x->short_balance++;
        } else {
            x->other++;
            snprintf(x->other_body, sizeof x->other_body, "%ld %s", r.status, r.body);
        }
        pthread_mutex_unlock(&x->lock);
        th_resp_free(&r);
    }
}

static void storm(const char *voucher, const char *order, long long amount, struct storm *x) {
    const struct th_server *a = x->srv[0] ? x->srv[0] : &w.srv,
                           *b = x->srv[1] ? x->srv[1] : &w.srv2;
    memset(x, 0, sizeof *x);
    x->srv[0] = a;
    x->srv[1] = b;
    x->voucher = voucher;
    x->order = order;
    x->amount = amount;
    pthread_mutex_init(&x->lock, NULL);
    th_parallel(STORM_THREADS, storm_thread, x);
    pthread_mutex_destroy(&x->lock);
    ck_assert_msg(x->other == 0, "%d unexpected answers, e.g. %s", x->other, x->other_body);
    ck_assert_int_eq(x->ok + x->short_balance, STORM);
}

START_TEST(a_thousand_concurrent_full_redemptions_succeed_exactly_once) {
    struct storm x = {0};
    char *p = world_program(&w, "{\"max_subsidy_bp\":10000}");
    char *v = world_voucher_id(&w, p, w.inst_org, 5000);
    char *o = world_order(&w, &w.inst, NULL, 1, 10, NULL);
    storm(v, o, 5000, &x);
    ck_assert_int_eq(x.ok, 1);
    ck_assert_int_eq(x.short_balance, STORM - 1);
    ck_assert_int_eq(voucher_balance(v), 0);
    ck_assert_int_eq(order_subsidy(o), 5000);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT count(*) FROM redemptions WHERE voucher_id = '%s'", v), 1);
    world_ledger_ok(&w);
    free(p);
    free(v);
    free(o);
}
END_TEST

START_TEST(a_thousand_concurrent_small_redemptions_take_floor_v_over_a) {
    struct storm x = {0};
    char *p = world_program(&w, "{\"max_subsidy_bp\":10000}");
    char *v = world_voucher_id(&w, p, w.inst_org, 1000);
    char *o = world_order(&w, &w.inst, NULL, 1, 10, NULL);
    storm(v, o, 7, &x);
    ck_assert_int_eq(x.ok, 1000 / 7);
    ck_assert_int_eq(voucher_balance(v), 1000 % 7);
    ck_assert_int_eq(order_subsidy(o), 1000 / 7 * 7);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM redemptions WHERE voucher_id = '%s' AND "
                                  "amount_fen = 7",
                                  v),
                     1000 / 7);
    world_ledger_ok(&w);
    free(p);
    free(v);
    free(o);
}
END_TEST

struct replay {
    const struct th_server *srv[2];
    const char *key; /* the Idempotency-Key header line */
    const char *voucher, *order;
    char *answers[32];
    long status[32];
};

static void replay_one(int i, void *ctx) {
    struct replay *x = ctx;
    const char *key[] = {x->key, NULL};
    struct th_resp r = redeem(x->srv[i % 2], &w.inst, x->voucher, NULL, x->order, 321, key);
    x->status[i] = r.status;
    x->answers[i] = strdup(r.body);
    th_resp_free(&r);
}

START_TEST(concurrent_replays_of_one_redemption_key_debit_once) {
    struct replay x = {.srv = {&w.srv, &w.srv2}, .key = "Idempotency-Key: redeem-once"};
    char *v = world_voucher_id(&w, program, w.inst_org, 1000);
    char *o = world_order(&w, &w.inst, NULL, 1, 10, NULL);
    x.voucher = v;
    x.order = o;
    th_parallel(32, replay_one, &x);
    for (int i = 0; i < 32; i++) {
        ck_assert_msg(x.status[i] == 201, "request %d: %ld %s", i, x.status[i], x.answers[i]);
        ck_assert_str_eq(x.answers[i], x.answers[0]);
    }
    for (int i = 0; i < 32; i++)
        free(x.answers[i]);
    ck_assert_int_eq(voucher_balance(v), 1000 - 321);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT count(*) FROM redemptions WHERE voucher_id = '%s'", v), 1);
    /* the same key with another body is refused, and debits nothing */
    const char *key[] = {"Idempotency-Key: redeem-once", NULL};
    struct th_resp r = redeem(NULL, &w.inst, v, NULL, o, 322, key);
    th_assert_problem(&r, 422, "idempotency-key-reused");
    th_resp_free(&r);
    ck_assert_int_eq(voucher_balance(v), 1000 - 321);
    free(v);
    free(o);
}
END_TEST

/* ==== one round trip ====================================================================== */

/* POST /v1/redemptions answers the plain case in one statement (api/redemptions.c
 * create_one_trip) and leaves every other case to the usual path: both must answer as before,
 * by API key and by session cookie, with and without an Idempotency-Key, refused or not. */
START_TEST(the_one_round_trip_answers_as_the_usual_path) {
    char *v = world_voucher_id(&w, program, w.inst_org, 1000);
    char *o = world_order(&w, &w.inst, NULL, 1, 10, NULL);
    struct th_auth cookie = w.inst; /* the same institute by its session cookie */
    cookie.key[0] = '\0';
    struct th_auth no_csrf = cookie;
    no_csrf.csrf[0] = '\0';
    struct th_auth stranger = w.inst;
    snprintf(stranger.key, sizeof stranger.key, "sk_unknown_0123456789");

    /* by key, then by cookie, on either server: the redemption and the same principal */
    struct th_resp r = redeem(&w.srv, &w.inst, v, NULL, o, 100, NULL);
    th_assert_status(&r, 201);
    char *rid = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    r = redeem(&w.srv2, &cookie, v, NULL, o, 50, NULL);
    th_assert_status(&r, 201);
    ck_assert_int_eq(th_int(&r, "amount_fen"), 50);
    th_resp_free(&r);
    ck_assert_int_eq(voucher_balance(v), 850);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM audit_events WHERE action = "
                                  "'redemption.create' AND subject_id = '%s' AND actor_user = '%s'",
                                  rid, w.inst.user_id),
                     1);

    /* not the plain case: each answered as before, nothing debited */
    r = redeem(&w.srv, &no_csrf, v, NULL, o, 10, NULL);
    th_assert_problem(&r, 403, "csrf-token-invalid");
    th_resp_free(&r);
    r = redeem(&w.srv, &stranger, v, NULL, o, 10, NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
    r = redeem(&w.srv, &w.prov, v, NULL, o, 10, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = redeem(&w.srv, &w.inst2, v, NULL, o, 10, NULL);
    ck_assert_msg(r.status == 403 || r.status == 404, "%ld %s", r.status, r.body);
    th_resp_free(&r);
    r = redeem(&w.srv, NULL, v, NULL, o, 10, NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
    ck_assert_int_eq(voucher_balance(v), 850);

    /* with a key: the first answer is stored with the redemption and replayed */
    const char *k1[] = {"Idempotency-Key: one-trip-1", NULL};
    r = redeem(&w.srv, &w.inst, v, NULL, o, 30, k1);
    th_assert_status(&r, 201);
    char *first = strdup(r.body);
    th_resp_free(&r);
    r = redeem(&w.srv2, &w.inst, v, NULL, o, 30, k1);
    th_assert_status(&r, 201);
    ck_assert_str_eq(r.body, first);
    char *replayed = th_header(&r, "Idempotent-Replayed");
    ck_assert_ptr_nonnull(replayed);
    ck_assert_str_eq(replayed, "true");
    free(replayed);
    th_resp_free(&r);
    r = redeem(&w.srv, &cookie, v, NULL, o, 31, k1); /* same user, other body */
    th_assert_problem(&r, 422, "idempotency-key-reused");
    th_resp_free(&r);
    ck_assert_int_eq(voucher_balance(v), 820);

    /* a refusal under a key is what the key replays, and changes nothing */
    const char *k2[] = {"Idempotency-Key: one-trip-2", NULL};
    r = redeem(&w.srv, &w.inst, v, NULL, o, 5000, k2);
    ck_assert_int_eq(r.status / 100, 4);
    char *refusal = strdup(r.body);
    long refusal_status = r.status;
    th_resp_free(&r);
    r = redeem(&w.srv2, &w.inst, v, NULL, o, 5000, k2);
    ck_assert_int_eq(r.status, refusal_status);
    ck_assert_str_eq(r.body, refusal);
    th_resp_free(&r);
    char long_key[320] = "Idempotency-Key: ";
    memset(long_key + strlen(long_key), 'k', 300); /* over 255 characters */
    const char *bad[] = {long_key, NULL};
    r = redeem(&w.srv, &w.inst, v, NULL, o, 1, bad);
    th_assert_problem(&r, 400, "bad-request");
    th_resp_free(&r);
    ck_assert_int_eq(voucher_balance(v), 820);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT count(*) FROM redemptions WHERE voucher_id = '%s'", v), 3);
    world_ledger_ok(&w);
    free(first);
    free(refusal);
    free(rid);
    free(v);
    free(o);
}
END_TEST

/* ==== group commit ======================================================================== */

/* SUANLI_GROUP_COMMIT=on on two more servers of the same database: concurrent redemptions
 * commit in groups, and a refused one (short balance) does not take the others of its group
 * with it; every answer is the one a redemption of its own would get, and replays of one
 * Idempotency-Key debit once. */
START_TEST(group_commit_on_two_servers_answers_each_request_as_alone) {
    const char *env[] = {"SUANLI_GROUP_COMMIT=on", "SUANLI_THREADS=8", NULL};
    struct th_server g1, g2;
    th_server_start(&g1, w.dburl, env);
    th_server_start(&g2, w.dburl, env);
    char *p = world_program(&w, "{\"max_subsidy_bp\":10000}");
    char *v = world_voucher_id(&w, p, w.inst_org, 1000);
    char *o = world_order(&w, &w.inst, NULL, 1, 10, NULL);
    struct storm x = {.srv = {&g1, &g2}};
    storm(v, o, 7, &x); /* 1 000 requests of 7 fen on a balance of 1 000 */
    ck_assert_int_eq(x.ok, 1000 / 7);
    ck_assert_int_eq(x.short_balance, STORM - 1000 / 7);
    ck_assert_int_eq(voucher_balance(v), 1000 % 7);
    ck_assert_int_eq(order_subsidy(o), 1000 / 7 * 7);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT count(*) FROM redemptions WHERE voucher_id = '%s'", v), 1000 / 7);
    /* they did go in groups: 64 clients on 2 x 8 workers, so some group carried several */
    long long groups =
        th_metric(&g1, "suanli_group_commits_total") + th_metric(&g2, "suanli_group_commits_total");
    long long grouped = th_metric(&g1, "suanli_group_commit_requests_total") +
                        th_metric(&g2, "suanli_group_commit_requests_total");
    ck_assert_int_eq(grouped, STORM);
    ck_assert_msg(groups < grouped, "%lld groups carried %lld requests", groups, grouped);

    struct replay r = {.srv = {&g1, &g2}, .key = "Idempotency-Key: redeem-once-in-a-group"};
    char *v2 = world_voucher_id(&w, p, w.inst_org, 1000);
    char *o2 = world_order(&w, &w.inst, NULL, 1, 10, NULL);
    r.voucher = v2;
    r.order = o2;
    th_parallel(32, replay_one, &r);
    for (int i = 0; i < 32; i++) {
        ck_assert_msg(r.status[i] == 201, "request %d: %ld %s", i, r.status[i], r.answers[i]);
        ck_assert_str_eq(r.answers[i], r.answers[0]);
    }
    for (int i = 0; i < 32; i++)
        free(r.answers[i]);
    ck_assert_int_eq(voucher_balance(v2), 1000 - 321);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT count(*) FROM redemptions WHERE voucher_id = '%s'", v2), 1);
    world_ledger_ok(&w);
    ck_assert_int_eq(th_server_stop(&g1), 0);
    ck_assert_int_eq(th_server_stop(&g2), 0);
    free(p);
    free(v);
    free(o);
    free(v2);
    free(o2);
}
END_TEST

/* Lanes (SUANLI_GROUP_COMMIT_LANES=4): ten credentials of two institutes (each one's session
 * and four API keys) redeem 1 fen at a time from their institute's voucher on two group-commit
 * servers. Groups of different lanes run side by side (the busy-lanes peak reaches 2), and
 * still every request is answered as alone: exactly the 201s debited, per institute, the
 * ledger whole. A credential's requests share a lane; the two institutes' rows may meet in two
 * lanes (one institute's several keys), which is the case a deadlock between lanes would
 * show. */
#define LANE_CREDS 10
struct lanes {
    const struct th_server *srv[2];
    struct th_auth who[LANE_CREDS];
    const char *voucher[2], *order[2];
    int ok[2], other;
    char other_body[512];
    pthread_mutex_t lock;
};

static void lanes_thread(int i, void *ctx) {
    struct lanes *x = ctx;
    for (int n = i; n < STORM; n += STORM_THREADS) {
        int c = n % LANE_CREDS, inst = c % 2;
        struct th_resp r =
            redeem(x->srv[n % 2], &x->who[c], x->voucher[inst], NULL, x->order[inst], 1, NULL);
        pthread_mutex_lock(&x->lock);
        if (r.status == 201) {
            x->ok[inst]++;
        } else {
            x->other++;
            snprintf(x->other_body, sizeof x->other_body, "%ld %s", r.status, r.body);
        }
        pthread_mutex_unlock(&x->lock);
        th_resp_free(&r);
    }
}

START_TEST(group_commit_lanes_run_side_by_side_and_answer_each_request_as_alone) {
    const char *env[] = {"SUANLI_GROUP_COMMIT=on", "SUANLI_THREADS=16",
                         "SUANLI_GROUP_COMMIT_LANES=4", NULL};
    struct th_server g1, g2;
    th_server_start(&g1, w.dburl, env);
    th_server_start(&g2, w.dburl, env);
    struct lanes x = {.srv = {&g1, &g2}};
    pthread_mutex_init(&x.lock, NULL);
    char *p = world_program(&w, "{\"max_subsidy_bp\":10000}");
    const struct th_auth *inst[2] = {&w.inst, &w.inst2};
    const char *org[2] = {w.inst_org, w.inst2_org};
    char *v[2], *o[2];
    for (int k = 0; k < 2; k++) {
        v[k] = world_voucher_id(&w, p, org[k], 100000);
        o[k] = world_order(&w, inst[k], NULL, 1, 10, NULL);
        x.voucher[k] = v[k];
        x.order[k] = o[k];
    }
    for (int c = 0; c < LANE_CREDS; c++) { /* c % 2 is the institute: its session, then keys */
        x.who[c] = *inst[c % 2];
        x.who[c].key[0] = '\0';
        if (c < 2)
            continue;
        struct th_resp r =
            th_req(&w.srv, "POST", "/v1/api-keys", &x.who[c], "{\"name\":\"lane\"}", NULL);
        th_assert_status(&r, 201);
        snprintf(x.who[c].key, sizeof x.who[c].key, "%s", th_str(&r, "key"));
        th_resp_free(&r);
    }
    th_parallel(STORM_THREADS, lanes_thread, &x);
    ck_assert_msg(x.other == 0, "%d unexpected answers, e.g. %s", x.other, x.other_body);
    ck_assert_int_eq(x.ok[0] + x.ok[1], STORM);
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(voucher_balance(v[k]), 100000 - x.ok[k]);
        ck_assert_int_eq(order_subsidy(o[k]), x.ok[k]);
        ck_assert_int_eq(
            world_sql_ll(&w, "SELECT count(*) FROM redemptions WHERE voucher_id = '%s'", v[k]),
            x.ok[k]);
    }
    world_ledger_ok(&w);
    long long peak = th_metric(&g1, "suanli_group_commit_lanes_busy_max");
    long long peak2 = th_metric(&g2, "suanli_group_commit_lanes_busy_max");
    ck_assert_msg(peak >= 2 || peak2 >= 2, "lanes busy at once: at most %lld and %lld", peak,
                  peak2);
    ck_assert_int_le(peak, 4);
    ck_assert_int_le(peak2, 4);
    ck_assert_int_eq(th_server_stop(&g1), 0);
    ck_assert_int_eq(th_server_stop(&g2), 0);
    pthread_mutex_destroy(&x.lock);
    for (int k = 0; k < 2; k++) {
        free(v[k]);
        free(o[k]);
    }
    free(p);
}
END_TEST

/* ==== the ledger check ==================================================================== */

static int run(const char *cmd, char **out) {
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 1 << 20, len = 0, n;
    *out = calloc(1, cap);
    while ((n = fread(*out + len, 1, cap - len - 1, p)) > 0)
        len += n;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(ledger_check_proves_the_books_and_finds_a_forged_balance) {
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, "DATABASE_URL='%s' %s ledger-check 2>&1", w.dburl, th_suanlid());
    ck_assert_msg(run(cmd, &out) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "\"ok\": true"));
    free(out);
    /* someone with database access adds a fen to a voucher: the books no longer agree */
    char *v = world_voucher_id(&w, program, w.inst_org, 100);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE vouchers SET balance_fen = balance_fen - 1 WHERE id = '%s'",
             v);
    free(th_sql(w.dburl, sql));
    ck_assert_int_eq(run(cmd, &out), 1);
    ck_assert_ptr_nonnull(strstr(out, "voucher_matches_ledger"));
    ck_assert_ptr_nonnull(strstr(out, v));
    free(out);
    snprintf(sql, sizeof sql, "UPDATE vouchers SET balance_fen = balance_fen + 1 WHERE id = '%s'",
             v);
    free(th_sql(w.dburl, sql));
    ck_assert_int_eq(run(cmd, &out), 0);
    free(out);
    free(v);
}
END_TEST

int main(void) {
    if (sodium_init() < 0)
        return 1;
    Suite *s = suite_create("redemptions");
    th_shared(up, down);
    th_case(s, a_voucher_pays_part_of_an_own_reserved_order, 600, setup, teardown);
    th_case(s, a_token_stands_for_its_voucher, 600, setup, teardown);
    th_case(s, each_failing_condition_has_its_own_problem_and_changes_nothing, 600, setup,
            teardown);
    th_case(s, an_order_pays_with_vouchers_and_cancelling_returns_them, 600, setup, teardown);
    th_case(s, an_order_whose_voucher_fails_is_not_made, 600, setup, teardown);
    th_case(s, cancelling_after_revocation_returns_the_amount_to_the_programme, 600, setup,
            teardown);
    th_case(s, cancelling_after_expiry_returns_the_amount_to_the_programme, 600, setup, teardown);
    th_case(s, completing_an_order_settles_its_subsidy_to_the_provider, 600, setup, teardown);
    th_case(s, matching_prices_what_the_vouchers_would_pay, 600, setup, teardown);
    th_case(s, a_thousand_concurrent_full_redemptions_succeed_exactly_once, 600, setup, teardown);
    th_case(s, a_thousand_concurrent_small_redemptions_take_floor_v_over_a, 600, setup, teardown);
    th_case(s, concurrent_replays_of_one_redemption_key_debit_once, 600, setup, teardown);
    th_case(s, ledger_check_proves_the_books_and_finds_a_forged_balance, 600, setup, teardown);
    th_case(s, the_one_round_trip_answers_as_the_usual_path, 600, setup, teardown);
    th_case(s, group_commit_on_two_servers_answers_each_request_as_alone, 600, setup, teardown);
    th_case(s, group_commit_lanes_run_side_by_side_and_answer_each_request_as_alone, 600, setup,
            teardown);
    return th_run(s);
}
