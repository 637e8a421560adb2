/* check_programs.c — subsidy programmes: create, read, list, update with If-Match, the budget
 * that can never drop below what is committed, city isolation, audit and ledger. */
#include "world.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct world w;

static void up(void) {
    world_setup(&w, "programs", 0);
}

static int down(void) {
    return world_teardown(&w);
}

START_TEST(a_city_admin_creates_a_programme_with_balances_and_an_etag) {
    char *body = world_program_body("{\"budget_fen\":250000,\"regions\":[\"gansu\",\"guizhou\"],"
                                    "\"resource_classes\":[\"gpu\"],\"min_green_share\":0.35,"
                                    "\"per_institute_cap_fen\":100000}");
    struct th_resp r = th_req(&w.srv, "POST", "/v1/programs", &w.admin, body, NULL);
    free(body);
    th_assert_status(&r, 201);
    char *etag = th_header(&r, "ETag"), *loc = th_header(&r, "Location");
    ck_assert_str_eq(etag, "\"1\"");
    char want[80];
    snprintf(want, sizeof want, "/v1/programs/%s", th_str(&r, "id"));
    ck_assert_str_eq(loc, want);
    free(etag);
    free(loc);
    ck_assert_str_eq(th_str(&r, "city_id"), w.city);
    ck_assert_str_eq(th_str(&r, "status"), "active");
    ck_assert_int_eq(th_int(&r, "budget_fen"), 250000);
    ck_assert_int_eq(th_int(&r, "available_fen"), 250000);
    ck_assert_int_eq(th_int(&r, "issued_fen"), 0);
    ck_assert_int_eq(th_int(&r, "redeemed_fen"), 0);
    ck_assert_int_eq(th_int(&r, "released_fen"), 0);
    ck_assert_int_eq(th_int(&r, "per_institute_cap_fen"), 100000);
    ck_assert_str_eq(th_str(&r, "regions.0"), "gansu");
    ck_assert_str_eq(th_str(&r, "regions.1"), "guizhou");
    ck_assert_str_eq(th_str(&r, "resource_classes.0"), "gpu");
    ck_assert_msg(json_number_value(json_object_get(r.json, "min_green_share")) == 0.35, "%s",
                  r.body);
    th_resp_free(&r);

    /* without rules, every region and class is subsidised */
    char *id = world_program(&w, NULL);
    char path[96];
    snprintf(path, sizeof path, "/v1/programs/%s", id);
    r = th_req(&w.srv, "GET", path, &w.auditor, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq((int)json_array_size(json_object_get(r.json, "regions")), 8);
    ck_assert_int_eq((int)json_array_size(json_object_get(r.json, "resource_classes")), 3);
    ck_assert(json_is_null(json_object_get(r.json, "per_institute_cap_fen")));
    th_resp_free(&r);
    free(id);
    world_ledger_ok(&w);
}
END_TEST

START_TEST(the_operator_names_the_city_and_admins_stay_in_their_own) {
    char *body = world_program_body(NULL);
    struct th_resp r = th_req(&w.srv, "POST", "/v1/programs", &w.op, body, NULL);
    th_assert_problem(&r, 400, "validation-failed");
    ck_assert_ptr_nonnull(strstr(th_str(&r, "detail"), "city_id"));
    th_resp_free(&r);
    free(body);

    char over[128];
    snprintf(over, sizeof over, "{\"city_id\":\"%s\"}", w.other_city);
    body = world_program_body(over);
    r = th_req(&w.srv, "POST", "/v1/programs", &w.op, body, NULL);
    th_assert_status(&r, 201);
    ck_assert_str_eq(th_str(&r, "city_id"), w.other_city);
    th_resp_free(&r);
    /* a Chengdu administrator cannot create in Hami: the city does not exist for it */
    r = th_req(&w.srv, "POST", "/v1/programs", &w.admin, body, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    free(body);
    /* institutes, auditors and providers may not create programmes at all */
    body = world_program_body(NULL);
    const struct th_auth *refused[] = {&w.inst, &w.auditor, &w.prov};
    for (int i = 0; i < 3; i++) {
        r = th_req(&w.srv, "POST", "/v1/programs", refused[i], body, NULL);
        th_assert_problem(&r, 403, "forbidden");
        th_resp_free(&r);
    }
    free(body);
}
END_TEST

/* Each bad field is refused with 400 naming it, and nothing is created. */
START_TEST(invalid_fields_are_named_and_nothing_is_created) {
    static const struct {
        const char *overrides, *field;
    } cases[] = {
        {"{\"max_subsidy_bp\":0}", "max_subsidy_bp"},
        {"{\"max_subsidy_bp\":10001}", "max_subsidy_bp"},
        {"{\"budget_fen\":-1}", "budget_fen"},
        {"{\"budget_fen\":1.5}", "budget_fen"},
        {"{\"regions\":[\"mars\"]}", "regions[0]"},
        {"{\"regions\":[\"gansu\",\"gansu\"]}", "regions[1]"},
        {"{\"resource_classes\":[\"tpu\"]}", "resource_classes[0]"},
        {"{\"resource_classes\":[]}", "resource_classes"},
        {"{\"min_green_share\":1.5}", "min_green_share"},
        {"{\"per_institute_cap_fen\":0}", "per_institute_cap_fen"},
        {"{\"ends_at\":\"next year\"}", "ends_at"},
        {"{\"name\":\"\"}", "name"},
        {"{\"name\":null}", "name"},
        {"{\"issued_fen\":5}", "issued_fen"},
        {"{\"version\":7}", "version"},
    };
    long long before = world_sql_ll(&w, "SELECT count(*) FROM programs");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *body = world_program_body(cases[i].overrides);
        struct th_resp r = th_req(&w.srv, "POST", "/v1/programs", &w.admin, body, NULL);
        th_assert_problem(&r, 400, "validation-failed");
        ck_assert_msg(th_str(&r, "errors.0.field") &&
                          strcmp(th_str(&r, "errors.0.field"), cases[i].field) == 0,
                      "%s: expected field %s in %s", cases[i].overrides, cases[i].field, r.body);
        th_resp_free(&r);
        free(body);
    }
    /* rules checked in SQL name their field in errors[] (and the detail) */
    static const struct {
        const char *overrides, *words;
    } sql_cases[] = {
        {"{\"starts_at\":\"2030-07-01T00:00:00Z\"}", "ends_at: must be after starts_at"},
        {"{\"starts_at\":\"2019-01-01T00:00:00Z\",\"ends_at\":\"2020-01-01T00:00:00Z\"}",
         "ends_at: must be in the future"},
    };
    for (size_t i = 0; i < sizeof sql_cases / sizeof sql_cases[0]; i++) {
        char *body = world_program_body(sql_cases[i].overrides);
        struct th_resp r = th_req(&w.srv, "POST", "/v1/programs", &w.admin, body, NULL);
        th_assert_problem(&r, 400, "validation-failed");
        ck_assert_msg(strstr(th_str(&r, "detail"), sql_cases[i].words), "%s", r.body);
        ck_assert_msg(th_str(&r, "errors.0.field") &&
                          strcmp(th_str(&r, "errors.0.field"), "ends_at") == 0 &&
                          strstr(sql_cases[i].words, th_str(&r, "errors.0.message")),
                      "%s", r.body);
        th_resp_free(&r);
        free(body);
    }
    ck_assert_int_eq(world_sql_ll(&w, "SELECT count(*) FROM programs"), before);
}
END_TEST

START_TEST(cities_are_isolated_and_roles_checked) {
    char *id = world_program(&w, NULL);
    char path[96];
    snprintf(path, sizeof path, "/v1/programs/%s", id);
    /* Hami's administrator: as if it did not exist, for reads and writes */
    struct th_resp r = th_req(&w.srv, "GET", path, &w.other_admin, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    const char *match[] = {"If-Match: \"1\"", NULL};
    r = th_req(&w.srv, "PATCH", path, &w.other_admin, "{\"budget_fen\":1}", match);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/programs", &w.other_admin, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_ptr_null(strstr(r.body, id));
    th_resp_free(&r);
    /* Chengdu's auditor reads, cannot write */
    r = th_req(&w.srv, "GET", path, &w.auditor, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    r = th_req(&w.srv, "PATCH", path, &w.auditor, "{\"budget_fen\":1}", match);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    /* an institute reads its city's active programmes without the balances (issue 13);
     * providers do not read programmes */
    r = th_req(&w.srv, "GET", path, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_ptr_null(json_object_get(r.json, "issued_fen"));
    ck_assert_ptr_null(json_object_get(r.json, "available_fen"));
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", path, &w.other_inst, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/programs", &w.prov, NULL, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", path, NULL, NULL, NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
    free(id);
}
END_TEST

START_TEST(an_update_needs_the_current_etag) {
    char *id = world_program(&w, NULL);
    char path[96];
    snprintf(path, sizeof path, "/v1/programs/%s", id);
    struct th_resp r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"max_subsidy_bp\":3000}", NULL);
    th_assert_problem(&r, 428, "precondition-required");
    th_resp_free(&r);
    const char *stale[] = {"If-Match: \"7\"", NULL};
    r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"max_subsidy_bp\":3000}", stale);
    th_assert_problem(&r, 412, "precondition-failed");
    th_resp_free(&r);
    const char *garbage[] = {"If-Match: W/\"1\"", NULL};
    r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"max_subsidy_bp\":3000}", garbage);
    th_assert_problem(&r, 412, "precondition-failed");
    th_resp_free(&r);
    /* a window turned inside out by one end names ends_at (it hit a check constraint) */
    const char *first[] = {"If-Match: \"1\"", NULL};
    r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"starts_at\":\"2031-01-01T00:00:00Z\"}", first);
    th_assert_problem(&r, 400, "validation-failed");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "ends_at");
    ck_assert_str_eq(th_str(&r, "errors.0.message"), "must be after starts_at");
    th_resp_free(&r);
    const char *current[] = {"If-Match: \"1\"", NULL};
    r = th_req(&w.srv, "PATCH", path, &w.admin,
               "{\"max_subsidy_bp\":3000,\"regions\":[\"ningxia\"],\"name\":\"Renamed\","
               "\"per_institute_cap_fen\":5000,\"status\":\"suspended\"}",
               current);
    th_assert_status(&r, 200);
    char *etag = th_header(&r, "ETag");
    ck_assert_str_eq(etag, "\"2\"");
    free(etag);
    ck_assert_int_eq(th_int(&r, "max_subsidy_bp"), 3000);
    ck_assert_int_eq(th_int(&r, "version"), 2);
    ck_assert_str_eq(th_str(&r, "regions.0"), "ningxia");
    ck_assert_str_eq(th_str(&r, "name"), "Renamed");
    ck_assert_str_eq(th_str(&r, "status"), "suspended");
    ck_assert_int_eq(th_int(&r, "per_institute_cap_fen"), 5000);
    th_resp_free(&r);
    /* the old ETag is stale now; null removes the cap; an unknown field is refused */
    r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"per_institute_cap_fen\":null}", current);
    th_assert_problem(&r, 412, "precondition-failed");
    th_resp_free(&r);
    const char *v2[] = {"If-Match: \"2\"", NULL};
    r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"issued_fen\":0}", v2);
    th_assert_problem(&r, 400, "validation-failed");
    th_resp_free(&r);
    r = th_req(&w.srv, "PATCH", path, &w.admin,
               "{\"per_institute_cap_fen\":null,\"status\":\"active\"}", v2);
    th_assert_status(&r, 200);
    ck_assert(json_is_null(json_object_get(r.json, "per_institute_cap_fen")));
    ck_assert_str_eq(th_str(&r, "status"), "active");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", path, &w.admin, NULL, NULL);
    etag = th_header(&r, "ETag");
    ck_assert_str_eq(etag, "\"3\"");
    free(etag);
    th_resp_free(&r);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM audit_events WHERE subject_id = '%s' "
                                  "AND action = 'program.update'",
                                  id),
                     2);
    free(id);
}
END_TEST

START_TEST(the_budget_never_drops_below_what_is_issued_and_not_released) {
    char *id = world_program(&w, "{\"budget_fen\":100000}");
    char path[96];
    snprintf(path, sizeof path, "/v1/programs/%s", id);
    char *v = world_voucher_id(&w, id, w.inst_org, 60000);
    const char *m1[] = {"If-Match: \"1\"", NULL};
    struct th_resp r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"budget_fen\":59999}", m1);
    th_assert_problem(&r, 409, "budget-below-committed");
    th_resp_free(&r);
    r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"budget_fen\":60000}", m1);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "available_fen"), 0);
    ck_assert_int_eq(th_int(&r, "issued_fen"), 60000);
    th_resp_free(&r);
    /* once the voucher is revoked its balance is released and the budget may fall to 0 */
    char rpath[128];
    snprintf(rpath, sizeof rpath, "/v1/vouchers/%s/revoke", v);
    r = th_req(&w.srv, "POST", rpath, &w.admin, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    const char *m2[] = {"If-Match: \"2\"", NULL};
    r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"budget_fen\":0}", m2);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "budget_fen"), 0);
    ck_assert_int_eq(th_int(&r, "released_fen"), 60000);
    ck_assert_int_eq(th_int(&r, "available_fen"), 0);
    th_resp_free(&r);
    /* a budget change is a ledger movement: the ledger still proves every balance */
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM ledger_entries WHERE program_id = '%s' "
                                  "AND kind = 'fund'",
                                  id),
                     3);
    world_ledger_ok(&w);
    free(v);
    free(id);
}
END_TEST

START_TEST(a_suspended_programme_issues_nothing) {
    char *id = world_program(&w, "{\"status\":null}");
    char path[96];
    snprintf(path, sizeof path, "/v1/programs/%s", id);
    const char *m1[] = {"If-Match: \"1\"", NULL};
    struct th_resp r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"status\":\"suspended\"}", m1);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    char body[256];
    snprintf(
        body, sizeof body,
        "{\"institute_id\":\"%s\",\"face_value_fen\":100,\"expires_at\":\"2029-01-01T00:00:00Z\"}",
        w.inst_org);
    r = world_issue(&w, NULL, &w.admin, id, body, NULL);
    th_assert_problem(&r, 409, "program-not-active");
    th_resp_free(&r);
    free(id);
}
END_TEST

START_TEST(lists_are_paginated_and_scoped) {
    char over[128];
    snprintf(over, sizeof over, "{\"city_id\":\"%s\"}", w.other_city);
    for (int i = 0; i < 3; i++) {
        char *body = world_program_body(over);
        struct th_resp r = th_req(&w.srv, "POST", "/v1/programs", &w.other_admin, body, NULL);
        th_assert_status(&r, 201);
        th_resp_free(&r);
        free(body);
    }
    /* pages of 2 walk every programme of Hami once, in id order */
    long long total =
        world_sql_ll(&w, "SELECT count(*) FROM programs WHERE city_id = '%s'", w.other_city);
    ck_assert_int_ge(total, 3);
    char path[160], last[40] = "";
    char *cursor = NULL;
    long long seen = 0;
    for (int page = 0; page < 10; page++) {
        if (cursor)
            snprintf(path, sizeof path, "/v1/programs?limit=2&cursor=%s", cursor);
        else
            snprintf(path, sizeof path, "/v1/programs?limit=2");
        free(cursor);
        cursor = NULL;
        struct th_resp r = th_req(&w.srv, "GET", path, &w.other_admin, NULL, NULL);
        th_assert_status(&r, 200);
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(r.json, "items"), i, item) {
            const char *id = json_string_value(json_object_get(item, "id"));
            ck_assert_int_gt(strcmp(id, last), 0);
            snprintf(last, sizeof last, "%s", id);
            seen++;
        }
        ck_assert_int_le((int)i, 2);
        if (th_str(&r, "next_cursor"))
            cursor = strdup(th_str(&r, "next_cursor"));
        th_resp_free(&r);
        if (cursor == NULL)
            break;
    }
    ck_assert_int_eq(seen, total);
    /* the operator filters by city */
    snprintf(path, sizeof path, "/v1/programs?city_id=%s&limit=200", w.other_city);
    struct th_resp r = th_req(&w.srv, "GET", path, &w.op, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq((int)json_array_size(json_object_get(r.json, "items")), (int)total);
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/programs?city_id=chengdu", &w.op, NULL, NULL);
    th_assert_problem(&r, 400, "invalid-query");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "city_id");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/programs?sort=name", &w.op, NULL, NULL);
    th_assert_problem(&r, 400, "invalid-query");
    th_resp_free(&r);
}
END_TEST

START_TEST(every_change_is_audited_in_the_programmes_city) {
    long long before = world_sql_ll(&w,
                                    "SELECT count(*) FROM audit_events WHERE action = "
                                    "'program.create' AND city_id = '%s'",
                                    w.city);
    char *id = world_program(&w, NULL);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM audit_events WHERE action = "
                                  "'program.create' AND city_id = '%s'",
                                  w.city),
                     before + 1);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM audit_events WHERE subject_id = '%s' "
                                  "AND actor_user = '%s' AND data->>'program_id' = '%s'",
                                  id, w.admin.user_id, id),
                     1);
    free(id);
}
END_TEST

int main(void) {
    Suite *s = suite_create("programs");
    th_shared(up, down);
    th_case(s, a_city_admin_creates_a_programme_with_balances_and_an_etag, 120, NULL, NULL);
    th_case(s, the_operator_names_the_city_and_admins_stay_in_their_own, 120, NULL, NULL);
    th_case(s, invalid_fields_are_named_and_nothing_is_created, 120, NULL, NULL);
    th_case(s, cities_are_isolated_and_roles_checked, 120, NULL, NULL);
    th_case(s, an_update_needs_the_current_etag, 120, NULL, NULL);
    th_case(s, the_budget_never_drops_below_what_is_issued_and_not_released, 120, NULL, NULL);
    th_case(s, a_suspended_programme_issues_nothing, 120, NULL, NULL);
    th_case(s, lists_are_paginated_and_scoped, 120, NULL, NULL);
    th_case(s, every_change_is_audited_in_the_programmes_city, 120, NULL, NULL);
    return th_run(s);
}
