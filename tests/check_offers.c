/* check_offers.c — regions and offers against a real suanlid and PostgreSQL: posting with every
 * field validated, reading with an ETag, If-Match updates, pause and withdrawal, ownership
 * (another provider gets 404), and the search: every filter, every sort key, keyset pages that
 * stay stable while offers are inserted, the same answers in one round trip (authentication
 * and search in one statement, a cookie without X-CSRF-Token) as in two, a 400 naming every bad
 * filter, and plans that stay on indexes. */
#include "world.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct world w;

static void up(void) {
    world_setup(&w, "offers", 0);
}

static int down(void) {
    return world_teardown(&w);
}

static char *offer_path(const char *id) {
    char *p;
    ck_assert(asprintf(&p, "/v1/offers/%s", id) > 0);
    return p;
}

/* ==== regions ============================================================================= */

START_TEST(regions_are_the_eight_hubs_with_their_zones) {
    struct th_resp r = th_req(&w.srv, "GET", "/v1/regions", &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    ck_assert_int_eq(json_array_size(items), 8);
    const char *east[] = {"cheng-yu", "greater-bay", "jing-jin-ji", "yangtze-delta"};
    const char *west[] = {"gansu", "guizhou", "inner-mongolia", "ningxia"};
    for (int i = 0; i < 4; i++) {
        char path[32];
        snprintf(path, sizeof path, "items.%d.code", i);
        ck_assert_str_eq(th_str(&r, path), east[i]);
        snprintf(path, sizeof path, "items.%d.zone", i);
        ck_assert_str_eq(th_str(&r, path), "east");
        snprintf(path, sizeof path, "items.%d.code", i + 4);
        ck_assert_str_eq(th_str(&r, path), west[i]);
        snprintf(path, sizeof path, "items.%d.zone", i + 4);
        ck_assert_str_eq(th_str(&r, path), "west");
    }
    ck_assert_ptr_nonnull(th_str(&r, "items.0.name"));
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/regions", NULL, NULL, NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
}
END_TEST

/* ==== create and read ===================================================================== */

START_TEST(provider_posts_an_offer_and_reads_it_with_its_etag) {
    char *body =
        world_offer_body("{\"region\":\"inner-mongolia\",\"green_share\":0.85,\"pue\":1.15}");
    struct th_resp r = th_req(&w.srv, "POST", "/v1/offers", &w.prov, body, NULL);
    free(body);
    th_assert_status(&r, 201);
    char *etag = th_header(&r, "ETag"), *location = th_header(&r, "Location");
    ck_assert_str_eq(etag, "\"1\"");
    char *id = strdup(th_str(&r, "id"));
    char *path = offer_path(id);
    ck_assert_str_eq(location, path);
    ck_assert_str_eq(th_str(&r, "provider_id"), w.prov_org);
    ck_assert_str_eq(th_str(&r, "zone"), "west");
    ck_assert_str_eq(th_str(&r, "status"), "active");
    ck_assert_int_eq(th_int(&r, "units"), 10);
    ck_assert_int_eq(th_int(&r, "price_fen_per_unit_hour"), 2000);
    ck_assert_int_eq(th_int(&r, "version"), 1);
    ck_assert(json_real_value(json_object_get(r.json, "green_share")) == 0.85);
    ck_assert_str_eq(th_str(&r, "available_from"), "2020-01-01T00:00:00.000Z");
    free(etag);
    free(location);
    th_resp_free(&r);

    /* anyone signed in reads an active offer, with the same ETag */
    r = th_req(&w.srv, "GET", path, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    etag = th_header(&r, "ETag");
    ck_assert_str_eq(etag, "\"1\"");
    ck_assert_str_eq(th_str(&r, "id"), id);
    free(etag);
    th_resp_free(&r);

    /* the creation is audited in the same transaction */
    char sql[256];
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM audit_events WHERE action = 'offer.create' AND subject_id = '%s'",
        id);
    ck_assert_int_eq(world_sql_ll(&w, "%s", sql), 1);
    free(path);
    free(id);
}
END_TEST

struct bad_field {
    const char *overrides;
    const char *field;
};

START_TEST(every_offer_field_is_validated) {
    char long_name[80];
    memset(long_name, 'A', 65);
    long_name[65] = '\0';
    char too_long[128];
    snprintf(too_long, sizeof too_long, "{\"accelerator\":\"%s\"}", long_name);
    const struct bad_field cases[] = {
        {"{\"units\":0}", "units"},
        {"{\"units\":-3}", "units"},
        {"{\"units\":\"10\"}", "units"},
        {"{\"units\":1.5}", "units"},
        {"{\"units\":null}", "units"},
        {"{\"price_fen_per_unit_hour\":0}", "price_fen_per_unit_hour"},
        {"{\"price_fen_per_unit_hour\":-100}", "price_fen_per_unit_hour"},
        {"{\"available_until\":\"2019-12-31T00:00:00Z\"}", "available_until"},
        {"{\"available_until\":\"2020-01-01T00:00:00Z\"}", "available_until"},
        {"{\"available_from\":\"2030-02-30T00:00:00Z\"}", "available_from"},
        {"{\"available_from\":\"tomorrow\"}", "available_from"},
        {"{\"pue\":0.99}", "pue"},
        {"{\"pue\":3.01}", "pue"},
        {"{\"green_share\":1.01}", "green_share"},
        {"{\"green_share\":-0.1}", "green_share"},
        {"{\"region\":\"mars\"}", "region"},
        {"{\"resource_class\":\"tpu\"}", "resource_class"},
        {"{\"accelerator\":\"\"}", "accelerator"},
        {too_long, "accelerator"},
        {"{\"accelerator\":\"H100<script>\"}", "accelerator"},
        {"{\"fp16_tflops_per_unit\":-1}", "fp16_tflops_per_unit"},
        {"{\"memory_gib_per_unit\":0}", "memory_gib_per_unit"},
        {"{\"status\":\"paused\"}", "status"},
        {"{\"provider_id\":\"00000000-0000-7000-8000-000000000000\"}", "provider_id"},
        {"{\"version\":7}", "version"},
    };
    long before = world_sql_ll(&w, "%s", "SELECT count(*) FROM offers");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *body = world_offer_body(cases[i].overrides);
        struct th_resp r = th_req(&w.srv, "POST", "/v1/offers", &w.prov, body, NULL);
        th_assert_problem(&r, 400, "validation-failed");
        ck_assert_msg(th_str(&r, "errors.0.field") &&
                          strcmp(th_str(&r, "errors.0.field"), cases[i].field) == 0,
                      "%s: expected the error to name %s: %s", cases[i].overrides, cases[i].field,
                      r.body);
        th_resp_free(&r);
        free(body);
    }
    /* a window that already ended is refused by the database rule, still naming the field */
    char *body = world_offer_body("{\"available_until\":\"2021-01-01T00:00:00Z\"}");
    struct th_resp r = th_req(&w.srv, "POST", "/v1/offers", &w.prov, body, NULL);
    th_assert_problem(&r, 400, "validation-failed");
    ck_assert_ptr_nonnull(strstr(th_str(&r, "detail"), "available_until"));
    th_resp_free(&r);
    free(body);
    ck_assert_int_eq(world_sql_ll(&w, "%s", "SELECT count(*) FROM offers"), before);
}
END_TEST

START_TEST(only_providers_post_offers) {
    char *body = world_offer_body(NULL);
    struct th_resp r = th_req(&w.srv, "POST", "/v1/offers", &w.inst, body, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", "/v1/offers", &w.op, body, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", "/v1/offers", NULL, body, NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
    free(body);
}
END_TEST

/* ==== update, pause, withdraw ============================================================= */

static struct th_resp patch(const struct th_auth *by, const char *path, const char *etag,
                            const char *body) {
    char h[64];
    snprintf(h, sizeof h, "If-Match: %s", etag);
    const char *headers[] = {h, NULL};
    return th_req(&w.srv, "PATCH", path, by, body, etag ? headers : NULL);
}

START_TEST(patch_needs_if_match_and_refuses_a_stale_etag) {
    char *id = world_offer(&w, &w.prov, NULL);
    char *path = offer_path(id);
    struct th_resp r = patch(&w.prov, path, NULL, "{\"price_fen_per_unit_hour\":1800}");
    th_assert_problem(&r, 428, "precondition-required");
    th_resp_free(&r);
    r = patch(&w.prov, path, "\"7\"", "{\"price_fen_per_unit_hour\":1800}");
    th_assert_problem(&r, 412, "precondition-failed");
    th_resp_free(&r);
    r = patch(&w.prov, path, "W/\"1\"", "{\"price_fen_per_unit_hour\":1800}");
    th_assert_problem(&r, 412, "precondition-failed");
    th_resp_free(&r);

    r = patch(&w.prov, path, "\"1\"",
              "{\"price_fen_per_unit_hour\":1800,\"units\":12,\"green_share\":0.95,\"pue\":1.1,"
              "\"available_until\":\"2032-01-01T00:00:00Z\"}");
    th_assert_status(&r, 200);
    char *etag = th_header(&r, "ETag");
    ck_assert_str_eq(etag, "\"2\"");
    free(etag);
    ck_assert_int_eq(th_int(&r, "price_fen_per_unit_hour"), 1800);
    ck_assert_int_eq(th_int(&r, "units"), 12);
    ck_assert_int_eq(th_int(&r, "version"), 2);
    ck_assert_str_eq(th_str(&r, "available_until"), "2032-01-01T00:00:00.000Z");
    th_resp_free(&r);

    /* the first ETag is stale now: a lost update is refused, nothing changes */
    r = patch(&w.prov, path, "\"1\"", "{\"price_fen_per_unit_hour\":10}");
    th_assert_problem(&r, 412, "precondition-failed");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", path, &w.prov, NULL, NULL);
    ck_assert_int_eq(th_int(&r, "price_fen_per_unit_hour"), 1800);
    th_resp_free(&r);
    char sql[256];
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM audit_events WHERE action = 'offer.update' AND subject_id = '%s'",
        id);
    ck_assert_int_eq(world_sql_ll(&w, "%s", sql), 1);
    free(path);
    free(id);
}
END_TEST

START_TEST(patch_validates_its_fields_and_refuses_the_immutable_ones) {
    char *id = world_offer(&w, &w.prov, NULL);
    char *path = offer_path(id);
    const struct bad_field cases[] = {
        {"{\"units\":0}", "units"},
        {"{\"price_fen_per_unit_hour\":0}", "price_fen_per_unit_hour"},
        {"{\"pue\":4}", "pue"},
        {"{\"green_share\":2}", "green_share"},
        {"{\"status\":\"withdrawn\"}", "status"},
        {"{\"available_from\":\"2031-06-01T00:00:00Z\",\"available_until\":\"2031-01-01T00:00:"
         "00Z\"}",
         "available_until"},
        {"{\"region\":\"gansu\"}", "region"},
        {"{\"resource_class\":\"cpu\"}", "resource_class"},
        {"{\"provider_id\":\"00000000-0000-7000-8000-000000000000\"}", "provider_id"},
        {"{\"version\":9}", "version"},
        {"{}", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct th_resp r = patch(&w.prov, path, "\"1\"", cases[i].overrides);
        th_assert_problem(&r, 400, "validation-failed");
        ck_assert_msg(strcmp(th_str(&r, "errors.0.field"), cases[i].field) == 0,
                      "%s: expected %s: %s", cases[i].overrides, cases[i].field, r.body);
        th_resp_free(&r);
    }
    /* available_until before the stored available_from is caught by the database rule */
    struct th_resp r =
        patch(&w.prov, path, "\"1\"", "{\"available_until\":\"2019-01-01T00:00:00Z\"}");
    th_assert_problem(&r, 400, "validation-failed");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", path, &w.prov, NULL, NULL);
    ck_assert_int_eq(th_int(&r, "version"), 1);
    th_resp_free(&r);
    free(path);
    free(id);
}
END_TEST

START_TEST(another_provider_gets_404_and_other_roles_403) {
    char *id = world_offer(&w, &w.prov, NULL);
    char *path = offer_path(id);
    struct th_resp r = patch(&w.prov2, path, "\"1\"", "{\"price_fen_per_unit_hour\":1}");
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    const char *h[] = {"If-Match: \"1\"", NULL};
    r = th_req(&w.srv, "DELETE", path, &w.prov2, NULL, h);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = patch(&w.inst, path, "\"1\"", "{\"price_fen_per_unit_hour\":1}");
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = th_req(&w.srv, "DELETE", path, &w.op, NULL, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    /* a made-up id is the same 404 */
    r = patch(&w.prov, "/v1/offers/01900000-0000-7000-8000-000000000000", "\"1\"", "{\"units\":3}");
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", path, &w.prov, NULL, NULL);
    ck_assert_int_eq(th_int(&r, "version"), 1);
    ck_assert_int_eq(th_int(&r, "price_fen_per_unit_hour"), 2000);
    th_resp_free(&r);
    free(path);
    free(id);
}
END_TEST

/* Whether GET /v1/offers?<query> as by lists offer id. */
static bool listed(const struct th_auth *by, const char *query, const char *id) {
    char path[512];
    snprintf(path, sizeof path, "/v1/offers?limit=200&%s", query);
    struct th_resp r = th_req(&w.srv, "GET", path, by, NULL, NULL);
    th_assert_status(&r, 200);
    bool found = false;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(r.json, "items"), i, it) {
        found = found || strcmp(json_string_value(json_object_get(it, "id")), id) == 0;
    }
    th_resp_free(&r);
    return found;
}

START_TEST(a_paused_offer_leaves_the_catalogue_and_comes_back) {
    char *id = world_offer(&w, &w.prov, "{\"accelerator\":\"PAUSE-ME\"}");
    char *path = offer_path(id);
    ck_assert(listed(&w.inst, "accelerator=PAUSE-ME", id));
    struct th_resp r = patch(&w.prov, path, "\"1\"", "{\"status\":\"paused\"}");
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "paused");
    th_resp_free(&r);
    ck_assert(!listed(&w.inst, "accelerator=PAUSE-ME", id));
    /* only its provider (and the operator) see a paused offer */
    r = th_req(&w.srv, "GET", path, &w.inst, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", path, &w.prov2, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    ck_assert(listed(&w.prov, "accelerator=PAUSE-ME&status=paused", id));
    ck_assert(!listed(&w.prov2, "accelerator=PAUSE-ME&status=paused", id));
    ck_assert(listed(&w.op, "accelerator=PAUSE-ME&status=paused", id));
    r = patch(&w.prov, path, "\"2\"", "{\"status\":\"active\"}");
    th_assert_status(&r, 200);
    th_resp_free(&r);
    ck_assert(listed(&w.inst, "accelerator=PAUSE-ME", id));
    free(path);
    free(id);
}
END_TEST

START_TEST(withdrawing_takes_the_offer_off_for_good) {
    char *id = world_offer(&w, &w.prov, "{\"accelerator\":\"WITHDRAW-ME\"}");
    char *path = offer_path(id);
    const char *stale[] = {"If-Match: \"5\"", NULL};
    struct th_resp r = th_req(&w.srv, "DELETE", path, &w.prov, NULL, stale);
    th_assert_problem(&r, 412, "precondition-failed");
    th_resp_free(&r);
    r = th_req(&w.srv, "DELETE", path, &w.prov, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "withdrawn");
    ck_assert_int_eq(th_int(&r, "version"), 2);
    th_resp_free(&r);
    ck_assert(!listed(&w.inst, "accelerator=WITHDRAW-ME", id));
    ck_assert(listed(&w.prov, "accelerator=WITHDRAW-ME&status=withdrawn", id));
    r = patch(&w.prov, path, "\"2\"", "{\"status\":\"active\"}");
    th_assert_problem(&r, 409, "offer-not-active");
    th_resp_free(&r);
    /* withdrawing again changes nothing */
    r = th_req(&w.srv, "DELETE", path, &w.prov, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "version"), 2);
    th_resp_free(&r);
    char sql[256];
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM audit_events WHERE action = 'offer.withdraw' AND subject_id = '%s'",
        id);
    ck_assert_int_eq(world_sql_ll(&w, "%s", sql), 1);
    free(path);
    free(id);
}
END_TEST

/* ==== search ============================================================================== */

/* The search data set, posted by the second provider (which no other test posts for). */
static const char *const dataset[] = {
    /* A */ "{\"accelerator\":\"H100\",\"region\":\"guizhou\",\"units\":10,\"price_fen_per_unit_"
            "hour\":2000,"
            "\"green_share\":0.8,\"pue\":1.2}",
    /* B */
    "{\"accelerator\":\"A800\",\"region\":\"jing-jin-ji\",\"units\":4,\"fp16_tflops_per_unit\":312,"
    "\"price_fen_per_unit_hour\":1200,\"green_share\":0.3,\"pue\":1.4}",
    /* C */
    "{\"resource_class\":\"npu\",\"accelerator\":\"Ascend-910B\",\"region\":\"gansu\",\"units\":20,"
    "\"fp16_tflops_per_unit\":320,\"price_fen_per_unit_hour\":900,\"green_share\":0.9,\"pue\":1.1}",
    /* D */
    "{\"resource_class\":\"cpu\",\"accelerator\":\"CPU\",\"region\":\"yangtze-delta\",\"units\":"
    "100,"
    "\"fp16_tflops_per_unit\":2.5,\"price_fen_per_unit_hour\":150,\"green_share\":0.5,\"pue\":1.5}",
    /* E */
    "{\"accelerator\":\"H100\",\"region\":\"ningxia\",\"units\":2,\"price_fen_per_unit_hour\":2600,"
    "\"green_share\":0.65,\"pue\":1.3,\"available_from\":\"2030-01-01T00:00:00Z\","
    "\"available_until\":\"2030-06-01T00:00:00Z\"}",
    /* F */
    "{\"accelerator\":\"A800\",\"region\":\"guizhou\",\"units\":8,\"fp16_tflops_per_unit\":312,"
    "\"price_fen_per_unit_hour\":1100,\"green_share\":0.8,\"pue\":1.25}",
};
#define NDATA 6
static char *ids[NDATA];

static void dataset_post(void) {
    for (int i = 0; i < NDATA; i++)
        ids[i] = world_offer(&w, &w.prov2, dataset[i]);
}

static void dataset_free(void) {
    for (int i = 0; i < NDATA; i++)
        free(ids[i]);
}

/* The letters (A..F) of the offers GET /v1/offers?provider_id=<second provider>&<query>
 * lists, in order. */
static void expect(const char *query, const char *letters) {
    char path[640];
    snprintf(path, sizeof path, "/v1/offers?provider_id=%s&%s", w.prov2_org, query);
    struct th_resp r = th_req(&w.srv, "GET", path, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    char got[NDATA + 1] = "";
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(r.json, "items"), i, it) {
        const char *id = json_string_value(json_object_get(it, "id"));
        for (int k = 0; k < NDATA; k++)
            if (strcmp(ids[k], id) == 0)
                got[strlen(got)] = (char)('A' + k);
    }
    ck_assert_msg(strcmp(got, letters) == 0, "%s: expected %s, got %s", query, letters, got);
    th_resp_free(&r);
}

START_TEST(each_filter_narrows_the_search_and_they_combine) {
    dataset_post();
    expect("sort=price", "DCFBAE");
    expect("sort=price&resource_class=gpu", "FBAE");
    expect("sort=price&accelerator=H100", "AE");
    expect("sort=price&region=guizhou,gansu", "CFA");
    expect("sort=price&region=ningxia", "E");
    expect("sort=price&zone=east", "DB");
    expect("sort=price&min_units=8", "DCFA");
    expect("sort=price&min_tflops=312", "CFBAE");
    expect("sort=price&min_tflops=312.5", "CAE");
    expect("sort=price&max_price_fen=1200", "DCFB");
    expect("sort=price&min_green_share=0.8", "CFA");
    expect("sort=price&max_pue=1.25", "CFA");
    expect("sort=price&available_from=2030-07-01T00:00:00Z&available_until=2030-07-02T00:00:00Z",
           "DCFBA");
    expect("sort=price&resource_class=gpu&zone=west&min_green_share=0.7", "FA");
    expect("sort=price&resource_class=gpu&zone=west&min_green_share=0.7&max_price_fen=1500", "F");
    expect("sort=price&resource_class=gpu&region=guizhou&accelerator=A800&min_units=8&max_pue=1.3",
           "F");
    expect("sort=price&resource_class=cpu&zone=west", "");
    expect("sort=price&status=paused", "");
    dataset_free();
}
END_TEST

START_TEST(every_sort_key_orders_the_search) {
    dataset_post();
    expect("", "ABCDEF"); /* by id: creation order */
    expect("sort=price", "DCFBAE");
    expect("sort=-price", "EABFCD");
    expect("sort=tflops_per_fen", "AECFBD");
    expect("sort=green_share", "CFAEDB"); /* ties (A, F) newest first */
    expect("sort=created_at", "FEDCBA");
    dataset_free();
}
END_TEST

/* Pages through accelerator=PAGED with limit 2 under sort, inserting an offer that sorts
 * before and one that sorts after the cursor between pages; every offer that existed at the
 * start appears exactly once, no id twice, and the pages are in order. */
static void page_through(const char *sort, int base) {
    char *orig[7];
    char over[160];
    for (int i = 0; i < 7; i++) {
        snprintf(
            over, sizeof over,
            "{\"accelerator\":\"PAGED-%d\",\"price_fen_per_unit_hour\":%d,\"green_share\":0.%d}",
            base, 1000 + (i % 3) * 100, 3 + i % 3);
        orig[i] = world_offer(&w, &w.prov, over);
    }
    char cursor[256] = "", seen[64][40];
    int nseen = 0, inserted = 0;
    for (int page = 0; page < 20; page++) {
        char path[512];
        snprintf(path, sizeof path, "/v1/offers?accelerator=PAGED-%d&limit=2%s%s%s%s", base,
                 sort ? "&sort=" : "", sort ? sort : "", cursor[0] ? "&cursor=" : "", cursor);
        struct th_resp r = th_req(&w.srv, "GET", path, &w.inst, NULL, NULL);
        th_assert_status(&r, 200);
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(r.json, "items"), i, it) {
            const char *id = json_string_value(json_object_get(it, "id"));
            for (int k = 0; k < nseen; k++)
                ck_assert_msg(strcmp(seen[k], id) != 0, "%s: %s listed twice", sort, id);
            ck_assert(nseen < 64);
            snprintf(seen[nseen++], 40, "%s", id);
        }
        const char *next = th_str(&r, "next_cursor");
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        th_resp_free(&r);
        if (!next)
            break;
        /* concurrent inserts: one cheapest-and-greenest, one dearest-and-greyest */
        snprintf(over, sizeof over,
                 "{\"accelerator\":\"PAGED-%d\",\"price_fen_per_unit_hour\":%d,\"green_share\":%s}",
                 base, inserted % 2 ? 5000 : 500, inserted % 2 ? "0.1" : "0.99");
        free(world_offer(&w, &w.prov, over));
        inserted++;
    }
    for (int i = 0; i < 7; i++) {
        int found = 0;
        for (int k = 0; k < nseen; k++)
            found += strcmp(seen[k], orig[i]) == 0;
        ck_assert_msg(found == 1, "sort %s: offer %d seen %d times", sort ? sort : "id", i, found);
        free(orig[i]);
    }
}

START_TEST(keyset_pages_stay_stable_while_offers_are_inserted) {
    page_through(NULL, 1);
    page_through("price", 2);
    page_through("-price", 3);
    page_through("tflops_per_fen", 4);
    page_through("green_share", 5);
    page_through("created_at", 6);
}
END_TEST

/* The page offer_search answers in SQL for the institute, filters f (JSON) and sort after the
 * cursor of a previous page (NULL: the first page), limit 2: the statement the search ran in
 * two steps (authentication, then offer_search) before it travelled in one. Malloc'd. */
static char *search_in_sql(const char *f, const char *sort, const char *cursor) {
    char sql[1024], after[160] = "NULL", after_id[64] = "NULL";
    if (cursor != NULL) {
        unsigned char raw[160];
        size_t len;
        ck_assert(sodium_base642bin(raw, sizeof raw - 1, cursor, strlen(cursor), NULL, &len, NULL,
                                    sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0);
        raw[len] = '\0';
        char *bar1 = strchr((char *)raw, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
        ck_assert_ptr_nonnull(bar2);
        *bar2 = '\0';
        if (bar1[1] != '\0')
            snprintf(after, sizeof after, "'%s'", bar1 + 1);
        snprintf(after_id, sizeof after_id, "'%s'", bar2 + 1);
    }
    char s_sort[32] = "NULL";
    if (sort != NULL)
        snprintf(s_sort, sizeof s_sort, "'%s'", sort);
    snprintf(sql, sizeof sql,
             "SELECT offer_search('{\"role\":\"institute\",\"org_id\":\"%s\"}', '%s', %s, %s, %s, "
             "2)::text",
             w.inst_org, f, s_sort, after, after_id);
    return th_sql(w.dburl, sql);
}

static const char ONE_TRIP_ANSWERED[] = "suanli_http_one_trip_total{outcome=\"answered\"}";
static const char ONE_TRIP_USUAL[] = "suanli_http_one_trip_total{outcome=\"usual_path\"}";

START_TEST(a_search_in_one_round_trip_answers_as_the_two_statements_did) {
    dataset_post();
    char f_all[128], f_gpu_west[192], f_regions[192];
    snprintf(f_all, sizeof f_all, "{\"provider_id\":\"%s\"}", w.prov2_org);
    snprintf(f_gpu_west, sizeof f_gpu_west,
             "{\"provider_id\":\"%s\",\"resource_class\":\"gpu\",\"zone\":\"west\","
             "\"min_green_share\":\"0.5\"}",
             w.prov2_org);
    snprintf(f_regions, sizeof f_regions,
             "{\"provider_id\":\"%s\",\"region\":[\"guizhou\",\"gansu\"],\"max_pue\":\"1.25\"}",
             w.prov2_org);
    /* with a window, each offer also has its free_units; the institute has no paused offers
     * of its own, so that page is empty */
    char f_window[256], f_paused[128];
    snprintf(f_window, sizeof f_window,
             "{\"provider_id\":\"%s\",\"available_from\":\"2030-01-01T00:00:00Z\","
             "\"available_until\":\"2030-01-02T00:00:00Z\"}",
             w.prov2_org);
    snprintf(f_paused, sizeof f_paused, "{\"provider_id\":\"%s\",\"status\":\"paused\"}",
             w.prov2_org);
    const struct {
        const char *f, *query;
    } shapes[] = {
        {f_all, ""},
        {f_gpu_west, "&resource_class=gpu&zone=west&min_green_share=0.5"},
        {f_regions, "&region=guizhou,gansu&max_pue=1.25"},
        {f_window, "&available_from=2030-01-01T00:00:00Z&available_until=2030-01-02T00:00:00Z"},
        {f_paused, "&status=paused"},
    };
    const char *sorts[] = {NULL, "price", "-price", "tflops_per_fen", "green_share", "created_at"};
    /* each page below is the server's rendering of the one round trip: none falls back to
     * the usual path (which answers with offer_search's own bytes) */
    long long answered = th_metric(&w.srv, ONE_TRIP_ANSWERED),
              usual = th_metric(&w.srv, ONE_TRIP_USUAL), searches = 0;
    const struct th_auth *callers[] = {&w.inst, NULL};
    struct th_auth by_cookie = w.inst; /* the session alone: a GET needs no X-CSRF-Token */
    by_cookie.key[0] = by_cookie.csrf[0] = '\0';
    callers[1] = &by_cookie;
    for (size_t c = 0; c < 2; c++)
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            for (size_t k = 0; k < sizeof sorts / sizeof sorts[0]; k++) {
                char cursor[256] = "";
                int pages = 0;
                do {
                    char path[640];
                    snprintf(path, sizeof path, "/v1/offers?provider_id=%s&limit=2%s%s%s%s%s",
                             w.prov2_org, shapes[i].query, sorts[k] ? "&sort=" : "",
                             sorts[k] ? sorts[k] : "", cursor[0] ? "&cursor=" : "", cursor);
                    struct th_resp r = th_req(&w.srv, "GET", path, callers[c], NULL, NULL);
                    th_assert_status(&r, 200);
                    char *want = search_in_sql(shapes[i].f, sorts[k], cursor[0] ? cursor : NULL);
                    ck_assert_msg(strcmp(r.body, want) == 0, "%s: %s, not %s", path, r.body, want);
                    if (shapes[i].f == f_window)
                        ck_assert_msg(strstr(r.body, "\"free_units\": ") != NULL, "%s", r.body);
                    if (shapes[i].f == f_paused)
                        ck_assert_str_eq(r.body, "{\"items\" : [], \"next_cursor\" : null}");
                    free(want);
                    const char *next = th_str(&r, "next_cursor");
                    snprintf(cursor, sizeof cursor, "%s", next ? next : "");
                    th_resp_free(&r);
                    pages++;
                    searches++;
                } while (cursor[0] && pages < 10);
                ck_assert_int_lt(pages, 10);
            }
    ck_assert_int_eq(th_metric(&w.srv, ONE_TRIP_USUAL), usual);
    ck_assert_int_eq(th_metric(&w.srv, ONE_TRIP_ANSWERED), answered + searches);
    dataset_free();
}
END_TEST

/* A row whose timestamps the server cannot read (they print with another time zone's offset
 * when a connection's TimeZone is not the UTC migrate sets, here overridden for the runtime
 * role) is left to the usual path, which answers offer_search's own bytes. */
START_TEST(a_search_the_server_cannot_render_is_answered_by_the_usual_path) {
    dataset_post();
    char *db = th_sql(w.dburl, "SELECT current_database()");
    char sql[256], path[256], f[128];
    snprintf(sql, sizeof sql, "ALTER ROLE suanli_app IN DATABASE %s SET TimeZone = 'Asia/Shanghai'",
             db);
    free(th_sql(w.dburl, sql));
    struct th_server other; /* its connections start with the role's TimeZone */
    th_server_start(&other, w.dburl, NULL);
    long long answered = th_metric(&other, ONE_TRIP_ANSWERED),
              usual = th_metric(&other, ONE_TRIP_USUAL);
    snprintf(path, sizeof path, "/v1/offers?provider_id=%s&limit=2&sort=price", w.prov2_org);
    struct th_resp r = th_req(&other, "GET", path, &w.inst, NULL, NULL);
    snprintf(sql, sizeof sql, "ALTER ROLE suanli_app IN DATABASE %s RESET TimeZone", db);
    free(th_sql(w.dburl, sql));
    th_assert_status(&r, 200);
    snprintf(f, sizeof f, "{\"provider_id\":\"%s\"}", w.prov2_org);
    char *want = search_in_sql(f, "price", NULL);
    ck_assert_str_eq(r.body, want);
    ck_assert_ptr_nonnull(strstr(r.body, "\"created_at\": \"")); /* the page has offers */
    ck_assert_int_eq(th_metric(&other, ONE_TRIP_USUAL), usual + 1);
    ck_assert_int_eq(th_metric(&other, ONE_TRIP_ANSWERED), answered);
    free(want);
    th_resp_free(&r);
    ck_assert_int_eq(th_server_stop(&other), 0);
    free(db);
    dataset_free();
}
END_TEST

START_TEST(a_search_with_a_revoked_key_or_an_unknown_session_is_401) {
    struct th_auth k = w.inst;
    struct th_resp r =
        th_req(&w.srv, "POST", "/v1/api-keys", &w.inst, "{\"name\":\"search\"}", NULL);
    th_assert_status(&r, 201);
    snprintf(k.key, sizeof k.key, "%s", th_str(&r, "key"));
    char path[128];
    snprintf(path, sizeof path, "/v1/api-keys/%s", th_str(&r, "id"));
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/offers?sort=price&limit=1", &k, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    r = th_req(&w.srv, "DELETE", path, &w.inst, NULL, NULL);
    th_assert_status(&r, 204);
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/offers?sort=price&limit=1", &k, NULL, NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
    /* a forged cookie, and none at all: 401, before the query is looked at */
    struct th_auth forged = {0};
    snprintf(forged.cookie, sizeof forged.cookie, "%s", "not-a-session");
    r = th_req(&w.srv, "GET", "/v1/offers?sort=price&limit=1", &forged, NULL, NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/offers?sort=cheapest", NULL, NULL, NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
}
END_TEST

START_TEST(every_bad_filter_value_is_a_400_naming_it) {
    /* a real cursor for sort=price, to replay under another sort */
    char *a = world_offer(&w, &w.prov, "{\"accelerator\":\"CURSOR-X\"}");
    char *b = world_offer(&w, &w.prov, "{\"accelerator\":\"CURSOR-X\"}");
    struct th_resp r = th_req(&w.srv, "GET", "/v1/offers?accelerator=CURSOR-X&sort=price&limit=1",
                              &w.inst, NULL, NULL);
    char other_sort[320];
    snprintf(other_sort, sizeof other_sort, "sort=green_share&cursor=%s",
             th_str(&r, "next_cursor"));
    th_resp_free(&r);
    free(a);
    free(b);
    const struct bad_field cases[] = {
        {"resource_class=tpu", "resource_class"},
        {"accelerator=H100%3Cscript%3E", "accelerator"},
        {"region=mars", "region"},
        {"region=guizhou,mars", "region"},
        {"region=", "region"},
        {"zone=north", "zone"},
        {"min_units=0", "min_units"},
        {"min_units=abc", "min_units"},
        {"min_units=%2B5", "min_units"},
        {"min_tflops=-1", "min_tflops"},
        {"min_tflops=1e3", "min_tflops"},
        {"max_price_fen=0", "max_price_fen"},
        {"max_price_fen=12.5", "max_price_fen"},
        {"min_green_share=1.5", "min_green_share"},
        {"min_green_share=nan", "min_green_share"},
        {"max_pue=0.5", "max_pue"},
        {"max_pue=inf", "max_pue"},
        {"available_from=yesterday&available_until=2030-01-01T00:00:00Z", "available_from"},
        {"available_from=2030-01-01T00:00:00Z", "available_until"},
        {"available_until=2030-01-01T00:00:00Z", "available_from"},
        {"available_from=2030-01-02T00:00:00Z&available_until=2030-01-01T00:00:00Z",
         "available_until"},
        {"available_from=2030-02-30T00:00:00Z&available_until=2030-03-01T00:00:00Z",
         "available_from"},
        {"provider_id=xyz", "provider_id"},
        {"status=gone", "status"},
        {"sort=cheapest", "sort"},
        {"sort=price&cursor=not-a-cursor", "cursor"},
        {"cursor=00000000-0000-7000-8000-000000000000", "cursor"},
        {other_sort, "cursor"},
        {"limit=0", "limit"},
        {"limit=201", "limit"},
        {"colour=red", "colour"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "/v1/offers?%s", cases[i].overrides);
        r = th_req(&w.srv, "GET", path, &w.inst, NULL, NULL);
        th_assert_problem(&r, 400, "invalid-query");
        ck_assert_msg(th_str(&r, "errors.0.field") &&
                          strcmp(th_str(&r, "errors.0.field"), cases[i].field) == 0,
                      "%s: expected the error to name %s: %s", cases[i].overrides, cases[i].field,
                      r.body);
        th_resp_free(&r);
    }
    /* forged cursors of the right shape but wrong value types are refused too */
    const char *forged[] = {"cHJpY2V8YWJjfDAxOTAwMDAwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMA",
                            "aWR8eHw", NULL};
    for (const char *const *f = forged; *f; f++) {
        char path[256];
        snprintf(path, sizeof path, "/v1/offers?sort=price&cursor=%s", *f);
        r = th_req(&w.srv, "GET", path, &w.inst, NULL, NULL);
        th_assert_problem(&r, 400, "invalid-query");
        th_resp_free(&r);
    }
}
END_TEST

/* Appends each notice that is auto_explain's plan of a search statement (those of
 * offer_search itself, not of the functions it calls) to the buffer ctx. */
static void collect_notice(void *ctx, const char *message) {
    char **plans = ctx;
    if (strstr(message, "FROM offers o") == NULL)
        return;
    char *joined;
    ck_assert(asprintf(&joined, "%s%s", *plans ? *plans : "", message) > 0);
    free(*plans);
    *plans = joined;
}

/* The plan of the statement a search runs inside offer_search for the filters f and sort
 * (the first page, or one after a cursor), as auto_explain shows it: the cached plan the
 * function really uses. */
static char *search_plan(const char *f, const char *sort, bool paged) {
    PGconn *pg = PQconnectdb(w.dburl);
    ck_assert(PQstatus(pg) == CONNECTION_OK);
    char *plans = NULL;
    PQsetNoticeProcessor(pg, collect_notice, &plans);
    PGresult *r = PQexec(pg, "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; "
                             "SET auto_explain.log_nested_statements = on; "
                             "SET auto_explain.log_level = notice");
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "auto_explain: %s", PQerrorMessage(pg));
    PQclear(r);
    const char *after = !paged || sort == NULL                ? NULL
                        : strcmp(sort, "tflops_per_fen") == 0 ? "0.5"
                        : strcmp(sort, "green_share") == 0    ? "0.9"
                                                              : "1000";
    const char *params[] = {f, sort, after, paged ? "01900000-0000-7000-8000-000000000000" : NULL};
    r = PQexecParams(pg,
                     "SELECT offer_search('{\"role\":\"institute\"}', $1::jsonb, $2, $3, $4, 50)",
                     4, NULL, params, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "offer_search: %s", PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
    ck_assert_ptr_nonnull(plans);
    return plans;
}

START_TEST(searches_over_many_offers_stay_on_indexes) {
    /* 60 000 active offers, spread over classes, regions and prices */
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SET statement_timeout = 0; "
             "INSERT INTO offers (provider_id, resource_class, accelerator, units, "
             "fp16_tflops_per_unit, memory_gib_per_unit, region, zone, price_fen_per_unit_hour, "
             "available_from, available_until, pue, green_share) "
             "SELECT '%s', (ARRAY['gpu','npu','cpu'])[1 + i %% 3], "
             "(ARRAY['H100','A800','Ascend-910B','CPU','L40S'])[1 + i %% 5], 1 + i %% 64, "
             "10 + i %% 990, 80, r.code, r.zone, 100 + (i * 7919) %% 5000, "
             "'2026-01-01'::timestamptz + (i %% 30) * interval '1 day', '2032-01-01', "
             "1.1 + (i %% 10) * 0.1, (i %% 100) / 100.0 "
             "FROM generate_series(1, 60000) i "
             "JOIN (SELECT code, zone, row_number() OVER (ORDER BY code) - 1 AS n FROM regions) r "
             "ON r.n = i %% 8",
             w.prov2_org);
    free(th_sql(w.dburl, sql));
    free(th_sql(w.dburl, "ANALYZE offers"));
    free(th_sql(w.dburl, "ANALYZE orders"));
    char provider_filter[96];
    snprintf(provider_filter, sizeof provider_filter, "{\"provider_id\":\"%s\"}", w.prov2_org);
    const struct {
        const char *filters;
        const char *sort;
        bool paged;
    } cases[] = {
        {"{}", NULL, false},
        {"{}", NULL, true},
        {"{}", "price", true},
        {"{}", "-price", true},
        {"{}", "tflops_per_fen", true},
        {"{}", "green_share", true},
        {"{}", "created_at", true},
        {"{\"resource_class\":\"gpu\",\"zone\":\"west\"}", "price", true},
        {"{\"resource_class\":\"gpu\",\"region\":[\"guizhou\",\"gansu\"]}", "price", false},
        {"{\"accelerator\":\"H100\",\"max_price_fen\":\"1\"}", "price", false},
        {"{\"min_green_share\":\"0.5\",\"max_pue\":\"1.4\",\"min_tflops\":\"100\"}", "green_share",
         true},
        {"{\"available_from\":\"2030-01-01T00:00:00Z\",\"available_until\":"
         "\"2030-01-02T00:00:00Z\",\"min_units\":\"2\"}",
         "price", false},
        {provider_filter, NULL, true},
        {"{\"resource_class\":\"gpu\",\"zone\":\"west\"}", "-price", true},
        {"{\"accelerator\":\"H100\"}", "price", true},
        {"{\"accelerator\":\"H100\"}", "-price", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *plan = search_plan(cases[i].filters, cases[i].sort, cases[i].paged);
        const char *seq = strstr(plan, "Seq Scan");
        /* the plans are long (every nested statement): the message shows where it went wrong */
        ck_assert_msg(seq == NULL && strstr(plan, "Index") != NULL,
                      "%s sort %s: the plan is not index-backed: ...%.2000s", cases[i].filters,
                      cases[i].sort ? cases[i].sort : "id",
                      seq ? (seq - plan > 1500 ? seq - 1500 : plan) : plan);
        free(plan);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("offers");
    th_shared(up, down);
    th_case(s, regions_are_the_eight_hubs_with_their_zones, 180, NULL, NULL);
    th_case(s, provider_posts_an_offer_and_reads_it_with_its_etag, 180, NULL, NULL);
    th_case(s, every_offer_field_is_validated, 180, NULL, NULL);
    th_case(s, only_providers_post_offers, 180, NULL, NULL);
    th_case(s, patch_needs_if_match_and_refuses_a_stale_etag, 180, NULL, NULL);
    th_case(s, patch_validates_its_fields_and_refuses_the_immutable_ones, 180, NULL, NULL);
    th_case(s, another_provider_gets_404_and_other_roles_403, 180, NULL, NULL);
    th_case(s, a_paused_offer_leaves_the_catalogue_and_comes_back, 180, NULL, NULL);
    th_case(s, withdrawing_takes_the_offer_off_for_good, 180, NULL, NULL);
    th_case(s, each_filter_narrows_the_search_and_they_combine, 180, NULL, NULL);
    th_case(s, every_sort_key_orders_the_search, 180, NULL, NULL);
    th_case(s, keyset_pages_stay_stable_while_offers_are_inserted, 180, NULL, NULL);
    th_case(s, a_search_in_one_round_trip_answers_as_the_two_statements_did, 180, NULL, NULL);
    th_case(s, a_search_the_server_cannot_render_is_answered_by_the_usual_path, 180, NULL, NULL);
    th_case(s, a_search_with_a_revoked_key_or_an_unknown_session_is_401, 180, NULL, NULL);
    th_case(s, every_bad_filter_value_is_a_400_naming_it, 180, NULL, NULL);
    th_case(s, searches_over_many_offers_stay_on_indexes, 180, NULL, NULL);
    return th_run(s);
}
