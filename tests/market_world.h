/* market_world.h — the world the marketplace suites (check_offers, check_orders, check_match)
 * test in, built through the API: a city with two providers and two institutes, each with a
 * user and an API key, and a helper that posts offers. Header-only: each suite includes it
 * once. */
#ifndef SUANLI_MARKET_WORLD_H
#define SUANLI_MARKET_WORLD_H

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mw {
    struct th_server srv;
    char *dburl;
    struct th_auth op;
    char *city, *prov_org, *prov2_org, *inst_org, *inst2_org;
    struct th_auth prov, prov2, inst, inst2;
};

static inline void mw_setup(struct mw *w, const char *label) {
    memset(w, 0, sizeof *w);
    w->dburl = th_db_create(label);
    th_server_start(&w->srv, w->dburl, NULL);
    th_operator(&w->srv, &w->op);
    w->city = th_org(&w->srv, &w->op, "city", "Hami", NULL);
    w->prov_org = th_org(&w->srv, &w->op, "provider", "Gobi Compute", w->city);
    w->prov2_org = th_org(&w->srv, &w->op, "provider", "Rival Cloud", w->city);
    w->inst_org = th_org(&w->srv, &w->op, "institute", "Xinjiang Genomics", w->city);
    w->inst2_org = th_org(&w->srv, &w->op, "institute", "Other Lab", w->city);
    th_user(&w->srv, &w->op, "provider", w->prov_org, "ops@gobi.test", &w->prov);
    th_user(&w->srv, &w->op, "provider", w->prov2_org, "ops@rival.test", &w->prov2);
    th_user(&w->srv, &w->op, "institute", w->inst_org, "lab@xg.test", &w->inst);
    th_user(&w->srv, &w->op, "institute", w->inst2_org, "lab@other.test", &w->inst2);
}

static inline void mw_teardown(struct mw *w) {
    ck_assert_int_eq(th_server_stop(&w->srv), 0);
    free(w->dburl);
    free(w->city);
    free(w->prov_org);
    free(w->prov2_org);
    free(w->inst_org);
    free(w->inst2_org);
}

/* A valid offer body: 10 H100 units in guizhou, 2000 fen per unit-hour, 2020 to 2031; members
 * of overrides (a JSON object text, may be NULL) replace or add fields. malloc'd. */
static inline char *mw_offer_body(const char *overrides) {
    json_t *o =
        json_pack("{s:s, s:s, s:i, s:f, s:i, s:s, s:i, s:s, s:s, s:f, s:f}", "resource_class",
                  "gpu", "accelerator", "H100", "units", 10, "fp16_tflops_per_unit", 989.0,
                  "memory_gib_per_unit", 80, "region", "guizhou", "price_fen_per_unit_hour", 2000,
                  "available_from", "2020-01-01T00:00:00Z", "available_until",
                  "2031-01-01T00:00:00Z", "pue", 1.2, "green_share", 0.8);
    if (overrides != NULL) {
        json_error_t err;
        json_t *x = json_loads(overrides, 0, &err);
        ck_assert_msg(x != NULL, "bad overrides %s: %s", overrides, err.text);
        json_object_update(o, x);
        json_decref(x);
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* Posts an offer as by (201 expected); returns its id, malloc'd. */
static inline char *mw_offer(struct mw *w, const struct th_auth *by, const char *overrides) {
    char *body = mw_offer_body(overrides);
    struct th_resp r = th_req(&w->srv, "POST", "/v1/offers", by, body, NULL);
    th_assert_status(&r, 201);
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    free(body);
    return id;
}

/* Posts an order as by and returns the response (the caller frees it). */
static inline struct th_resp mw_order(struct mw *w, const struct th_server *s,
                                      const struct th_auth *by, const char *offer, int units,
                                      const char *start, const char *end,
                                      const char *const *headers) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"offer_id\":\"%s\",\"units\":%d,\"start\":\"%s\",\"end\":\"%s\"}", offer, units,
             start, end);
    return th_req(s ? s : &w->srv, "POST", "/v1/orders", by, body, headers);
}

/* The value of a one-value SQL query as a long. */
static inline long mw_sql_long(struct mw *w, const char *sql) {
    char *v = th_sql(w->dburl, sql);
    ck_assert_msg(v != NULL, "no value from %s", sql);
    long n = atol(v);
    free(v);
    return n;
}

#endif
