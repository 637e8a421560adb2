/* check_orders.c — orders against a real suanlid and PostgreSQL: billing per started hour,
 * validation, capacity shared over time, cancel and complete with their state rules,
 * visibility (own orders only; providers see orders on their offers), availability in search,
 * Idempotency-Key (I4), and no double booking under 200 concurrent requests on two server
 * processes (I3). */
#include "world.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

static struct world w;

static void up(void) {
    world_setup(&w, "orders", 0);
}

static int down(void) {
    return world_teardown(&w);
}

static char *path_of(const char *kind, const char *id, const char *action) {
    char *p;
    ck_assert(asprintf(&p, "/v1/%s/%s%s%s", kind, id, action ? "/" : "", action ? action : "") > 0);
    return p;
}

/* Creates an order that must succeed; returns its id, malloc'd. */
static char *order_ok(const struct th_auth *by, const char *offer, int units, const char *start,
                      const char *end) {
    struct th_resp r = world_order_post(&w, NULL, by, offer, units, start, end, NULL);
    th_assert_status(&r, 201);
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    return id;
}

static void order_refused(const char *offer, int units, const char *start, const char *end,
                          long status, const char *slug) {
    struct th_resp r = world_order_post(&w, NULL, &w.inst, offer, units, start, end, NULL);
    th_assert_problem(&r, status, slug);
    th_resp_free(&r);
}

/* ==== create ============================================================================== */

START_TEST(an_institute_reserves_units_and_pays_per_started_hour) {
    char *offer = world_offer(&w, &w.prov, NULL);
    struct th_resp r = world_order_post(&w, NULL, &w.inst, offer, 3, "2030-01-01T00:00:00Z",
                                        "2030-01-01T02:30:00Z", NULL);
    th_assert_status(&r, 201);
    ck_assert_int_eq(th_int(&r, "hours"), 3);
    ck_assert_int_eq(th_int(&r, "gross_fen"), 3 * 3 * 2000);
    ck_assert_int_eq(th_int(&r, "subsidy_fen"), 0);
    ck_assert_int_eq(th_int(&r, "net_fen"), 3 * 3 * 2000);
    ck_assert_int_eq(th_int(&r, "units"), 3);
    ck_assert_str_eq(th_str(&r, "status"), "reserved");
    ck_assert_str_eq(th_str(&r, "offer_id"), offer);
    ck_assert_str_eq(th_str(&r, "institute_id"), w.inst_org);
    ck_assert_str_eq(th_str(&r, "start"), "2030-01-01T00:00:00.000Z");
    ck_assert_str_eq(th_str(&r, "end"), "2030-01-01T02:30:00.000Z");
    char *id = strdup(th_str(&r, "id"));
    char *location = th_header(&r, "Location"), *path = path_of("orders", id, NULL);
    ck_assert_str_eq(location, path);
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", path, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "gross_fen"), 18000);
    th_resp_free(&r);
    /* exactly one hour is one hour; one second more is two */
    r = world_order_post(&w, NULL, &w.inst, offer, 1, "2030-02-01T00:00:00Z",
                         "2030-02-01T01:00:00Z", NULL);
    ck_assert_int_eq(th_int(&r, "gross_fen"), 2000);
    th_resp_free(&r);
    r = world_order_post(&w, NULL, &w.inst, offer, 1, "2030-02-01T00:00:00Z",
                         "2030-02-01T01:00:01Z", NULL);
    ck_assert_int_eq(th_int(&r, "gross_fen"), 4000);
    th_resp_free(&r);
    char sql[256];
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM audit_events WHERE action = 'order.create' AND subject_id = '%s'",
        id);
    ck_assert_int_eq(world_sql_ll(&w, "%s", sql), 1);
    free(location);
    free(path);
    free(id);
    free(offer);
}
END_TEST

struct bad_body {
    const char *body;
    const char *field;
};

START_TEST(every_order_field_is_validated) {
    char *offer = world_offer(&w, &w.prov, NULL);
    char b[64][400];
    const struct {
        const char *fmt;
        const char *field;
    } cases[] = {
        {"{\"offer_id\":\"%s\",\"units\":0,\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-"
         "01T01:00:00Z\"}",
         "units"},
        {"{\"offer_id\":\"%s\",\"units\":\"2\",\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-"
         "01-01T01:00:00Z\"}",
         "units"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01T01:00:00Z\",\"end\":\"2030-01-"
         "01T01:00:00Z\"}",
         "end"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01T02:00:00Z\",\"end\":\"2030-01-"
         "01T01:00:00Z\"}",
         "end"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-02-31T00:00:00Z\",\"end\":\"2030-03-"
         "01T01:00:00Z\"}",
         "start"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01 "
         "00:00\",\"end\":\"2030-01-01T01:00:00Z\"}",
         "start"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\"}", "end"},
        {"{\"offer_id\":\"x%s\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-"
         "01T01:00:00Z\"}",
         "offer_id"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-"
         "01T01:00:00Z\",\"gross_fen\":1}",
         "gross_fen"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-"
         "01T01:00:00Z\",\"institute_id\":\"%s\"}",
         "institute_id"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-"
         "01T01:00:00Z\",\"vouchers\":{}}",
         "vouchers"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-"
         "01T01:00:00Z\",\"vouchers\":[{}]}",
         "vouchers[0]"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-"
         "01T01:00:00Z\",\"vouchers\":[{\"voucher_id\":\"01900000-0000-7000-8000-000000000000\","
         "\"token\":\"v4.public.x\"}]}",
         "vouchers[0]"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-"
         "01T01:00:00Z\",\"vouchers\":[{\"voucher_id\":\"nope\"}]}",
         "vouchers[0].voucher_id"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-"
         "01T01:00:00Z\",\"vouchers\":[{\"token\":\"v4.public.x\",\"amount_fen\":0}]}",
         "vouchers[0].amount_fen"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-"
         "01T01:00:00Z\",\"vouchers\":[{\"token\":\"v4.public.x\",\"owner\":\"me\"}]}",
         "vouchers[0].owner"},
        {"{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-"
         "01T01:00:00Z\",\"vouchers\":[\"abc\"]}",
         "vouchers[0]."},
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        snprintf(b[i], sizeof b[i], cases[i].fmt, offer, w.inst2_org);
        struct th_resp r = th_req(&w.srv, "POST", "/v1/orders", &w.inst, b[i], NULL);
        th_assert_problem(&r, 400, "validation-failed");
        ck_assert_msg(th_str(&r, "errors.0.field") &&
                          strcmp(th_str(&r, "errors.0.field"), cases[i].field) == 0,
                      "%s: expected the error to name %s: %s", b[i], cases[i].field, r.body);
        th_resp_free(&r);
    }
    /* more than 20 vouchers */
    char many[2048] = "";
    strcat(many, "[");
    for (int i = 0; i < 21; i++)
        strcat(many, i ? ",{\"token\":\"t\"}" : "{\"token\":\"t\"}");
    strcat(many, "]");
    char body[2600];
    snprintf(body, sizeof body,
             "{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\","
             "\"end\":\"2030-01-01T01:00:00Z\",\"vouchers\":%s}",
             offer, many);
    struct th_resp r = th_req(&w.srv, "POST", "/v1/orders", &w.inst, body, NULL);
    th_assert_problem(&r, 400, "validation-failed");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "vouchers");
    th_resp_free(&r);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE offer_id = '%s'", offer);
    ck_assert_int_eq(world_sql_ll(&w, "%s", sql), 0);
    free(offer);
}
END_TEST

START_TEST(orders_need_an_active_offer_a_window_inside_it_and_free_units) {
    char *offer = world_offer(&w, &w.prov,
                              "{\"available_from\":\"2030-01-01T00:00:00Z\","
                              "\"available_until\":\"2030-02-01T00:00:00Z\"}");
    order_refused(offer, 1, "2029-12-31T23:00:00Z", "2030-01-01T01:00:00Z", 409,
                  "outside-offer-window");
    order_refused(offer, 1, "2030-01-31T23:00:00Z", "2030-02-01T00:00:01Z", 409,
                  "outside-offer-window");
    order_refused(offer, 11, "2030-01-02T00:00:00Z", "2030-01-02T01:00:00Z", 409,
                  "insufficient-capacity");
    order_refused("01900000-0000-7000-8000-000000000000", 1, "2030-01-02T00:00:00Z",
                  "2030-01-02T01:00:00Z", 404, "not-found");
    /* the whole window, all units, is fine */
    free(order_ok(&w.inst, offer, 10, "2030-01-01T00:00:00Z", "2030-02-01T00:00:00Z"));

    char *other = world_offer(&w, &w.prov, NULL);
    char *path = path_of("offers", other, NULL);
    const char *h1[] = {"If-Match: \"1\"", NULL};
    struct th_resp r = th_req(&w.srv, "PATCH", path, &w.prov, "{\"status\":\"paused\"}", h1);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    order_refused(other, 1, "2030-01-02T00:00:00Z", "2030-01-02T01:00:00Z", 409,
                  "offer-not-active");
    char *third = world_offer(&w, &w.prov, NULL);
    char *order = order_ok(&w.inst, third, 2, "2030-03-01T00:00:00Z", "2030-03-01T05:00:00Z");
    char *tpath = path_of("offers", third, NULL);
    r = th_req(&w.srv, "DELETE", tpath, &w.prov, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    order_refused(third, 1, "2030-01-02T00:00:00Z", "2030-01-02T01:00:00Z", 409,
                  "offer-not-active");
    /* orders already made on a withdrawn offer stand */
    char *opath = path_of("orders", order, NULL);
    r = th_req(&w.srv, "GET", opath, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "reserved");
    th_resp_free(&r);
    /* providers and the operator do not reserve */
    r = world_order_post(&w, NULL, &w.prov, offer, 1, "2030-01-02T00:00:00Z",
                         "2030-01-02T01:00:00Z", NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    free(opath);
    free(order);
    free(tpath);
    free(third);
    free(path);
    free(other);
    free(offer);
}
END_TEST

START_TEST(capacity_is_shared_over_time_and_boundaries_do_not_overlap) {
    char *offer = world_offer(&w, &w.prov, NULL); /* 10 units */
    free(order_ok(&w.inst, offer, 6, "2030-05-01T00:00:00Z", "2030-05-01T10:00:00Z"));
    struct th_resp r = world_order_post(&w, NULL, &w.inst2, offer, 5, "2030-05-01T05:00:00Z",
                                        "2030-05-01T15:00:00Z", NULL);
    th_assert_problem(&r, 409, "insufficient-capacity");
    ck_assert_msg(strstr(th_str(&r, "detail"), offer) && strstr(th_str(&r, "detail"), "4 free"),
                  "detail names the offer and the free units: %s", th_str(&r, "detail"));
    th_resp_free(&r);
    free(order_ok(&w.inst2, offer, 4, "2030-05-01T05:00:00Z", "2030-05-01T15:00:00Z"));
    /* the first order ends at 10:00, so from then 6 more fit beside the second */
    free(order_ok(&w.inst, offer, 6, "2030-05-01T10:00:00Z", "2030-05-01T12:00:00Z"));
    order_refused(offer, 1, "2030-05-01T11:00:00Z", "2030-05-01T11:30:00Z", 409,
                  "insufficient-capacity");
    /* a window that touches the busy hours only at their end is free */
    free(order_ok(&w.inst, offer, 10, "2030-05-01T15:00:00Z", "2030-05-01T16:00:00Z"));
    free(order_ok(&w.inst, offer, 10, "2030-04-30T23:00:00Z", "2030-05-01T00:00:00Z"));
    /* a long window is refused by its busiest instant only */
    order_refused(offer, 1, "2030-04-30T00:00:00Z", "2030-05-02T00:00:00Z", 409,
                  "insufficient-capacity");
    free(order_ok(&w.inst, offer, 6, "2030-05-01T12:00:00Z", "2030-05-01T15:00:00Z"));
    free(offer);
}
END_TEST

/* ==== cancel and complete ================================================================= */

START_TEST(cancelling_frees_the_units_and_only_the_institute_may_before_the_end) {
    char *offer = world_offer(&w, &w.prov, NULL);
    char *order = order_ok(&w.inst, offer, 10, "2030-06-01T00:00:00Z", "2030-06-02T00:00:00Z");
    order_refused(offer, 1, "2030-06-01T10:00:00Z", "2030-06-01T11:00:00Z", 409,
                  "insufficient-capacity");
    char *cancel = path_of("orders", order, "cancel");
    struct th_resp r = th_req(&w.srv, "POST", cancel, &w.inst2, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", cancel, &w.prov, NULL, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", cancel, &w.inst, "{\"reason\":\"x\"}", NULL);
    th_assert_problem(&r, 400, "validation-failed");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", cancel, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "cancelled");
    ck_assert_ptr_nonnull(th_str(&r, "cancelled_at"));
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", cancel, &w.inst, NULL, NULL);
    th_assert_problem(&r, 409, "order-state-conflict");
    th_resp_free(&r);
    /* the units are free again */
    free(order_ok(&w.inst2, offer, 10, "2030-06-01T10:00:00Z", "2030-06-01T11:00:00Z"));
    /* an order that has ended can no longer be cancelled */
    char *past = order_ok(&w.inst, offer, 1, "2020-06-01T00:00:00Z", "2020-06-01T01:00:00Z");
    char *pcancel = path_of("orders", past, "cancel");
    r = th_req(&w.srv, "POST", pcancel, &w.inst, NULL, NULL);
    th_assert_problem(&r, 409, "order-state-conflict");
    th_resp_free(&r);
    char sql[256];
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM audit_events WHERE action = 'order.cancel' AND subject_id = '%s'",
        order);
    ck_assert_int_eq(world_sql_ll(&w, "%s", sql), 1);
    free(pcancel);
    free(past);
    free(cancel);
    free(order);
    free(offer);
}
END_TEST

START_TEST(the_provider_completes_an_order_once_it_has_started) {
    char *offer = world_offer(&w, &w.prov, NULL);
    char *started = order_ok(&w.inst, offer, 2, "2020-07-01T00:00:00Z", "2020-07-01T05:00:00Z");
    char *future = order_ok(&w.inst, offer, 2, "2030-07-01T00:00:00Z", "2030-07-01T05:00:00Z");
    char *done = path_of("orders", started, "complete");
    char *early = path_of("orders", future, "complete");
    struct th_resp r = th_req(&w.srv, "POST", done, &w.prov2, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", done, &w.inst, NULL, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", early, &w.prov, NULL, NULL);
    th_assert_problem(&r, 409, "order-state-conflict");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", done, &w.prov, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "completed");
    ck_assert_ptr_nonnull(th_str(&r, "completed_at"));
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", done, &w.prov, NULL, NULL);
    th_assert_problem(&r, 409, "order-state-conflict");
    th_resp_free(&r);
    char *cancel = path_of("orders", started, "cancel");
    r = th_req(&w.srv, "POST", cancel, &w.inst, NULL, NULL);
    th_assert_problem(&r, 409, "order-state-conflict");
    th_resp_free(&r);
    free(cancel);
    free(done);
    free(early);
    free(started);
    free(future);
    free(offer);
}
END_TEST

/* ==== visibility ========================================================================== */

/* The ids GET <path> lists as by, comma-joined (malloc'd). */
static char *listed_ids(const struct th_auth *by, const char *path) {
    struct th_resp r = th_req(&w.srv, "GET", path, by, NULL, NULL);
    th_assert_status(&r, 200);
    char *out = calloc(1, 8192);
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(r.json, "items"), i, it) {
        strcat(out, json_string_value(json_object_get(it, "id")));
        strcat(out, ",");
    }
    th_resp_free(&r);
    return out;
}

START_TEST(orders_are_seen_by_their_institute_and_the_offer_provider_only) {
    char *offer = world_offer(&w, &w.prov, NULL);
    char *mine = order_ok(&w.inst, offer, 1, "2030-08-01T00:00:00Z", "2030-08-01T01:00:00Z");
    char *theirs = order_ok(&w.inst2, offer, 1, "2030-08-01T00:00:00Z", "2030-08-01T01:00:00Z");
    char *path = path_of("orders", mine, NULL);
    const struct th_auth *nobody[] = {&w.inst2, &w.prov2};
    for (int i = 0; i < 2; i++) {
        struct th_resp r = th_req(&w.srv, "GET", path, nobody[i], NULL, NULL);
        th_assert_problem(&r, 404, "not-found");
        th_resp_free(&r);
    }
    const struct th_auth *somebody[] = {&w.inst, &w.prov, &w.op};
    for (int i = 0; i < 3; i++) {
        struct th_resp r = th_req(&w.srv, "GET", path, somebody[i], NULL, NULL);
        th_assert_status(&r, 200);
        th_resp_free(&r);
    }
    char list[160];
    snprintf(list, sizeof list, "/v1/orders?offer_id=%s&limit=200", offer);
    char *a = listed_ids(&w.inst, list), *b = listed_ids(&w.inst2, list),
         *c = listed_ids(&w.prov, list), *d = listed_ids(&w.prov2, list);
    ck_assert(strstr(a, mine) && !strstr(a, theirs));
    ck_assert(strstr(b, theirs) && !strstr(b, mine));
    ck_assert(strstr(c, mine) && strstr(c, theirs));
    ck_assert_str_eq(d, "");
    free(a);
    free(b);
    free(c);
    free(d);
    /* filters and pages */
    a = listed_ids(&w.inst, "/v1/orders?status=cancelled&limit=200");
    ck_assert(!strstr(a, mine));
    free(a);
    /* a page of one, with a second order of the institute's own behind it */
    char *second = order_ok(&w.inst, offer, 1, "2030-08-02T00:00:00Z", "2030-08-02T01:00:00Z");
    struct th_resp r = th_req(&w.srv, "GET", "/v1/orders?limit=1", &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_ptr_nonnull(th_str(&r, "next_cursor"));
    th_resp_free(&r);
    free(second);
    const char *bad[] = {"status=lost", "offer_id=x", "limit=0", "cursor=x", "sort=price", NULL};
    const char *field[] = {"status", "offer_id", "limit", "cursor", "sort"};
    for (int i = 0; bad[i]; i++) {
        char q[128];
        snprintf(q, sizeof q, "/v1/orders?%s", bad[i]);
        r = th_req(&w.srv, "GET", q, &w.inst, NULL, NULL);
        th_assert_problem(&r, 400, "invalid-query");
        ck_assert_str_eq(th_str(&r, "errors.0.field"), field[i]);
        th_resp_free(&r);
    }
    free(path);
    free(mine);
    free(theirs);
    free(offer);
}
END_TEST

/* ==== offers and orders =================================================================== */

START_TEST(units_cannot_drop_below_what_orders_hold_nor_the_window_exclude_them) {
    char *offer = world_offer(&w, &w.prov, NULL);
    free(order_ok(&w.inst, offer, 4, "2030-09-01T00:00:00Z", "2030-09-01T10:00:00Z"));
    free(order_ok(&w.inst2, offer, 2, "2030-09-01T05:00:00Z", "2030-09-01T12:00:00Z"));
    char *path = path_of("offers", offer, NULL);
    const char *h1[] = {"If-Match: \"1\"", NULL};
    struct th_resp r = th_req(&w.srv, "PATCH", path, &w.prov, "{\"units\":5}", h1);
    th_assert_problem(&r, 409, "units-below-reserved");
    ck_assert_ptr_nonnull(strstr(th_str(&r, "detail"), "6 units"));
    th_resp_free(&r);
    r = th_req(&w.srv, "PATCH", path, &w.prov, "{\"available_until\":\"2030-09-01T11:00:00Z\"}",
               h1);
    th_assert_problem(&r, 409, "outside-offer-window");
    th_resp_free(&r);
    r = th_req(&w.srv, "PATCH", path, &w.prov, "{\"units\":6}", h1);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    order_refused(offer, 1, "2030-09-01T06:00:00Z", "2030-09-01T07:00:00Z", 409,
                  "insufficient-capacity");
    free(path);
    free(offer);
}
END_TEST

START_TEST(availability_filters_subtract_units_already_reserved) {
    char *offer = world_offer(&w, &w.prov, "{\"accelerator\":\"AVAIL-1\"}");
    free(order_ok(&w.inst, offer, 7, "2030-10-01T00:00:00Z", "2030-10-02T00:00:00Z"));
    struct th_resp r = th_req(&w.srv, "GET",
                              "/v1/offers?accelerator=AVAIL-1&available_from=2030-10-01T12:00:00Z"
                              "&available_until=2030-10-01T13:00:00Z&min_units=4",
                              &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    th_resp_free(&r);
    r = th_req(&w.srv, "GET",
               "/v1/offers?accelerator=AVAIL-1&available_from=2030-10-01T12:00:00Z"
               "&available_until=2030-10-01T13:00:00Z&min_units=3",
               &w.inst, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    ck_assert_int_eq(th_int(&r, "items.0.free_units"), 3);
    th_resp_free(&r);
    r = th_req(&w.srv, "GET",
               "/v1/offers?accelerator=AVAIL-1&available_from=2030-10-02T00:00:00Z"
               "&available_until=2030-10-03T00:00:00Z&min_units=10",
               &w.inst, NULL, NULL);
    ck_assert_int_eq(th_int(&r, "items.0.free_units"), 10);
    th_resp_free(&r);
    /* without a window, min_units compares the offer's size */
    r = th_req(&w.srv, "GET", "/v1/offers?accelerator=AVAIL-1&min_units=10", &w.inst, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    th_resp_free(&r);
    free(offer);
}
END_TEST

/* ==== idempotency (I4) ==================================================================== */

START_TEST(an_idempotency_key_reserves_once_and_replays_the_answer) {
    char *offer = world_offer(&w, &w.prov, NULL);
    const char *key[] = {"Idempotency-Key: order-key-1", NULL};
    struct th_resp a = world_order_post(&w, NULL, &w.inst, offer, 2, "2030-11-01T00:00:00Z",
                                        "2030-11-01T01:00:00Z", key);
    th_assert_status(&a, 201);
    struct th_resp b = world_order_post(&w, NULL, &w.inst, offer, 2, "2030-11-01T00:00:00Z",
                                        "2030-11-01T01:00:00Z", key);
    th_assert_status(&b, 201);
    ck_assert_str_eq(a.body, b.body);
    char *replayed = th_header(&b, "Idempotent-Replayed");
    ck_assert_str_eq(replayed, "true");
    free(replayed);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE offer_id = '%s'", offer);
    ck_assert_int_eq(world_sql_ll(&w, "%s", sql), 1);
    struct th_resp c = world_order_post(&w, NULL, &w.inst, offer, 3, "2030-11-01T00:00:00Z",
                                        "2030-11-01T01:00:00Z", key);
    th_assert_problem(&c, 422, "idempotency-key-reused");
    ck_assert_int_eq(world_sql_ll(&w, "%s", sql), 1);
    /* keys are per user: another institute's same key is a new request */
    struct th_resp d = world_order_post(&w, NULL, &w.inst2, offer, 2, "2030-11-01T00:00:00Z",
                                        "2030-11-01T01:00:00Z", key);
    th_assert_status(&d, 201);
    ck_assert_str_ne(th_str(&d, "id"), th_str(&a, "id"));
    ck_assert_int_eq(world_sql_ll(&w, "%s", sql), 2);
    th_resp_free(&a);
    th_resp_free(&b);
    th_resp_free(&c);
    th_resp_free(&d);
    free(offer);
}
END_TEST

/* A refusal is an answer too: the same key replays the same 409, and nothing is reserved. */
START_TEST(a_refused_order_under_an_idempotency_key_replays_its_refusal) {
    char *offer = world_offer(&w, &w.prov, NULL);
    const char *key[] = {"Idempotency-Key: order-key-refused", NULL};
    struct th_resp a = world_order_post(&w, NULL, &w.inst, offer, 11, "2030-12-01T00:00:00Z",
                                        "2030-12-01T01:00:00Z", key);
    th_assert_problem(&a, 409, "insufficient-capacity");
    struct th_resp b = world_order_post(&w, NULL, &w.inst, offer, 11, "2030-12-01T00:00:00Z",
                                        "2030-12-01T01:00:00Z", key);
    th_assert_problem(&b, 409, "insufficient-capacity");
    ck_assert_str_eq(th_str(&a, "detail"), th_str(&b, "detail"));
    char *replayed = th_header(&b, "Idempotent-Replayed");
    ck_assert_str_eq(replayed, "true");
    free(replayed);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE offer_id = '%s'", offer);
    ck_assert_int_eq(world_sql_ll(&w, "%s", sql), 0);
    th_resp_free(&a);
    th_resp_free(&b);
    free(offer);
}
END_TEST

/* ==== no double booking (I3) ============================================================== */

#define RACERS 200

struct race {
    const struct th_server *servers[2];
    const char *offer;
    long status[RACERS];
    char id[RACERS][40];
    char type[RACERS][64];
    char ctype[RACERS][48];
    char detail_ok[RACERS];
};

static void race_one(int i, void *ctx) {
    struct race *rc = ctx;
    /* a fixed pseudo-random window in one busy day: start 0-19 h, 1-6 h long, 1-3 units */
    unsigned x = (unsigned)i * 2654435761u + 12345u;
    int start = (int)(x % 20), len = 1 + (int)((x >> 8) % 6), units = 1 + (int)((x >> 16) % 3);
    char s[32], e[32];
    snprintf(s, sizeof s, "2030-12-01T%02d:00:00Z", start);
    if (start + len < 24)
        snprintf(e, sizeof e, "2030-12-01T%02d:00:00Z", start + len);
    else
        snprintf(e, sizeof e, "2030-12-02T%02d:00:00Z", start + len - 24);
    struct th_resp r =
        world_order_post(&w, rc->servers[i % 2], &w.inst, rc->offer, units, s, e, NULL);
    rc->status[i] = r.status;
    if (r.status == 201) {
        snprintf(rc->id[i], sizeof rc->id[i], "%s", th_str(&r, "id"));
    } else {
        const char *t = th_str(&r, "type"), *d = th_str(&r, "detail");
        snprintf(rc->type[i], sizeof rc->type[i], "%s", t ? t : "");
        rc->detail_ok[i] = d != NULL && strstr(d, rc->offer) != NULL && strstr(d, "free") != NULL;
        char *ct = th_header(&r, "Content-Type");
        snprintf(rc->ctype[i], sizeof rc->ctype[i], "%s", ct ? ct : "");
        free(ct);
    }
    th_resp_free(&r);
}

static int by_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

START_TEST(no_double_booking_under_200_concurrent_orders_on_two_servers) {
    struct th_server second;
    th_server_start(&second, w.dburl, NULL);
    char *offer = world_offer(&w, &w.prov, NULL); /* 10 units */
    struct race *rc = calloc(1, sizeof *rc);
    rc->servers[0] = &w.srv;
    rc->servers[1] = &second;
    rc->offer = offer;
    th_parallel(RACERS, race_one, rc);
    ck_assert_int_eq(th_server_stop(&second), 0);

    const char *created[RACERS];
    int ncreated = 0, nrefused = 0;
    for (int i = 0; i < RACERS; i++) {
        if (rc->status[i] == 201) {
            created[ncreated++] = rc->id[i];
            continue;
        }
        ck_assert_msg(rc->status[i] == 409, "request %d answered %ld (%s)", i, rc->status[i],
                      rc->type[i]);
        ck_assert_str_eq(rc->ctype[i], "application/problem+json");
        ck_assert_str_eq(rc->type[i], "/problems/insufficient-capacity");
        ck_assert_msg(rc->detail_ok[i], "refusal %d does not name the offer and free units", i);
        nrefused++;
    }
    ck_assert_msg(ncreated > 0 && nrefused > 0, "no contention: %d created, %d refused", ncreated,
                  nrefused);

    /* the orders that succeeded are exactly those the database holds */
    qsort(created, (size_t)ncreated, sizeof created[0], by_str);
    char *want = calloc((size_t)ncreated + 1, 40), sql[512];
    for (int i = 0; i < ncreated; i++) {
        strcat(want, i ? "," : "");
        strcat(want, created[i]);
    }
    snprintf(sql, sizeof sql,
             "SELECT string_agg(id::text, ',' ORDER BY id::text) FROM orders "
             "WHERE offer_id = '%s' AND status = 'reserved'",
             offer);
    char *have = th_sql(w.dburl, sql);
    ck_assert_str_eq(have, want);

    /* at no instant are more than 10 units reserved: the holdings at every order start,
     * counted by brute force independently of the server's own sweep */
    snprintf(sql, sizeof sql,
             "SELECT max((SELECT sum(o.units) FROM orders o WHERE o.offer_id = b.offer_id "
             "AND o.status <> 'cancelled' AND o.start_at <= b.start_at AND o.end_at > b.start_at)) "
             "FROM orders b WHERE b.offer_id = '%s'",
             offer);
    long peak = world_sql_ll(&w, "%s", sql);
    ck_assert_msg(peak <= 10 && peak > 0, "peak reservation %ld units of 10", peak);
    free(have);
    free(want);
    free(rc);
    free(offer);
}
END_TEST

int main(void) {
    Suite *s = suite_create("orders");
    th_shared(up, down);
    th_case(s, an_institute_reserves_units_and_pays_per_started_hour, 240, NULL, NULL);
    th_case(s, every_order_field_is_validated, 240, NULL, NULL);
    th_case(s, orders_need_an_active_offer_a_window_inside_it_and_free_units, 240, NULL, NULL);
    th_case(s, capacity_is_shared_over_time_and_boundaries_do_not_overlap, 240, NULL, NULL);
    th_case(s, cancelling_frees_the_units_and_only_the_institute_may_before_the_end, 240, NULL,
            NULL);
    th_case(s, the_provider_completes_an_order_once_it_has_started, 240, NULL, NULL);
    th_case(s, orders_are_seen_by_their_institute_and_the_offer_provider_only, 240, NULL, NULL);
    th_case(s, units_cannot_drop_below_what_orders_hold_nor_the_window_exclude_them, 240, NULL,
            NULL);
    th_case(s, availability_filters_subtract_units_already_reserved, 240, NULL, NULL);
    th_case(s, an_idempotency_key_reserves_once_and_replays_the_answer, 240, NULL, NULL);
    th_case(s, a_refused_order_under_an_idempotency_key_replays_its_refusal, 240, NULL, NULL);
    th_case(s, no_double_booking_under_200_concurrent_orders_on_two_servers, 240, NULL, NULL);
    return th_run(s);
}
