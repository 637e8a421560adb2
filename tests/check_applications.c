/* check_applications.c — the voucher scheme's applications (issue 13): institutes see the
 * programmes open in their city and apply; administrators approve (issuing the voucher in the
 * same transaction), trim, waitlist or reject; institutes withdraw. Every transaction, every
 * eligibility refusal, isolation, audit, and concurrent approvals on two servers that never
 * overdraw the budget. */
#include "world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct world w;

static void up(void) {
    world_setup(&w, "applications", WORLD_TWO_SERVERS);
}

static int down(void) {
    return world_teardown(&w);
}

/* A unique contract reference. */
static const char *contract(char out[48]) {
    static int n;
    snprintf(out, 48, "HT-%d-%d", (int)getpid(), ++n);
    return out;
}

/* POST /v1/applications for program as by; extra is added inside the body or NULL. */
static struct th_resp apply_for(const struct th_server *s, const struct th_auth *by,
                                const char *program, long long fen, const char *extra) {
    char body[1024], ref[48];
    snprintf(body, sizeof body,
             "{\"program_id\":\"%s\",\"requested_fen\":%lld,\"purpose\":\"LLM fine-tuning\","
             "\"contract_reference\":\"%s\"%s}",
             program, fen, contract(ref), extra ? extra : "");
    return th_req(s ? s : &w.srv, "POST", "/v1/applications", by, body, NULL);
}

/* A submitted application of Chengdu's first institute; its id, malloc'd. */
static char *application(const char *program, long long fen) {
    struct th_resp r = apply_for(NULL, &w.inst, program, fen, NULL);
    th_assert_status(&r, 201);
    ck_assert_str_eq(th_str(&r, "status"), "submitted");
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    return id;
}

static struct th_resp decide(const struct th_server *s, const struct th_auth *by, const char *id,
                             const char *what, const char *body) {
    char path[128];
    snprintf(path, sizeof path, "/v1/applications/%s/%s", id, what);
    return th_req(s ? s : &w.srv, "POST", path, by, body, NULL);
}

/* A programme of Chengdu, suspended; its id, malloc'd. */
static char *suspended_program(void) {
    char *id = world_program(&w, NULL);
    char path[96];
    snprintf(path, sizeof path, "/v1/programs/%s", id);
    const char *match[] = {"If-Match: \"1\"", NULL};
    struct th_resp r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"status\":\"suspended\"}", match);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    return id;
}

static bool list_has(const struct th_auth *by, const char *query, const char *id) {
    char path[160];
    snprintf(path, sizeof path, "/v1/applications?limit=200%s", query);
    struct th_resp r = th_req(&w.srv, "GET", path, by, NULL, NULL);
    th_assert_status(&r, 200);
    bool found = false;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "items"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0)
            found = true;
    }
    th_resp_free(&r);
    return found;
}

static long long audited(const char *action, const char *id) {
    return world_sql_ll(&w,
                        "SELECT count(*) FROM audit_events WHERE action = '%s' AND "
                        "subject_id = '%s'",
                        action, id);
}

START_TEST(an_institute_sees_the_open_programmes_of_its_city_without_balances) {
    char *open = world_program(&w, NULL);
    char *suspended = suspended_program();
    char over[128];
    snprintf(over, sizeof over, "{\"city_id\":\"%s\"}", w.other_city);
    char *body = world_program_body(over);
    char *hami = world_post_id(&w.srv, &w.op, "/v1/programs", body);
    free(body);
    bool seen_open = false;
    struct th_resp r = th_req(&w.srv, "GET", "/v1/programs?limit=200", &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "items"), i, e) {
        const char *id = json_string_value(json_object_get(e, "id"));
        ck_assert_str_ne(id, suspended);
        ck_assert_str_ne(id, hami);
        ck_assert_str_eq(json_string_value(json_object_get(e, "status")), "active");
        ck_assert_ptr_null(json_object_get(e, "issued_fen"));
        ck_assert_ptr_null(json_object_get(e, "redeemed_fen"));
        if (strcmp(id, open) == 0)
            seen_open = true;
    }
    th_resp_free(&r);
    ck_assert(seen_open);
    char path[96];
    snprintf(path, sizeof path, "/v1/programs/%s", hami);
    r = th_req(&w.srv, "GET", path, &w.inst, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    free(open);
    free(suspended);
    free(hami);
}
END_TEST

START_TEST(an_application_is_submitted_and_seen_only_by_its_institute_and_city) {
    char *program = world_program(&w, NULL);
    struct th_resp r = apply_for(NULL, &w.inst, program, 50000,
                                 ",\"contract_value_fen\":400000,\"attachments\":[{\"name\":"
                                 "\"contract.pdf\",\"sha256\":\"9f86d081884c7d659a2feaa0c55ad015"
                                 "a3bf4f1b2b0b822cd15d6c15b0f00a08\"}]");
    th_assert_status(&r, 201);
    char *id = strdup(th_str(&r, "id"));
    char *loc = th_header(&r, "Location");
    char want[96];
    snprintf(want, sizeof want, "/v1/applications/%s", id);
    ck_assert_str_eq(loc, want);
    free(loc);
    ck_assert_str_eq(th_str(&r, "status"), "submitted");
    ck_assert_str_eq(th_str(&r, "institute_id"), w.inst_org);
    ck_assert_str_eq(th_str(&r, "attachments.0.name"), "contract.pdf");
    ck_assert_int_eq(th_int(&r, "requested_fen"), 50000);
    th_resp_free(&r);

    ck_assert(list_has(&w.inst, "&status=submitted", id));
    ck_assert(!list_has(&w.inst, "&status=approved", id));
    ck_assert(list_has(&w.admin, "&status=submitted", id));
    ck_assert(list_has(&w.auditor, "", id));
    ck_assert(!list_has(&w.inst2, "", id));
    ck_assert(!list_has(&w.other_admin, "", id));
    const struct th_auth *strangers[] = {&w.inst2, &w.other_admin, &w.other_inst};
    for (int i = 0; i < 3; i++) {
        r = th_req(&w.srv, "GET", want, strangers[i], NULL, NULL);
        th_assert_problem(&r, 404, "not-found");
        th_resp_free(&r);
    }
    r = th_req(&w.srv, "GET", want, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    /* only institutes apply */
    r = apply_for(NULL, &w.admin, program, 100, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    ck_assert_int_eq(audited("application.submit", id), 1);
    free(id);
    free(program);
}
END_TEST

START_TEST(approval_trims_the_amount_and_issues_the_voucher) {
    char *program = world_program(&w, NULL);
    char *id = application(program, 80000);
    struct th_resp r = decide(NULL, &w.admin, id, "approve", "{\"amount_fen\":90000}");
    th_assert_problem(&r, 400, "validation-failed");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "amount_fen");
    th_resp_free(&r);
    /* only the city's administrators decide */
    r = decide(NULL, &w.other_admin, id, "approve", "{}");
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = decide(NULL, &w.inst, id, "approve", "{}");
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);

    r = decide(NULL, &w.admin, id, "approve", "{\"amount_fen\":60000,\"note\":\"trimmed\"}");
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "approved");
    ck_assert_int_eq(th_int(&r, "approved_fen"), 60000);
    ck_assert_str_eq(th_str(&r, "decision_note"), "trimmed");
    char *voucher = strdup(th_str(&r, "voucher_id"));
    th_resp_free(&r);
    char path[96];
    snprintf(path, sizeof path, "/v1/vouchers/%s", voucher);
    r = th_req(&w.srv, "GET", path, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "face_value_fen"), 60000);
    ck_assert_str_eq(th_str(&r, "program_id"), program);
    ck_assert_ptr_nonnull(th_str(&r, "token"));
    th_resp_free(&r);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT issued_fen FROM programs WHERE id = '%s'", program),
                     60000);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT count(*) FROM vouchers WHERE application_id = '%s'", id), 1);
    ck_assert_int_eq(audited("application.approve", id), 1);
    /* decided once */
    r = decide(NULL, &w.admin, id, "approve", NULL);
    th_assert_problem(&r, 409, "application-state-conflict");
    th_resp_free(&r);
    r = decide(NULL, &w.admin, id, "reject", "{\"reason\":\"late\"}");
    th_assert_problem(&r, 409, "application-state-conflict");
    th_resp_free(&r);
    r = decide(NULL, &w.inst, id, "withdraw", NULL);
    th_assert_problem(&r, 409, "application-state-conflict");
    th_resp_free(&r);
    /* without an amount, the amount requested */
    char *id2 = application(program, 1234);
    r = decide(NULL, &w.admin, id2, "approve", NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "approved_fen"), 1234);
    th_resp_free(&r);
    world_ledger_ok(&w);
    free(voucher);
    free(id);
    free(id2);
    free(program);
}
END_TEST

START_TEST(rejection_needs_a_reason_and_withdrawal_frees_the_contract_reference) {
    char *program = world_program(&w, NULL);
    char *id = application(program, 1000);
    struct th_resp r = decide(NULL, &w.admin, id, "reject", "{}");
    th_assert_problem(&r, 400, "validation-failed");
    th_resp_free(&r);
    r = decide(NULL, &w.admin, id, "reject", "{\"reason\":\"no contract attached\"}");
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "rejected");
    ck_assert_str_eq(th_str(&r, "decision_note"), "no contract attached");
    th_resp_free(&r);
    ck_assert_int_eq(audited("application.reject", id), 1);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT count(*) FROM vouchers WHERE program_id = '%s'", program), 0);

    char body[512];
    snprintf(body, sizeof body,
             "{\"program_id\":\"%s\",\"requested_fen\":500,\"purpose\":\"x\","
             "\"contract_reference\":\"SAME-%d\"}",
             program, (int)getpid());
    r = th_req(&w.srv, "POST", "/v1/applications", &w.inst, body, NULL);
    th_assert_status(&r, 201);
    char *id2 = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", "/v1/applications", &w.inst2, body, NULL);
    th_assert_problem(&r, 409, "duplicate");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "contract_reference");
    th_resp_free(&r);
    r = decide(NULL, &w.inst2, id2, "withdraw", NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = decide(NULL, &w.inst, id2, "withdraw", NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "withdrawn");
    th_resp_free(&r);
    ck_assert_int_eq(audited("application.withdraw", id2), 1);
    r = decide(NULL, &w.admin, id2, "approve", NULL);
    th_assert_problem(&r, 409, "application-state-conflict");
    th_resp_free(&r);
    /* a withdrawn application frees its contract reference */
    r = th_req(&w.srv, "POST", "/v1/applications", &w.inst2, body, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    free(id);
    free(id2);
    free(program);
}
END_TEST

/* Each rule refuses a submission with its own problem, naming the field. */
START_TEST(eligibility_is_checked_at_submission) {
    char *program = world_program(&w, "{\"per_institute_cap_fen\":1000,"
                                      "\"per_institute_year_cap_fen\":800,"
                                      "\"per_contract_cap_bp\":2000,"
                                      "\"open_to_all_providers\":false}");
    struct th_resp r = apply_for(NULL, &w.inst, program, 500, NULL);
    th_assert_problem(&r, 400, "validation-failed");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "contract_value_fen");
    th_resp_free(&r);
    r = apply_for(NULL, &w.inst, program, 500, ",\"contract_value_fen\":2000");
    th_assert_problem(&r, 422, "contract-cap-exceeded");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "requested_fen");
    th_resp_free(&r);
    r = apply_for(NULL, &w.inst, program, 900, ",\"contract_value_fen\":100000");
    th_assert_problem(&r, 422, "institute-year-cap-exceeded");
    th_resp_free(&r);
    r = apply_for(NULL, &w.inst, program, 1100, ",\"contract_value_fen\":100000");
    th_assert_problem(&r, 422, "institute-cap-exceeded");
    th_resp_free(&r);
    char extra[160];
    snprintf(extra, sizeof extra, ",\"contract_value_fen\":100000,\"provider_id\":\"%s\"",
             w.prov_org);
    r = apply_for(NULL, &w.inst, program, 100, extra);
    th_assert_problem(&r, 422, "provider-not-accredited");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "provider_id");
    th_resp_free(&r);
    char path[160];
    snprintf(path, sizeof path, "/v1/programs/%s/providers/%s", program, w.prov_org);
    r = th_req(&w.srv, "PUT", path, &w.admin, "{\"status\":\"accredited\"}", NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    char rel[256];
    snprintf(rel, sizeof rel, "{\"provider_id\":\"%s\",\"institute_id\":\"%s\"}", w.prov_org,
             w.inst2_org);
    r = th_req(&w.srv, "POST", "/v1/related-parties", &w.admin, rel, NULL);
    th_assert_status(&r, 201);
    char *rel_id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    r = apply_for(NULL, &w.inst2, program, 100, extra);
    th_assert_problem(&r, 422, "related-parties");
    th_resp_free(&r);
    r = apply_for(NULL, &w.inst, program, 100, extra);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    snprintf(path, sizeof path, "/v1/related-parties/%s", rel_id);
    r = th_req(&w.srv, "DELETE", path, &w.admin, NULL, NULL);
    th_assert_status(&r, 204);
    th_resp_free(&r);
    free(rel_id);

    /* a programme of another city does not exist; a suspended one takes no applications */
    char over[128];
    snprintf(over, sizeof over, "{\"city_id\":\"%s\"}", w.other_city);
    char *body = world_program_body(over);
    char *hami = world_post_id(&w.srv, &w.op, "/v1/programs", body);
    free(body);
    r = apply_for(NULL, &w.inst, hami, 100, NULL);
    th_assert_problem(&r, 404, "not-found");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "program_id");
    th_resp_free(&r);
    char *suspended = suspended_program();
    r = apply_for(NULL, &w.inst, suspended, 100, NULL);
    th_assert_problem(&r, 409, "program-not-active");
    th_resp_free(&r);
    /* malformed fields */
    r = apply_for(NULL, &w.inst, program, 100,
                  ",\"attachments\":[{\"name\":\"a.pdf\",\"sha256\":\"XYZ\"}]");
    th_assert_problem(&r, 400, "validation-failed");
    th_resp_free(&r);
    r = apply_for(NULL, &w.inst, program, 0, NULL);
    th_assert_problem(&r, 400, "validation-failed");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/applications?status=lost", &w.inst, NULL, NULL);
    th_assert_problem(&r, 400, "invalid-query");
    th_resp_free(&r);
    free(hami);
    free(suspended);
    free(program);
}
END_TEST

START_TEST(eligibility_is_checked_again_at_approval) {
    char *program = world_program(&w, "{\"per_institute_cap_fen\":1000}");
    char *a = application(program, 600), *b = application(program, 600);
    struct th_resp r = decide(NULL, &w.admin, a, "approve", NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    r = decide(NULL, &w.admin, b, "approve", NULL);
    th_assert_problem(&r, 422, "institute-cap-exceeded");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "amount_fen");
    th_resp_free(&r);
    /* trimmed to fit, it passes */
    r = decide(NULL, &w.admin, b, "approve", "{\"amount_fen\":400}");
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "approved");
    th_resp_free(&r);
    free(a);
    free(b);
    free(program);
}
END_TEST

START_TEST(an_application_the_budget_cannot_cover_is_waitlisted) {
    char *program = world_program(&w, "{\"budget_fen\":1000}");
    char *a = application(program, 800), *b = application(program, 500);
    struct th_resp r = decide(NULL, &w.admin, a, "approve", NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "approved");
    th_resp_free(&r);
    r = decide(NULL, &w.admin, b, "approve", NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "waitlisted");
    ck_assert(json_is_null(json_object_get(r.json, "voucher_id")));
    th_resp_free(&r);
    ck_assert_int_eq(audited("application.waitlist", b), 1);
    ck_assert(list_has(&w.admin, "&status=waitlisted", b));
    /* the budget grows; the waitlisted application is approved */
    char path[96];
    snprintf(path, sizeof path, "/v1/programs/%s", program);
    const char *match[] = {"If-Match: \"1\"", NULL};
    r = th_req(&w.srv, "PATCH", path, &w.admin, "{\"budget_fen\":2000}", match);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    r = decide(NULL, &w.admin, b, "approve", NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "status"), "approved");
    th_resp_free(&r);
    world_ledger_ok(&w);
    free(a);
    free(b);
    free(program);
}
END_TEST

#define RACE_N 100
struct race {
    char *ids[RACE_N];
    long status[RACE_N];
    char state[RACE_N][16];
};

static void approve_one(int i, void *ctx) {
    struct race *x = ctx;
    struct th_resp r = decide(i % 2 ? &w.srv2 : &w.srv, &w.admin, x->ids[i], "approve", NULL);
    x->status[i] = r.status;
    snprintf(x->state[i], sizeof x->state[i], "%s",
             th_str(&r, "status") ? th_str(&r, "status") : "");
    th_resp_free(&r);
}

/* 100 approvals at once across two server processes, against a budget that covers 10: exactly
 * 10 approved, 90 waitlisted, the budget never overdrawn. */
START_TEST(concurrent_approvals_never_overdraw_the_budget) {
    char *program = world_program(&w, "{\"budget_fen\":10000}");
    struct race x = {0};
    for (int i = 0; i < RACE_N; i++)
        x.ids[i] = application(program, 1000);
    th_parallel(RACE_N, approve_one, &x);
    int approved = 0, waitlisted = 0;
    for (int i = 0; i < RACE_N; i++) {
        ck_assert_msg(x.status[i] == 200, "approval %d answered %ld", i, x.status[i]);
        approved += strcmp(x.state[i], "approved") == 0;
        waitlisted += strcmp(x.state[i], "waitlisted") == 0;
        free(x.ids[i]);
    }
    ck_assert_int_eq(approved, 10);
    ck_assert_int_eq(waitlisted, 90);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT issued_fen FROM programs WHERE id = '%s'", program),
                     10000);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM applications WHERE program_id = '%s' "
                                  "AND status = 'approved'",
                                  program),
                     10);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT count(*) FROM vouchers WHERE program_id = '%s'", program), 10);
    world_ledger_ok(&w);
    free(program);
}
END_TEST

int main(void) {
    Suite *s = suite_create("applications");
    th_shared(up, down);
    th_case(s, an_institute_sees_the_open_programmes_of_its_city_without_balances, 120, NULL, NULL);
    th_case(s, an_application_is_submitted_and_seen_only_by_its_institute_and_city, 120, NULL,
            NULL);
    th_case(s, approval_trims_the_amount_and_issues_the_voucher, 120, NULL, NULL);
    th_case(s, rejection_needs_a_reason_and_withdrawal_frees_the_contract_reference, 120, NULL,
            NULL);
    th_case(s, eligibility_is_checked_at_submission, 120, NULL, NULL);
    th_case(s, eligibility_is_checked_again_at_approval, 120, NULL, NULL);
    th_case(s, an_application_the_budget_cannot_cover_is_waitlisted, 120, NULL, NULL);
    th_case(s, concurrent_approvals_never_overdraw_the_budget, 300, NULL, NULL);
    return th_run(s);
}
