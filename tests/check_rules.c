/* check_rules.c — the rules cities publish (issue 13), all enforced in the one redemption
 * function: accredited providers, related parties, the yearly cap per institute, the cap per
 * contract, tiered subsidy ratios (domestic accelerators, western hubs) and the co-funding
 * split in the ledger and the subsidy report. Each refusal names its rule. */
#include "world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct world w;

static void up(void) {
    world_setup(&w, "rules", WORLD_OFFER);
}

static int down(void) {
    return world_teardown(&w);
}

static struct th_resp redeem(const char *voucher, const char *order, long long amount) {
    char body[256];
    snprintf(body, sizeof body, "{\"voucher_id\":\"%s\",\"order_id\":\"%s\",\"amount_fen\":%lld}",
             voucher, order, amount);
    return th_req(&w.srv, "POST", "/v1/redemptions", &w.inst, body, NULL);
}

static void redeem_ok(const char *voucher, const char *order, long long amount) {
    struct th_resp r = redeem(voucher, order, amount);
    th_assert_status(&r, 201);
    th_resp_free(&r);
}

static void redeem_refused(const char *voucher, const char *order, long long amount, long status,
                           const char *slug) {
    struct th_resp r = redeem(voucher, order, amount);
    th_assert_problem(&r, status, slug);
    th_resp_free(&r);
}

/* A reserved order of 1 unit for 1 hour (gross 2000 fen on a 2000 fen offer). */
static char *order_on(const char *offer) {
    return world_order(&w, &w.inst, offer, 1, 1, NULL);
}

static struct th_resp accredit(const struct th_auth *by, const char *program, const char *provider,
                               const char *method, const char *body) {
    char path[160];
    snprintf(path, sizeof path, "/v1/programs/%s/providers/%s", program, provider);
    return th_req(&w.srv, method, path, by, body, NULL);
}

START_TEST(a_closed_programme_pays_only_accredited_providers) {
    char *program = world_program(&w, "{\"open_to_all_providers\":false}");
    char *v = world_voucher_id(&w, program, w.inst_org, 100000);
    char *o = order_on(NULL);
    redeem_refused(v, o, 100, 422, "provider-not-accredited");

    struct th_resp r = accredit(&w.admin, program, w.prov_org, "PUT", "{\"status\":\"pending\"}");
    th_assert_status(&r, 201);
    ck_assert_str_eq(th_str(&r, "status"), "pending");
    th_resp_free(&r);
    redeem_refused(v, o, 100, 422, "provider-not-accredited");
    r = accredit(&w.admin, program, w.prov_org, "PUT", "{\"status\":\"accredited\"}");
    th_assert_status(&r, 200);
    th_resp_free(&r);
    redeem_ok(v, o, 100);
    r = accredit(&w.auditor, program, w.prov_org, "GET", NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "accredited");
    th_resp_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/v1/programs/%s/providers", program);
    r = th_req(&w.srv, "GET", path, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "items.0.provider_id"), w.prov_org);
    ck_assert(json_is_false(json_object_get(r.json, "open_to_all_providers")));
    th_resp_free(&r);

    r = accredit(&w.admin, program, w.prov_org, "PUT", "{\"status\":\"suspended\"}");
    th_assert_status(&r, 200);
    th_resp_free(&r);
    redeem_refused(v, o, 100, 422, "provider-not-accredited");
    /* only the city's administrators keep the list */
    r = accredit(&w.other_admin, program, w.prov_org, "PUT", "{}");
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = accredit(&w.inst, program, w.prov_org, "PUT", "{}");
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = accredit(&w.admin, program, w.inst_org, "PUT", "{}");
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = accredit(&w.admin, program, w.prov_org, "PUT", "{\"status\":\"approved\"}");
    th_assert_problem(&r, 400, "validation-failed");
    th_resp_free(&r);
    r = accredit(&w.admin, program, w.prov_org, "DELETE", NULL);
    th_assert_status(&r, 204);
    th_resp_free(&r);
    r = accredit(&w.admin, program, w.prov_org, "GET", NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = accredit(&w.admin, program, w.prov_org, "DELETE", NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM audit_events WHERE subject_id = '%s' "
                                  "AND action LIKE 'program.provider.%%'",
                                  program),
                     4);

    /* open to all (the default), a provider suspended for the programme is still refused */
    char *open = world_program(&w, NULL);
    char *v2 = world_voucher_id(&w, open, w.inst_org, 100000);
    char *o2 = order_on(NULL);
    r = accredit(&w.admin, open, w.prov_org, "PUT", "{\"status\":\"suspended\"}");
    th_assert_status(&r, 201);
    th_resp_free(&r);
    redeem_refused(v2, o2, 100, 422, "provider-not-accredited");
    r = accredit(&w.admin, open, w.prov_org, "DELETE", NULL);
    th_assert_status(&r, 204);
    th_resp_free(&r);
    redeem_ok(v2, o2, 100);
    world_ledger_ok(&w);
    free(program);
    free(open);
    free(v);
    free(v2);
    free(o);
    free(o2);
}
END_TEST

START_TEST(a_voucher_never_pays_between_related_parties) {
    char *program = world_program(&w, NULL);
    char *v = world_voucher_id(&w, program, w.inst_org, 100000);
    char *o = order_on(NULL);
    char body[256];
    snprintf(body, sizeof body,
             "{\"provider_id\":\"%s\",\"institute_id\":\"%s\",\"note\":\"same parent company\"}",
             w.prov_org, w.inst_org);
    struct th_resp r = th_req(&w.srv, "POST", "/v1/related-parties", &w.admin, body, NULL);
    th_assert_status(&r, 201);
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", "/v1/related-parties", &w.admin, body, NULL);
    th_assert_problem(&r, 409, "duplicate");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", "/v1/related-parties", &w.other_admin, body, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", "/v1/related-parties", &w.inst, body, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    redeem_refused(v, o, 100, 422, "related-parties");

    /* the parties and the city see the declaration; another city does not */
    const struct th_auth *seeing[] = {&w.inst, &w.prov, &w.auditor, &w.admin};
    for (int i = 0; i < 4; i++) {
        r = th_req(&w.srv, "GET", "/v1/related-parties", seeing[i], NULL, NULL);
        th_assert_status(&r, 200);
        ck_assert_str_eq(th_str(&r, "items.0.id"), id);
        th_resp_free(&r);
    }
    r = th_req(&w.srv, "GET", "/v1/related-parties", &w.other_admin, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq((int)json_array_size(json_object_get(r.json, "items")), 0);
    th_resp_free(&r);
    char path[96];
    snprintf(path, sizeof path, "/v1/related-parties/%s", id);
    r = th_req(&w.srv, "DELETE", path, &w.other_admin, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "DELETE", path, &w.admin, NULL, NULL);
    th_assert_status(&r, 204);
    th_resp_free(&r);
    redeem_ok(v, o, 100);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT count(*) FROM audit_events WHERE subject_id = '%s'", id), 2);
    free(id);
    free(program);
    free(v);
    free(o);
}
END_TEST

START_TEST(the_yearly_cap_per_institute_holds_beside_the_lifetime_cap) {
    char *program = world_program(&w, "{\"per_institute_year_cap_fen\":1000,"
                                      "\"per_institute_cap_fen\":5000}");
    char *v = world_voucher_id(&w, program, w.inst_org, 100000);
    char *o1 = order_on(NULL), *o2 = order_on(NULL);
    redeem_ok(v, o1, 800);
    struct th_resp r = redeem(v, o2, 300);
    th_assert_problem(&r, 422, "institute-year-cap-exceeded");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "amount_fen");
    ck_assert_ptr_nonnull(strstr(th_str(&r, "detail"), "calendar year"));
    th_resp_free(&r);
    redeem_ok(v, o2, 200);
    /* a cancelled order gives the year its room back */
    char path[96];
    snprintf(path, sizeof path, "/v1/orders/%s/cancel", o1);
    r = th_req(&w.srv, "POST", path, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    char *o3 = order_on(NULL);
    redeem_ok(v, o3, 800);
    /* the lifetime cap is its own rule */
    char *p2 = world_program(&w, "{\"per_institute_cap_fen\":500}");
    char *v2 = world_voucher_id(&w, p2, w.inst_org, 100000);
    char *o4 = order_on(NULL);
    redeem_refused(v2, o4, 600, 422, "institute-cap-exceeded");
    world_ledger_ok(&w);
    free(program);
    free(p2);
    free(v);
    free(v2);
    free(o1);
    free(o2);
    free(o3);
    free(o4);
}
END_TEST

START_TEST(the_cap_per_contract_limits_the_subsidy_of_a_contract) {
    /* a voucher issued directly: the order is the contract (gross 2000, 10 % = 200) */
    char *program = world_program(&w, "{\"per_contract_cap_bp\":1000}");
    char *v = world_voucher_id(&w, program, w.inst_org, 100000);
    char *o = order_on(NULL);
    struct th_resp r = redeem(v, o, 300);
    th_assert_problem(&r, 422, "contract-cap-exceeded");
    ck_assert_ptr_nonnull(strstr(th_str(&r, "detail"), "contract"));
    th_resp_free(&r);
    redeem_ok(v, o, 200);
    redeem_refused(v, o, 1, 422, "contract-cap-exceeded");

    /* a voucher of an application: its contract value (10 000, 10 % = 1000) over all orders */
    char body[512];
    snprintf(body, sizeof body,
             "{\"program_id\":\"%s\",\"requested_fen\":1000,\"purpose\":\"training\","
             "\"contract_reference\":\"C-%d\",\"contract_value_fen\":10000}",
             program, (int)getpid());
    r = th_req(&w.srv, "POST", "/v1/applications", &w.inst, body, NULL);
    th_assert_status(&r, 201);
    char path[128];
    snprintf(path, sizeof path, "/v1/applications/%s/approve", th_str(&r, "id"));
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", path, &w.admin, NULL, NULL);
    th_assert_status(&r, 200);
    char *av = strdup(th_str(&r, "voucher_id"));
    th_resp_free(&r);
    /* raise the order cap out of the way: the contract is the application's */
    char *big1 = world_order(&w, &w.inst, NULL, 10, 1, NULL);
    char *big2 = world_order(&w, &w.inst, NULL, 10, 1, NULL);
    snprintf(path, sizeof path, "/v1/programs/%s", program);
    const char *match[] = {"If-Match: \"1\"", NULL};
    r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"per_contract_cap_bp\":500}", match);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "per_contract_cap_bp"), 500);
    th_resp_free(&r);
    redeem_ok(av, big1, 400);
    redeem_refused(av, big2, 200, 422, "contract-cap-exceeded");
    redeem_ok(av, big2, 100);
    world_ledger_ok(&w);
    free(program);
    free(v);
    free(av);
    free(o);
    free(big1);
    free(big2);
}
END_TEST

START_TEST(ratios_are_tiered_by_accelerator_family_and_zone) {
    char *program = world_program(&w, "{\"max_subsidy_bp\":3000,\"domestic_subsidy_bp\":7000,"
                                      "\"west_subsidy_bp\":6000}");
    char *v = world_voucher_id(&w, program, w.inst_org, 1000000);
    /* the world's H100 offer is in guizhou (west): 60 % */
    char *o = order_on(NULL);
    struct th_resp r = redeem(v, o, 1201);
    th_assert_problem(&r, 422, "subsidy-ratio-exceeded");
    ck_assert_ptr_nonnull(strstr(th_str(&r, "detail"), "west zone"));
    th_resp_free(&r);
    redeem_ok(v, o, 1200);
    /* a domestic accelerator in the east: 70 % */
    char *ascend = world_offer(&w, &w.prov,
                               "{\"accelerator\":\"Ascend-910B\","
                               "\"resource_class\":\"npu\",\"region\":\"yangtze-delta\","
                               "\"units\":1000}");
    char *o2 = order_on(ascend);
    redeem_refused(v, o2, 1401, 422, "subsidy-ratio-exceeded");
    redeem_ok(v, o2, 1400);
    /* an imported accelerator in the east: the base 30 % */
    char *h100 = world_offer(&w, &w.prov, "{\"region\":\"yangtze-delta\",\"units\":1000}");
    char *o3 = order_on(h100);
    r = redeem(v, o3, 601);
    th_assert_problem(&r, 422, "subsidy-ratio-exceeded");
    ck_assert_ptr_nonnull(strstr(th_str(&r, "detail"), "base"));
    th_resp_free(&r);
    redeem_ok(v, o3, 600);
    world_ledger_ok(&w);
    free(program);
    free(v);
    free(ascend);
    free(h100);
    free(o);
    free(o2);
    free(o3);
}
END_TEST

START_TEST(co_funders_each_carry_their_share_in_the_ledger_and_the_report) {
    char *body = world_program_body("{\"funders\":[{\"funder\":\"province\",\"share_bp\":6000},"
                                    "{\"funder\":\"city\",\"share_bp\":5000}]}");
    struct th_resp r = th_req(&w.srv, "POST", "/v1/programs", &w.admin, body, NULL);
    th_assert_problem(&r, 400, "validation-failed");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "funders");
    th_resp_free(&r);
    free(body);
    char *program = world_program(&w, "{\"funders\":[{\"funder\":\"province\",\"share_bp\":6000},"
                                      "{\"funder\":\"city\",\"share_bp\":4000}]}");
    char *v = world_voucher_id(&w, program, w.inst_org, 100000);
    char *o = world_order(&w, &w.inst, NULL, 2, 1, NULL);
    redeem_ok(v, o, 1001);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT sum(p.amount_fen) FROM ledger_entries e JOIN "
                                  "ledger_postings p ON p.entry_id = e.id WHERE e.program_id = "
                                  "'%s' AND e.kind = 'redeem' AND e.funder = 'province' AND "
                                  "p.amount_fen > 0",
                                  program),
                     601);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT sum(p.amount_fen) FROM ledger_entries e JOIN "
                                  "ledger_postings p ON p.entry_id = e.id WHERE e.program_id = "
                                  "'%s' AND e.kind = 'redeem' AND e.funder = 'city' AND "
                                  "p.amount_fen > 0",
                                  program),
                     400);
    r = th_req(&w.srv, "GET", "/v1/reports/subsidies?group_by=program,funder", &w.admin, NULL,
               NULL);
    th_assert_status(&r, 200);
    long long province = -1, city = -1;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "items"), i, e) {
        const char *pid = json_string_value(json_object_get(e, "program_id"));
        const char *f = json_string_value(json_object_get(e, "funder"));
        if (pid == NULL || strcmp(pid, program) != 0 || f == NULL)
            continue;
        long long red = json_integer_value(json_object_get(e, "redeemed_fen"));
        if (strcmp(f, "province") == 0)
            province = red;
        else if (strcmp(f, "city") == 0)
            city = red;
    }
    th_resp_free(&r);
    ck_assert_int_eq(province, 601);
    ck_assert_int_eq(city, 400);
    /* a cancellation returns each share */
    char path[96];
    snprintf(path, sizeof path, "/v1/orders/%s/cancel", o);
    r = th_req(&w.srv, "POST", path, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM ledger_entries WHERE program_id = '%s' "
                                  "AND kind = 'reverse' AND funder IS NOT NULL",
                                  program),
                     2);
    world_ledger_ok(&w);
    free(program);
    free(v);
    free(o);
}
END_TEST

/* The rules editor's fields: set, read back, removed with null. */
START_TEST(the_city_admin_edits_the_rules) {
    char *program = world_program(&w, NULL);
    char path[96];
    snprintf(path, sizeof path, "/v1/programs/%s", program);
    const char *match[] = {"If-Match: \"1\"", NULL};
    struct th_resp r = th_req(
        &w.srv, "PATCH", path, &w.admin,
        "{\"per_institute_year_cap_fen\":300000,\"per_contract_cap_bp\":2000,"
        "\"domestic_subsidy_bp\":8000,\"west_subsidy_bp\":7000,\"open_to_all_providers\":false,"
        "\"funders\":[{\"funder\":\"province\",\"share_bp\":5000},{\"funder\":\"city\","
        "\"share_bp\":5000}]}",
        match);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", path, &w.admin, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "per_institute_year_cap_fen"), 300000);
    ck_assert_int_eq(th_int(&r, "per_contract_cap_bp"), 2000);
    ck_assert_int_eq(th_int(&r, "domestic_subsidy_bp"), 8000);
    ck_assert_int_eq(th_int(&r, "west_subsidy_bp"), 7000);
    ck_assert(json_is_false(json_object_get(r.json, "open_to_all_providers")));
    ck_assert_str_eq(th_str(&r, "funders.1.funder"), "city");
    ck_assert_int_eq(th_int(&r, "funders.1.share_bp"), 5000);
    th_resp_free(&r);
    const char *match2[] = {"If-Match: \"2\"", NULL};
    r = th_req(&w.srv, "PATCH", path, &w.admin,
               "{\"per_institute_year_cap_fen\":null,\"west_subsidy_bp\":null,\"funders\":[]}",
               match2);
    th_assert_status(&r, 200);
    ck_assert(json_is_null(json_object_get(r.json, "per_institute_year_cap_fen")));
    ck_assert(json_is_null(json_object_get(r.json, "west_subsidy_bp")));
    ck_assert_int_eq(th_int(&r, "domestic_subsidy_bp"), 8000);
    ck_assert_int_eq((int)json_array_size(json_object_get(r.json, "funders")), 0);
    th_resp_free(&r);
    const char *match3[] = {"If-Match: \"3\"", NULL};
    r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"per_contract_cap_bp\":0}", match3);
    th_assert_problem(&r, 400, "validation-failed");
    th_resp_free(&r);
    free(program);
}
END_TEST

int main(void) {
    Suite *s = suite_create("rules");
    th_shared(up, down);
    th_case(s, a_closed_programme_pays_only_accredited_providers, 120, NULL, NULL);
    th_case(s, a_voucher_never_pays_between_related_parties, 120, NULL, NULL);
    th_case(s, the_yearly_cap_per_institute_holds_beside_the_lifetime_cap, 120, NULL, NULL);
    th_case(s, the_cap_per_contract_limits_the_subsidy_of_a_contract, 120, NULL, NULL);
    th_case(s, ratios_are_tiered_by_accelerator_family_and_zone, 120, NULL, NULL);
    th_case(s, co_funders_each_carry_their_share_in_the_ledger_and_the_report, 120, NULL, NULL);
    th_case(s, the_city_admin_edits_the_rules, 120, NULL, NULL);
    return th_run(s);
}
