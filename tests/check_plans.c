/* check_plans.c — plans of several legs against a real suanlid and PostgreSQL: POST /v1/quotes
 * prices a plan with vouchers on the server (changing nothing), POST /v1/plans reserves every
 * leg in one transaction (all or none, refusals naming legs[i].<field>), foreign and paused
 * offers and foreign vouchers, Idempotency-Key replay (I4), and plans racing for limited
 * capacity on two server processes never oversell it (I3). */
#include "world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct world w;

static void up(void) {
    world_setup(&w, "plans", 0);
}

static int down(void) {
    return world_teardown(&w);
}

static long long orders_on(const char *offer) {
    return world_sql_ll(&w, "SELECT count(*) FROM orders WHERE offer_id = '%s'", offer);
}

static long long balance_of(const char *voucher) {
    return world_sql_ll(&w, "SELECT balance_fen FROM vouchers WHERE id = '%s'", voucher);
}

static void assert_field(const struct th_resp *r, const char *field) {
    const char *f = th_str(r, "errors.0.field");
    ck_assert_msg(f != NULL && strcmp(f, field) == 0, "expected errors[0].field %s in %s", field,
                  r->body);
}

static struct th_resp post(const struct th_server *s, const struct th_auth *by, const char *path,
                           const char *body, const char *const *headers) {
    return th_req(s ? s : &w.srv, "POST", path, by, body, headers);
}

/* ==== quote, then reserve ================================================================== */

START_TEST(a_quoted_plan_is_reserved_in_one_request_at_the_quoted_price) {
    char *a = world_offer(&w, &w.prov, NULL), *b = world_offer(&w, &w.prov2, NULL);
    char *program = world_program(&w, NULL); /* 50 % of gross at most */
    char *voucher = world_voucher_id(&w, program, w.inst_org, 10000);
    char legs[512], body[1024];
    snprintf(legs, sizeof legs,
             "[{\"offer_id\":\"%s\",\"units\":3,\"start\":\"2030-01-01T00:00:00Z\","
             "\"end\":\"2030-01-01T02:00:00Z\"},"
             "{\"offer_id\":\"%s\",\"units\":2,\"start\":\"2030-01-01T00:00:00Z\","
             "\"end\":\"2030-01-01T01:30:00Z\"}]",
             a, b);
    snprintf(body, sizeof body, "{\"legs\":%s,\"voucher_ids\":[\"%s\"]}", legs, voucher);
    struct th_resp q = post(NULL, &w.inst, "/v1/quotes", body, NULL);
    th_assert_status(&q, 200);
    /* 3 × 2 h × 2000 and 2 × 2 started hours × 2000; the voucher pays half of the first leg
     * and what it has left of the second */
    ck_assert_int_eq(th_int(&q, "gross_fen"), 12000 + 8000);
    ck_assert_int_eq(th_int(&q, "subsidy_fen"), 6000 + 4000);
    ck_assert_int_eq(th_int(&q, "net_fen"), 10000);
    ck_assert_int_eq(th_int(&q, "legs.0.gross_fen"), 12000);
    ck_assert_int_eq(th_int(&q, "legs.0.hours"), 2);
    ck_assert_int_eq(th_int(&q, "legs.0.free_units"), 10);
    ck_assert_int_eq(th_int(&q, "legs.0.vouchers.0.amount_fen"), 6000);
    ck_assert_str_eq(th_str(&q, "legs.0.vouchers.0.voucher_id"), voucher);
    ck_assert_int_eq(th_int(&q, "legs.1.hours"), 2);
    ck_assert_int_eq(th_int(&q, "legs.1.subsidy_fen"), 4000);
    ck_assert_int_eq(th_int(&q, "legs.1.vouchers.0.amount_fen"), 4000);
    /* a quote changes nothing */
    ck_assert_int_eq(orders_on(a) + orders_on(b), 0);
    ck_assert_int_eq(balance_of(voucher), 10000);
    th_resp_free(&q);

    /* an amount caps what the vouchers pay together */
    snprintf(body, sizeof body, "{\"legs\":%s,\"voucher_ids\":[\"%s\"],\"amount_fen\":7000}", legs,
             voucher);
    q = post(NULL, &w.inst, "/v1/quotes", body, NULL);
    th_assert_status(&q, 200);
    ck_assert_int_eq(th_int(&q, "legs.0.subsidy_fen"), 6000);
    ck_assert_int_eq(th_int(&q, "legs.1.subsidy_fen"), 1000);
    ck_assert_int_eq(th_int(&q, "subsidy_fen"), 7000);
    th_resp_free(&q);

    /* the plan, with the allocation the first quote gave */
    snprintf(body, sizeof body,
             "{\"legs\":[{\"offer_id\":\"%s\",\"units\":3,\"start\":\"2030-01-01T00:00:00Z\","
             "\"end\":\"2030-01-01T02:00:00Z\",\"vouchers\":[{\"voucher_id\":\"%s\","
             "\"amount_fen\":6000}]},"
             "{\"offer_id\":\"%s\",\"units\":2,\"start\":\"2030-01-01T00:00:00Z\","
             "\"end\":\"2030-01-01T01:30:00Z\",\"vouchers\":[{\"voucher_id\":\"%s\","
             "\"amount_fen\":4000}]}]}",
             a, voucher, b, voucher);
    struct th_resp p = post(NULL, &w.inst, "/v1/plans", body, NULL);
    th_assert_status(&p, 201);
    ck_assert_int_eq(th_int(&p, "gross_fen"), 20000);
    ck_assert_int_eq(th_int(&p, "subsidy_fen"), 10000);
    ck_assert_int_eq(th_int(&p, "net_fen"), 10000);
    ck_assert_str_eq(th_str(&p, "orders.0.offer_id"), a);
    ck_assert_str_eq(th_str(&p, "orders.0.status"), "reserved");
    ck_assert_int_eq(th_int(&p, "orders.0.net_fen"), 6000);
    ck_assert_str_eq(th_str(&p, "orders.1.offer_id"), b);
    ck_assert_int_eq(th_int(&p, "orders.1.subsidy_fen"), 4000);
    ck_assert_int_eq(orders_on(a), 1);
    ck_assert_int_eq(orders_on(b), 1);
    ck_assert_int_eq(balance_of(voucher), 0);
    /* each order is an ordinary order of the institute */
    char path[80];
    snprintf(path, sizeof path, "/v1/orders/%s", th_str(&p, "orders.1.id"));
    ck_assert_int_eq(world_get_int(&w, &w.inst, path, "units"), 2);
    world_ledger_ok(&w);
    th_resp_free(&p);

    /* the spent voucher pays nothing in a new quote; the capacity taken shows */
    snprintf(body, sizeof body, "{\"legs\":%s,\"voucher_ids\":[\"%s\"]}", legs, voucher);
    q = post(NULL, &w.inst, "/v1/quotes", body, NULL);
    th_assert_status(&q, 200);
    ck_assert_int_eq(th_int(&q, "subsidy_fen"), 0);
    ck_assert_int_eq(th_int(&q, "legs.0.free_units"), 7);
    ck_assert_int_eq(th_int(&q, "legs.1.free_units"), 8);
    th_resp_free(&q);
    free(voucher);
    free(program);
    free(a);
    free(b);
}
END_TEST

/* A quote applies the limits redemption applies (the yearly cap per institute, the cap per
 * contract, the application's contract value across legs), so that the plan it lists is then
 * charged exactly that and not refused. */
START_TEST(a_quote_prices_the_yearly_and_contract_caps_as_redemption_charges_them) {
    char *a = world_offer(&w, &w.prov, NULL), *b = world_offer(&w, &w.prov2, NULL);
    char *program = world_program(&w, "{\"per_institute_year_cap_fen\":1500,"
                                      "\"per_contract_cap_bp\":1000}");
    char *voucher = world_voucher_id(&w, program, w.inst_org, 10000);
    char legs[512], body[1024];
    snprintf(legs, sizeof legs,
             "[{\"offer_id\":\"%s\",\"units\":3,\"start\":\"2030-01-01T00:00:00Z\","
             "\"end\":\"2030-01-01T02:00:00Z\"},"
             "{\"offer_id\":\"%s\",\"units\":2,\"start\":\"2030-01-01T00:00:00Z\","
             "\"end\":\"2030-01-01T02:00:00Z\"}]",
             a, b);
    snprintf(body, sizeof body, "{\"legs\":%s,\"voucher_ids\":[\"%s\"]}", legs, voucher);
    struct th_resp q = post(NULL, &w.inst, "/v1/quotes", body, NULL);
    th_assert_status(&q, 200);
    /* gross 12000 and 8000; each order is its own contract (10 %: 1200 and 800), and the
     * year's 1500 leaves 300 for the second leg */
    ck_assert_int_eq(th_int(&q, "legs.0.subsidy_fen"), 1200);
    ck_assert_int_eq(th_int(&q, "legs.1.subsidy_fen"), 300);
    ck_assert_int_eq(th_int(&q, "subsidy_fen"), 1500);
    th_resp_free(&q);
    snprintf(body, sizeof body,
             "{\"legs\":[{\"offer_id\":\"%s\",\"units\":3,\"start\":\"2030-01-01T00:00:00Z\","
             "\"end\":\"2030-01-01T02:00:00Z\",\"vouchers\":[{\"voucher_id\":\"%s\","
             "\"amount_fen\":1200}]},"
             "{\"offer_id\":\"%s\",\"units\":2,\"start\":\"2030-01-01T00:00:00Z\","
             "\"end\":\"2030-01-01T02:00:00Z\",\"vouchers\":[{\"voucher_id\":\"%s\","
             "\"amount_fen\":300}]}]}",
             a, voucher, b, voucher);
    struct th_resp p = post(NULL, &w.inst, "/v1/plans", body, NULL);
    th_assert_status(&p, 201);
    ck_assert_int_eq(th_int(&p, "subsidy_fen"), 1500);
    th_resp_free(&p);
    /* the year is spent: a new quote pays nothing */
    snprintf(body, sizeof body, "{\"legs\":%s,\"voucher_ids\":[\"%s\"]}", legs, voucher);
    q = post(NULL, &w.inst, "/v1/quotes", body, NULL);
    th_assert_status(&q, 200);
    ck_assert_int_eq(th_int(&q, "subsidy_fen"), 0);
    th_resp_free(&q);

    /* a voucher of an application: the contract (value 10 000) spans both legs; the city
     * lowers the cap to 5 % after approval, so 500 of the voucher's 1000 fen may still pay */
    char *p2 = world_program(&w, "{\"per_contract_cap_bp\":1000}");
    snprintf(body, sizeof body,
             "{\"program_id\":\"%s\",\"requested_fen\":1000,\"purpose\":\"training\","
             "\"contract_reference\":\"Q-%s\",\"contract_value_fen\":10000}",
             p2, p2);
    struct th_resp r = post(NULL, &w.inst, "/v1/applications", body, NULL);
    th_assert_status(&r, 201);
    char path[128];
    snprintf(path, sizeof path, "/v1/applications/%s/approve", th_str(&r, "id"));
    th_resp_free(&r);
    r = post(NULL, &w.admin, path, NULL, NULL);
    th_assert_status(&r, 200);
    char *av = strdup(th_str(&r, "voucher_id"));
    th_resp_free(&r);
    snprintf(path, sizeof path, "/v1/programs/%s", p2);
    const char *match[] = {"If-Match: \"1\"", NULL};
    r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"per_contract_cap_bp\":500}", match);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    snprintf(body, sizeof body, "{\"legs\":%s,\"voucher_ids\":[\"%s\"]}", legs, av);
    q = post(NULL, &w.inst, "/v1/quotes", body, NULL);
    th_assert_status(&q, 200);
    ck_assert_int_eq(th_int(&q, "legs.0.subsidy_fen"), 500);
    ck_assert_int_eq(th_int(&q, "legs.1.subsidy_fen"), 0);
    th_resp_free(&q);
    snprintf(body, sizeof body,
             "{\"legs\":[{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-02-01T00:00:00Z\","
             "\"end\":\"2030-02-01T06:00:00Z\",\"vouchers\":[{\"voucher_id\":\"%s\","
             "\"amount_fen\":500}]}]}",
             a, av);
    p = post(NULL, &w.inst, "/v1/plans", body, NULL);
    th_assert_status(&p, 201);
    ck_assert_int_eq(th_int(&p, "subsidy_fen"), 500);
    th_resp_free(&p);
    world_ledger_ok(&w);
    free(av);
    free(p2);
    free(voucher);
    free(program);
    free(a);
    free(b);
}
END_TEST

/* ==== all or nothing ======================================================================== */

START_TEST(a_plan_whose_one_leg_fails_reserves_nothing_and_names_the_leg) {
    char *a = world_offer(&w, &w.prov, NULL), *b = world_offer(&w, &w.prov, NULL);
    char *program = world_program(&w, NULL);
    char *voucher = world_voucher_id(&w, program, w.inst_org, 10000);
    char body[1024];
    /* leg 1 wants 11 of 10 units: leg 0, its voucher and its audit events are undone */
    snprintf(body, sizeof body,
             "{\"legs\":[{\"offer_id\":\"%s\",\"units\":3,\"start\":\"2030-02-01T00:00:00Z\","
             "\"end\":\"2030-02-01T02:00:00Z\",\"vouchers\":[{\"voucher_id\":\"%s\"}]},"
             "{\"offer_id\":\"%s\",\"units\":11,\"start\":\"2030-02-01T00:00:00Z\","
             "\"end\":\"2030-02-01T02:00:00Z\"}]}",
             a, voucher, b);
    long long audit = world_sql_ll(&w, "SELECT count(*) FROM audit_events");
    struct th_resp r = post(NULL, &w.inst, "/v1/plans", body, NULL);
    th_assert_problem(&r, 409, "insufficient-capacity");
    assert_field(&r, "legs[1].units");
    ck_assert_msg(strstr(th_str(&r, "detail"), b) != NULL, "detail names the offer: %s", r.body);
    th_resp_free(&r);
    ck_assert_int_eq(orders_on(a) + orders_on(b), 0);
    ck_assert_int_eq(balance_of(voucher), 10000);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT count(*) FROM audit_events"), audit);

    /* a voucher asked for more than it holds on leg 1 */
    snprintf(body, sizeof body,
             "{\"legs\":[{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-02-01T00:00:00Z\","
             "\"end\":\"2030-02-01T01:00:00Z\"},"
             "{\"offer_id\":\"%s\",\"units\":10,\"start\":\"2030-02-01T00:00:00Z\","
             "\"end\":\"2030-02-02T00:00:00Z\",\"vouchers\":[{\"voucher_id\":\"%s\","
             "\"amount_fen\":10001}]}]}",
             a, b, voucher);
    r = post(NULL, &w.inst, "/v1/plans", body, NULL);
    th_assert_problem(&r, 409, "insufficient-balance");
    assert_field(&r, "legs[1].vouchers[0].amount_fen");
    th_resp_free(&r);
    ck_assert_int_eq(orders_on(a) + orders_on(b), 0);

    /* two legs that together overbook one offer: the second sees the first */
    snprintf(body, sizeof body,
             "{\"legs\":[{\"offer_id\":\"%s\",\"units\":6,\"start\":\"2030-02-01T00:00:00Z\","
             "\"end\":\"2030-02-01T02:00:00Z\"},"
             "{\"offer_id\":\"%s\",\"units\":5,\"start\":\"2030-02-01T01:00:00Z\","
             "\"end\":\"2030-02-01T03:00:00Z\"}]}",
             a, a);
    r = post(NULL, &w.inst, "/v1/plans", body, NULL);
    th_assert_problem(&r, 409, "insufficient-capacity");
    assert_field(&r, "legs[1].units");
    th_resp_free(&r);
    ck_assert_int_eq(orders_on(a), 0);

    /* bodies are checked before anything runs, each field named in its leg */
    const struct {
        const char *body;
        const char *field;
    } bad[] = {
        {"{\"legs\":[]}", "legs"},
        {"{}", "legs"},
        {"{\"legs\":[{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-02-01T00:00:00Z\","
         "\"end\":\"2030-02-01T01:00:00Z\"},{\"offer_id\":\"%s\",\"units\":1,"
         "\"start\":\"2030-02-01T02:00:00Z\",\"end\":\"2030-02-01T01:00:00Z\"}]}",
         "legs[1].end"},
        {"{\"legs\":[{\"offer_id\":\"%s\",\"units\":0,\"start\":\"2030-02-01T00:00:00Z\","
         "\"end\":\"2030-02-01T01:00:00Z\"}]}",
         "legs[0].units"},
        {"{\"legs\":[{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-02-01T00:00:00Z\","
         "\"end\":\"2030-02-01T01:00:00Z\",\"gross_fen\":1}]}",
         "legs[0].gross_fen"},
        {"{\"legs\":[{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-02-01T00:00:00Z\","
         "\"end\":\"2030-02-01T01:00:00Z\",\"vouchers\":[{\"amount_fen\":1}]}]}",
         "legs[0].vouchers[0]"},
        {"{\"legs\":[1]}", "legs[0]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(body, sizeof body, bad[i].body, a, a);
        r = post(NULL, &w.inst, "/v1/plans", body, NULL);
        th_assert_problem(&r, 400, "validation-failed");
        assert_field(&r, bad[i].field);
        th_resp_free(&r);
        r = post(NULL, &w.inst, "/v1/quotes", body, NULL);
        ck_assert_int_eq(r.status, 400);
        th_resp_free(&r);
    }
    ck_assert_int_eq(orders_on(a), 0);
    free(voucher);
    free(program);
    free(a);
    free(b);
}
END_TEST

/* ==== whose offers, whose vouchers ========================================================== */

START_TEST(paused_and_unknown_offers_and_foreign_vouchers_are_refused) {
    char *a = world_offer(&w, &w.prov, NULL), *paused = world_offer(&w, &w.prov, NULL);
    char path[80];
    snprintf(path, sizeof path, "/v1/offers/%s", paused);
    const char *h1[] = {"If-Match: \"1\"", NULL};
    struct th_resp r = th_req(&w.srv, "PATCH", path, &w.prov, "{\"status\":\"paused\"}", h1);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    char *program = world_program(&w, NULL);
    char *theirs = world_voucher_id(&w, program, w.inst2_org, 10000);
    const char *nobody = "01900000-0000-7000-8000-000000000000";
    char body[1024];
    const char *leg = "{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-03-01T00:00:00Z\","
                      "\"end\":\"2030-03-01T01:00:00Z\"%s}";
    char leg0[256], leg1[400];
    snprintf(leg0, sizeof leg0, leg, a, "");

    /* a paused offer: a plan is refused at its leg; a quote does not see it */
    snprintf(leg1, sizeof leg1, leg, paused, "");
    snprintf(body, sizeof body, "{\"legs\":[%s,%s]}", leg0, leg1);
    r = post(NULL, &w.inst, "/v1/plans", body, NULL);
    th_assert_problem(&r, 409, "offer-not-active");
    assert_field(&r, "legs[1].offer_id");
    th_resp_free(&r);
    r = post(NULL, &w.inst, "/v1/quotes", body, NULL);
    th_assert_problem(&r, 404, "not-found");
    assert_field(&r, "legs[1].offer_id");
    th_resp_free(&r);

    /* an offer that does not exist */
    snprintf(leg1, sizeof leg1, leg, nobody, "");
    snprintf(body, sizeof body, "{\"legs\":[%s,%s]}", leg0, leg1);
    r = post(NULL, &w.inst, "/v1/plans", body, NULL);
    th_assert_problem(&r, 404, "not-found");
    assert_field(&r, "legs[1].offer_id");
    th_resp_free(&r);

    /* another institute's voucher is not found, in a plan and in a quote */
    char vs[160];
    snprintf(vs, sizeof vs, ",\"vouchers\":[{\"voucher_id\":\"%s\"}]", theirs);
    snprintf(leg1, sizeof leg1, leg, a, vs);
    snprintf(body, sizeof body, "{\"legs\":[%s,%s]}", leg0, leg1);
    r = post(NULL, &w.inst, "/v1/plans", body, NULL);
    th_assert_problem(&r, 404, "not-found");
    assert_field(&r, "legs[1].vouchers[0].voucher_id");
    th_resp_free(&r);
    snprintf(body, sizeof body, "{\"legs\":[%s],\"voucher_ids\":[\"%s\"]}", leg0, theirs);
    r = post(NULL, &w.inst, "/v1/quotes", body, NULL);
    th_assert_problem(&r, 404, "not-found");
    assert_field(&r, "voucher_ids[0]");
    th_resp_free(&r);
    ck_assert_int_eq(balance_of(theirs), 10000);
    ck_assert_int_eq(orders_on(a) + orders_on(paused), 0);

    /* only institutes reserve or price plans */
    snprintf(body, sizeof body, "{\"legs\":[%s]}", leg0);
    r = post(NULL, &w.prov, "/v1/plans", body, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = post(NULL, &w.admin, "/v1/quotes", body, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    ck_assert_int_eq(orders_on(a), 0);
    free(theirs);
    free(program);
    free(paused);
    free(a);
}
END_TEST

/* ==== Idempotency-Key ======================================================================= */

START_TEST(a_plan_under_an_idempotency_key_is_reserved_once_and_replayed) {
    char *a = world_offer(&w, &w.prov, NULL), *b = world_offer(&w, &w.prov, NULL);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"legs\":[{\"offer_id\":\"%s\",\"units\":4,\"start\":\"2030-04-01T00:00:00Z\","
             "\"end\":\"2030-04-01T01:00:00Z\"},"
             "{\"offer_id\":\"%s\",\"units\":4,\"start\":\"2030-04-01T00:00:00Z\","
             "\"end\":\"2030-04-01T01:00:00Z\"}]}",
             a, b);
    const char *key[] = {"Idempotency-Key: plan-key-1", NULL};
    struct th_resp x = post(NULL, &w.inst, "/v1/plans", body, key);
    th_assert_status(&x, 201);
    struct th_resp y = post(NULL, &w.inst, "/v1/plans", body, key);
    th_assert_status(&y, 201);
    ck_assert_str_eq(x.body, y.body);
    char *replayed = th_header(&y, "Idempotent-Replayed");
    ck_assert_str_eq(replayed, "true");
    free(replayed);
    ck_assert_int_eq(orders_on(a), 1);
    ck_assert_int_eq(orders_on(b), 1);
    /* the key names this plan: another body under it is refused, and changes nothing */
    body[strlen(body) - 1] = '\0';
    strcat(body, ",\"x\":1}");
    struct th_resp z = post(NULL, &w.inst, "/v1/plans", body, key);
    ck_assert_int_ge(z.status, 400);
    ck_assert_int_lt(z.status, 500);
    ck_assert_int_eq(orders_on(a), 1);
    th_resp_free(&x);
    th_resp_free(&y);
    th_resp_free(&z);
    free(a);
    free(b);
}
END_TEST

/* ==== concurrency =========================================================================== */

#define RACERS 60

struct race {
    const struct th_server *servers[2];
    const char *offer[2];
    long status[RACERS];
    char type[RACERS][80];
    int units[RACERS][2];
};

/* Racer i asks for a plan of one leg on each offer (in either order), 1 to 3 units each, in
 * overlapping windows of one day. */
static void race_one(int i, void *ctx) {
    struct race *rc = ctx;
    unsigned x = (unsigned)i * 2654435761u;
    int first = i % 2, start = (int)(x % 12), len = 1 + (int)((x >> 8) % 6);
    rc->units[i][0] = 1 + (int)((x >> 16) % 3);
    rc->units[i][1] = 1 + (int)((x >> 20) % 3);
    char body[1024], legs[2][300];
    for (int k = 0; k < 2; k++)
        snprintf(legs[k], sizeof legs[k],
                 "{\"offer_id\":\"%s\",\"units\":%d,\"start\":\"2030-12-01T%02d:00:00Z\","
                 "\"end\":\"2030-12-01T%02d:00:00Z\"}",
                 rc->offer[k], rc->units[i][k], start, start + len);
    snprintf(body, sizeof body, "{\"legs\":[%s,%s]}", legs[first], legs[1 - first]);
    struct th_resp r = post(rc->servers[i % 2], &w.inst, "/v1/plans", body, NULL);
    rc->status[i] = r.status;
    const char *t = th_str(&r, "type");
    snprintf(rc->type[i], sizeof rc->type[i], "%s", t ? t : "");
    th_resp_free(&r);
}

START_TEST(plans_racing_on_two_servers_never_oversell_and_land_whole) {
    struct th_server second;
    th_server_start(&second, w.dburl, NULL);
    struct race *rc = calloc(1, sizeof *rc);
    char *a = world_offer(&w, &w.prov, NULL), *b = world_offer(&w, &w.prov2, NULL); /* 10 each */
    rc->servers[0] = &w.srv;
    rc->servers[1] = &second;
    rc->offer[0] = a;
    rc->offer[1] = b;
    th_parallel(RACERS, race_one, rc);
    ck_assert_int_eq(th_server_stop(&second), 0);

    int created = 0, refused = 0;
    for (int i = 0; i < RACERS; i++) {
        if (rc->status[i] == 201) {
            created++;
            continue;
        }
        ck_assert_msg(rc->status[i] == 409, "plan %d answered %ld (%s)", i, rc->status[i],
                      rc->type[i]);
        ck_assert_str_eq(rc->type[i], "/problems/insufficient-capacity");
        refused++;
    }
    ck_assert_msg(created > 0 && refused > 0, "no contention: %d created, %d refused", created,
                  refused);
    /* every plan landed whole: one order on each offer per plan that succeeded */
    ck_assert_int_eq(orders_on(a), created);
    ck_assert_int_eq(orders_on(b), created);
    /* and at no instant are more than 10 units of either offer reserved (brute force) */
    for (int k = 0; k < 2; k++) {
        long long peak = world_sql_ll(
            &w,
            "SELECT max((SELECT sum(o.units) FROM orders o WHERE o.offer_id = x.offer_id "
            "AND o.status <> 'cancelled' AND o.start_at <= x.start_at AND o.end_at > x.start_at)) "
            "FROM orders x WHERE x.offer_id = '%s'",
            rc->offer[k]);
        ck_assert_msg(peak > 0 && peak <= 10, "peak %lld units of 10 on offer %d", peak, k);
    }
    free(rc);
    free(a);
    free(b);
}
END_TEST

int main(void) {
    Suite *s = suite_create("plans");
    th_shared(up, down);
    th_case(s, a_quoted_plan_is_reserved_in_one_request_at_the_quoted_price, 240, NULL, NULL);
    th_case(s, a_quote_prices_the_yearly_and_contract_caps_as_redemption_charges_them, 240, NULL,
            NULL);
    th_case(s, a_plan_whose_one_leg_fails_reserves_nothing_and_names_the_leg, 240, NULL, NULL);
    th_case(s, paused_and_unknown_offers_and_foreign_vouchers_are_refused, 240, NULL, NULL);
    th_case(s, a_plan_under_an_idempotency_key_is_reserved_once_and_replayed, 240, NULL, NULL);
    th_case(s, plans_racing_on_two_servers_never_oversell_and_land_whole, 240, NULL, NULL);
    return th_run(s);
}
