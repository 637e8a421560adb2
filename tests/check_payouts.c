/* check_payouts.c — paying the subsidy out (兑付) and taking it back (追回), issue 14: the
 * settlement statement, payout batches under the two-person rule (propose, approve by another
 * administrator, paid once), Beijing's model (the institute is paid), recoveries offset against
 * unpaid receivable or netted off the next payout as a debt, and two server processes proposing
 * at once, which never put an order in two batches. Every scenario ends with ledger_check. */
#include "world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct world w;
static struct th_auth admin2; /* Chengdu's second administrator */

static void up(void) {
    world_setup(&w, "payouts", WORLD_TWO_SERVERS | WORLD_OFFER);
    th_user(&w.srv, &w.op, "city_admin", w.city, "admin2@chengdu.test", &admin2);
}

static int down(void) {
    return world_teardown(&w);
}

static char *path_of(const char *fmt, const char *id) {
    char *p = malloc(160);
    snprintf(p, 160, fmt, id);
    return p;
}

/* A completed order of Chengdu's first institute on the world's offer (gross 20 000 fen) with
 * subsidy fen from voucher; its id, malloc'd. */
static char *settled_order(const char *voucher, long long subsidy) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2025-06-01T00:00:00Z\","
             "\"end\":\"2025-06-01T10:00:00Z\",\"vouchers\":[{\"voucher_id\":\"%s\","
             "\"amount_fen\":%lld}]}",
             w.offer, voucher, subsidy);
    char *id = world_post_id(&w.srv, &w.inst, "/v1/orders", body);
    char *cp = path_of("/v1/orders/%s/complete", id);
    struct th_resp r = th_req(&w.srv, "POST", cp, &w.prov, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    free(cp);
    return id;
}

/* The order's usage (all 10 reserved unit-hours, so the bill is unchanged) reported and
 * accepted: its subsidy is payable now. */
static void make_due(const char *order) {
    world_usage_accepted(&w, &w.prov, &w.inst, order, "10");
}

static char *due_order(const char *voucher, long long subsidy) {
    char *id = settled_order(voucher, subsidy);
    make_due(id);
    return id;
}

static struct th_resp propose(const struct th_server *s, const struct th_auth *by,
                              const char *program) {
    char body[128];
    snprintf(body, sizeof body, "{\"program_id\":\"%s\"}", program);
    return th_req(s ? s : &w.srv, "POST", "/v1/payouts", by, body, NULL);
}

/* Proposes the programme's due lines (one payee expected); the payout's id, malloc'd. */
static char *proposed(const char *program) {
    struct th_resp r = propose(NULL, &w.admin, program);
    th_assert_status(&r, 201);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    char *id = strdup(th_str(&r, "items.0.id"));
    th_resp_free(&r);
    return id;
}

static struct th_resp step(const struct th_auth *by, const char *payout, const char *what,
                           const char *body) {
    char path[160];
    snprintf(path, sizeof path, "/v1/payouts/%s/%s", payout, what);
    return th_req(&w.srv, "POST", path, by, body, NULL);
}

static void approve_and_pay(const char *payout) {
    struct th_resp r = step(&admin2, payout, "approve", NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    r = step(&w.admin, payout, "paid", "{\"transfer_reference\":\"CNAPS-2026-0001\"}");
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "state"), "paid");
    th_resp_free(&r);
}

static long long balance(const char *kind, const char *account, const char *program) {
    return world_sql_ll(&w,
                        "SELECT coalesce(sum(amount_fen), 0) FROM ledger_postings WHERE "
                        "account_kind = '%s' AND account_id = '%s' AND program_id = '%s'",
                        kind, account, program);
}

static long long audited(const char *action, const char *id) {
    return world_sql_ll(&w,
                        "SELECT count(*) FROM audit_events WHERE action = '%s' AND "
                        "subject_id = '%s'",
                        action, id);
}

/* The settlement line of order in the statement as by sees it (NULL: absent); the caller
 * frees *r. */
static json_t *statement_line(const struct th_auth *by, const char *query, const char *order,
                              struct th_resp *r) {
    char path[256];
    snprintf(path, sizeof path, "/v1/settlements?limit=200%s", query);
    *r = th_req(&w.srv, "GET", path, by, NULL, NULL);
    th_assert_status(r, 200);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r->json, "items"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "order_id")), order) == 0)
            return e;
    }
    return NULL;
}

static const char *line_state(const struct th_auth *by, const char *order, char out[16]) {
    struct th_resp r;
    json_t *e = statement_line(by, "", order, &r);
    snprintf(out, 16, "%s", e ? json_string_value(json_object_get(e, "payout_state")) : "absent");
    th_resp_free(&r);
    return out;
}

START_TEST(a_payout_is_proposed_approved_by_a_second_administrator_and_paid_once) {
    char *program = world_program(&w, NULL);
    char *v = world_voucher_id(&w, program, w.inst_org, 100000);
    char *a = due_order(v, 2500), *b = due_order(v, 1000);
    char *c = settled_order(v, 700); /* completed, usage not accepted: not due */
    char st[16];
    ck_assert_str_eq(line_state(&w.prov, a, st), "due");
    ck_assert_str_eq(line_state(&w.prov, c, st), "absent");

    struct th_resp r = propose(NULL, &w.admin, program);
    th_assert_status(&r, 201);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    ck_assert_str_eq(th_str(&r, "items.0.state"), "proposed");
    ck_assert_str_eq(th_str(&r, "items.0.payee_kind"), "provider");
    ck_assert_str_eq(th_str(&r, "items.0.payee_id"), w.prov_org);
    ck_assert_int_eq(th_int(&r, "items.0.gross_fen"), 3500);
    ck_assert_int_eq(th_int(&r, "items.0.total_fen"), 3500);
    ck_assert_int_eq(th_int(&r, "items.0.item_count"), 2);
    char *p = strdup(th_str(&r, "items.0.id"));
    th_resp_free(&r);
    ck_assert_str_eq(line_state(&w.prov, a, st), "proposed");
    /* the same lines are in no second batch */
    r = propose(NULL, &w.admin, program);
    th_assert_problem(&r, 409, "nothing-payable");
    th_resp_free(&r);

    /* paying before approval, approving one's own proposal */
    r = step(&w.admin, p, "paid", "{\"transfer_reference\":\"CNAPS-1\"}");
    th_assert_problem(&r, 409, "payout-state-conflict");
    th_resp_free(&r);
    r = step(&w.admin, p, "approve", NULL);
    th_assert_problem(&r, 403, "two-person-rule");
    th_resp_free(&r);
    r = step(&admin2, p, "approve", NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "state"), "approved");
    ck_assert_str_eq(th_str(&r, "approved_by"), admin2.user_id);
    th_resp_free(&r);
    r = step(&admin2, p, "approve", NULL);
    th_assert_problem(&r, 409, "payout-state-conflict");
    th_resp_free(&r);
    ck_assert_int_eq(balance("payee_paid", w.prov_org, program), 0);
    r = step(&w.admin, p, "paid", "{}");
    th_assert_problem(&r, 400, "validation-failed");
    th_resp_free(&r);

    r = step(&w.admin, p, "paid", "{\"transfer_reference\":\"CNAPS-2026-0001\"}");
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "state"), "paid");
    ck_assert_str_eq(th_str(&r, "transfer_reference"), "CNAPS-2026-0001");
    th_resp_free(&r);
    r = step(&w.admin, p, "paid", "{\"transfer_reference\":\"CNAPS-2026-0002\"}");
    th_assert_problem(&r, 409, "payout-state-conflict");
    th_resp_free(&r);

    ck_assert_int_eq(balance("payee_paid", w.prov_org, program), 3500);
    ck_assert_int_eq(balance("provider_receivable", w.prov_org, program), 700);
    ck_assert_str_eq(line_state(&w.prov, a, st), "paid");
    ck_assert_str_eq(line_state(&w.admin, b, st), "paid");
    ck_assert_int_eq(audited("payout.propose", p), 1);
    ck_assert_int_eq(audited("payout.approve", p), 1);
    ck_assert_int_eq(audited("payout.paid", p), 1);

    /* the third order once due is the next batch */
    make_due(c);
    char *q = proposed(program);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT total_fen FROM payouts WHERE id = '%s'", q), 700);
    world_ledger_ok(&w);
    free(q);
    free(p);
    free(a);
    free(b);
    free(c);
    free(v);
    free(program);
}
END_TEST

START_TEST(payouts_are_seen_by_their_city_and_payee_only) {
    char *program = world_program(&w, NULL);
    char *v = world_voucher_id(&w, program, w.inst_org, 100000);
    char *o = due_order(v, 1200);
    /* wrong roles, foreign programmes */
    struct th_resp r = propose(NULL, &w.inst, program);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = propose(NULL, &w.auditor, program);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = propose(NULL, &w.other_admin, program);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    char *p = proposed(program);
    char *gp = path_of("/v1/payouts/%s", p);
    const struct th_auth *seeing[] = {&w.admin, &admin2, &w.auditor, &w.prov, &w.op};
    for (int i = 0; i < 5; i++) {
        r = th_req(&w.srv, "GET", gp, seeing[i], NULL, NULL);
        th_assert_status(&r, 200);
        ck_assert_str_eq(th_str(&r, "items.0.order_id"), o);
        th_resp_free(&r);
    }
    const struct th_auth *strangers[] = {&w.prov2, &w.inst, &w.other_admin, &w.other_auditor,
                                         &w.other_prov};
    for (int i = 0; i < 5; i++) {
        r = th_req(&w.srv, "GET", gp, strangers[i], NULL, NULL);
        th_assert_problem(&r, 404, "not-found");
        th_resp_free(&r);
    }
    r = step(&w.other_admin, p, "approve", NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = step(&w.auditor, p, "approve", NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = step(&w.prov, p, "paid", "{\"transfer_reference\":\"x\"}");
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    /* lists */
    char lp[160];
    snprintf(lp, sizeof lp, "/v1/payouts?limit=200&payee_id=%s&state=proposed", w.prov_org);
    r = th_req(&w.srv, "GET", lp, &w.prov, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_ge(json_array_size(json_object_get(r.json, "items")), 1);
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", lp, &w.prov2, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", lp, &w.other_admin, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    th_resp_free(&r);
    /* the statement: a provider sees its own; a foreign provider_id does not exist */
    char q[128];
    snprintf(q, sizeof q, "/v1/settlements?provider_id=%s", w.prov_org);
    r = th_req(&w.srv, "GET", q, &w.prov2, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", q, &w.other_admin, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", q, &w.inst, NULL, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    struct th_resp s;
    snprintf(q, sizeof q, "&provider_id=%s", w.prov_org);
    ck_assert_ptr_nonnull(statement_line(&w.auditor, q, o, &s));
    th_resp_free(&s);
    ck_assert_ptr_null(statement_line(&w.prov2, "", o, &s));
    th_resp_free(&s);
    world_ledger_ok(&w);
    free(gp);
    free(p);
    free(o);
    free(v);
    free(program);
}
END_TEST

START_TEST(the_statement_is_json_and_csv_over_a_period) {
    char *program = world_program(&w, NULL);
    char *v = world_voucher_id(&w, program, w.inst_org, 100000);
    char *o = due_order(v, 3300);
    struct th_resp r;
    json_t *e = statement_line(&w.prov, "&from=2020-01-01T00:00:00Z", o, &r);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "gross_fen")), 20000);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "subsidy_fen")), 3300);
    json_t *g = json_array_get(json_object_get(e, "programs"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(g, "program_id")), program);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "settled_fen")), 3300);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "receivable_fen")), 3300);
    th_resp_free(&r);
    ck_assert_ptr_null(statement_line(&w.prov, "&to=2020-01-01T00:00:00Z", o, &r));
    th_resp_free(&r);

    r = th_req(&w.srv, "GET", "/v1/settlements?format=csv", &w.prov, NULL, NULL);
    th_assert_status(&r, 200);
    char *ct = th_header(&r, "Content-Type");
    ck_assert_ptr_nonnull(strstr(ct, "text/csv"));
    free(ct);
    ck_assert_ptr_nonnull(strstr(r.body, "order_id,usage_accepted_at,provider_id"));
    ck_assert_ptr_nonnull(strstr(r.body, o));
    th_resp_free(&r);
    const char *csv[] = {"Accept: text/csv", NULL};
    r = th_req(&w.srv, "GET", "/v1/settlements", &w.admin, NULL, csv);
    th_assert_status(&r, 200);
    ck_assert_ptr_nonnull(strstr(r.body, o));
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/settlements?format=xml", &w.admin, NULL, NULL);
    th_assert_problem(&r, 400, "invalid-query");
    th_resp_free(&r);
    free(o);
    free(v);
    free(program);
}
END_TEST

START_TEST(a_programme_that_pays_the_buyer_pays_the_institute) {
    char *program = world_program(&w, NULL);
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE programs SET payee = 'institute' WHERE id = '%s'", program);
    free(th_sql(w.dburl, sql));
    char *v = world_voucher_id(&w, program, w.inst_org, 100000);
    char *o = due_order(v, 1500);
    struct th_resp r = propose(NULL, &w.admin, program);
    th_assert_status(&r, 201);
    ck_assert_str_eq(th_str(&r, "items.0.payee_kind"), "institute");
    ck_assert_str_eq(th_str(&r, "items.0.payee_id"), w.inst_org);
    char *p = strdup(th_str(&r, "items.0.id"));
    th_resp_free(&r);
    char *gp = path_of("/v1/payouts/%s", p);
    r = th_req(&w.srv, "GET", gp, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", gp, &w.prov, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    approve_and_pay(p);
    ck_assert_int_eq(balance("payee_paid", w.inst_org, program), 1500);
    ck_assert_int_eq(balance("provider_receivable", w.prov_org, program), 0);
    world_ledger_ok(&w);
    free(gp);
    free(p);
    free(o);
    free(v);
    free(program);
}
END_TEST

START_TEST(co_funded_payouts_are_paid_per_funder_share) {
    char *program = world_program(&w, "{\"funders\":[{\"funder\":\"city\",\"share_bp\":6000},"
                                      "{\"funder\":\"province\",\"share_bp\":4000}]}");
    char *v = world_voucher_id(&w, program, w.inst_org, 100000);
    char *o = due_order(v, 1000);
    char *p = proposed(program);
    approve_and_pay(p);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT coalesce(sum(l.amount_fen), 0) FROM ledger_postings l "
                                  "JOIN ledger_entries e ON e.id = l.entry_id WHERE e.payout_id = "
                                  "'%s' AND e.funder = 'province' AND l.account_kind = "
                                  "'payee_paid'",
                                  p),
                     400);
    ck_assert_int_eq(balance("payee_paid", w.prov_org, program), 1000);
    world_ledger_ok(&w);
    free(p);
    free(o);
    free(v);
    free(program);
}
END_TEST

static struct th_resp recover(const struct th_auth *by, const char *order, long long fen,
                              const char *extra) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"order_id\":\"%s\",\"amount_fen\":%lld,\"reason\":\"GPU hours not delivered\"%s}",
             order, fen, extra ? extra : "");
    return th_req(&w.srv, "POST", "/v1/recoveries", by, body, NULL);
}

START_TEST(a_recovery_offsets_unpaid_receivable_and_the_rest_is_netted_by_the_next_payout) {
    char *program = world_program(&w, NULL);
    char *v = world_voucher_id(&w, program, w.inst_org, 100000);
    /* completed but its usage not accepted: nothing is settled yet, nothing changes */
    char *a = settled_order(v, 3000);
    struct th_resp r = recover(&w.admin, a, 1000, NULL);
    th_assert_problem(&r, 409, "usage-state-conflict");
    th_resp_free(&r);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT count(*) FROM recoveries WHERE order_id = '%s'", a),
                     0);
    make_due(a);
    /* offset: the order's receivable is in no payout yet */
    r = recover(&w.admin, a, 1000, NULL);
    th_assert_status(&r, 201);
    ck_assert_int_eq(th_int(&r, "offset_fen"), 1000);
    ck_assert_int_eq(th_int(&r, "debt_fen"), 0);
    ck_assert_str_eq(th_str(&r, "debtor"), "provider");
    char *r1 = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    ck_assert_int_eq(audited("recovery.create", r1), 1);
    ck_assert_int_eq(balance("provider_receivable", w.prov_org, program), 2000);
    char *p = proposed(program);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT total_fen FROM payouts WHERE id = '%s'", p), 2000);
    approve_and_pay(p);
    /* above what was settled and not yet recovered */
    r = recover(&w.admin, a, 2001, NULL);
    th_assert_problem(&r, 422, "recovery-exceeds-settled");
    th_resp_free(&r);
    /* wrong roles and foreign orders */
    r = recover(&w.auditor, a, 100, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = recover(&w.other_admin, a, 100, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    /* the rest was paid: a debt of the provider */
    r = recover(&w.admin, a, 1500, NULL);
    th_assert_status(&r, 201);
    ck_assert_int_eq(th_int(&r, "offset_fen"), 0);
    ck_assert_int_eq(th_int(&r, "debt_fen"), 1500);
    ck_assert_int_eq(th_int(&r, "debt_open_fen"), 1500);
    char *r2 = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    ck_assert_int_eq(balance("payee_debt", w.prov_org, program), -1500);
    world_ledger_ok(&w);
    /* the provider sees its debt; the next payout nets it off */
    char lp[160];
    snprintf(lp, sizeof lp, "/v1/recoveries?order_id=%s", a);
    r = th_req(&w.srv, "GET", lp, &w.prov, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 2);
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", lp, &w.prov2, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    th_resp_free(&r);
    char *b = due_order(v, 4000);
    r = propose(NULL, &w.admin, program);
    th_assert_status(&r, 201);
    ck_assert_int_eq(th_int(&r, "items.0.gross_fen"), 4000);
    ck_assert_int_eq(th_int(&r, "items.0.netted_fen"), 1500);
    ck_assert_int_eq(th_int(&r, "items.0.total_fen"), 2500);
    char *q = strdup(th_str(&r, "items.0.id"));
    th_resp_free(&r);
    approve_and_pay(q);
    ck_assert_int_eq(balance("payee_debt", w.prov_org, program), 0);
    ck_assert_int_eq(balance("payee_paid", w.prov_org, program), 4500);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT debt_fen - netted_fen FROM recoveries WHERE id = '%s'", r2), 0);
    /* the recoveries show among the anomaly flags */
    r = th_req(&w.srv, "GET", "/v1/reports/anomalies?limit=200", &w.auditor, NULL, NULL);
    th_assert_status(&r, 200);
    bool flagged = false;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "items"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "kind")), "recovery") == 0 &&
            strcmp(json_string_value(json_object_get(e, "subject_id")), w.prov_org) == 0 &&
            strcmp(json_string_value(json_object_get(e, "program_id")), program) == 0)
            flagged = true;
    }
    th_resp_free(&r);
    ck_assert(flagged);
    /* and in the subsidies report */
    r = th_req(&w.srv, "GET", "/v1/reports/subsidies?group_by=program,provider", &w.auditor, NULL,
               NULL);
    th_assert_status(&r, 200);
    long long recovered = -1;
    json_array_foreach(json_object_get(r.json, "items"), i, e) {
        const char *pg = json_string_value(json_object_get(e, "program_id"));
        const char *pv = json_string_value(json_object_get(e, "provider_id"));
        if (pg && pv && strcmp(pg, program) == 0 && strcmp(pv, w.prov_org) == 0)
            recovered = json_integer_value(json_object_get(e, "recovered_fen"));
    }
    th_resp_free(&r);
    ck_assert_int_eq(recovered, 2500);
    world_ledger_ok(&w);
    free(q);
    free(b);
    free(p);
    free(r1);
    free(r2);
    free(a);
    free(v);
    free(program);
}
END_TEST

START_TEST(a_recovery_restores_the_voucher_only_when_asked) {
    char *program = world_program(&w, NULL);
    char *v = world_voucher_id(&w, program, w.inst_org, 10000);
    char *o = due_order(v, 2000);
    char *vp = path_of("/v1/vouchers/%s", v);
    ck_assert_int_eq(world_get_int(&w, &w.inst, vp, "balance_fen"), 8000);
    struct th_resp r = recover(&w.admin, o, 300, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    ck_assert_int_eq(world_get_int(&w, &w.inst, vp, "balance_fen"), 8000);
    r = recover(&w.admin, o, 500, ",\"restore_voucher\":true,\"debtor\":\"institute\"");
    th_assert_status(&r, 201);
    ck_assert_int_eq(th_int(&r, "restored_fen"), 500);
    ck_assert_str_eq(th_str(&r, "debtor"), "institute");
    ck_assert_str_eq(th_str(&r, "debtor_id"), w.inst_org);
    th_resp_free(&r);
    ck_assert_int_eq(world_get_int(&w, &w.inst, vp, "balance_fen"), 8500);
    ck_assert_int_eq(balance("program_recovered", program, program), 300);
    world_ledger_ok(&w);
    free(vp);
    free(o);
    free(v);
    free(program);
}
END_TEST

/* ==== two processes proposing at once ===================================================== */

#define ROUNDS 4
#define ORDERS_PER_ROUND 15
#define PROPOSERS 6

struct race {
    const char *program;
    long status[PROPOSERS];
};

static void propose_one(int i, void *ctx) {
    struct race *x = ctx;
    struct th_resp r = propose(i % 2 ? &w.srv2 : &w.srv, i % 3 ? &w.admin : &admin2, x->program);
    x->status[i] = r.status;
    th_resp_free(&r);
}

/* Rounds of fresh due orders, each proposed by six requests at once over two server processes:
 * every order ends in exactly one batch and the batches add up to the subsidies. */
START_TEST(concurrent_proposals_on_two_servers_put_each_order_in_exactly_one_payout) {
    char *program = world_program(&w, NULL);
    char *v = world_voucher_id(&w, program, w.inst_org, 10000000);
    long long expected = 0;
    int created = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < ORDERS_PER_ROUND; i++) {
            long long fen = 100 + round * 10 + i;
            free(due_order(v, fen));
            expected += fen;
            created++;
        }
        struct race x = {.program = program};
        th_parallel(PROPOSERS, propose_one, &x);
        int made = 0;
        for (int i = 0; i < PROPOSERS; i++) {
            ck_assert_msg(x.status[i] == 201 || x.status[i] == 409, "proposal %d answered %ld", i,
                          x.status[i]);
            made += x.status[i] == 201;
        }
        ck_assert_int_ge(made, 1);
    }
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM (SELECT i.order_id FROM payout_items i "
                                  "JOIN payouts p ON p.id = i.payout_id WHERE i.program_id = '%s' "
                                  "AND i.kind = 'order' GROUP BY i.order_id HAVING count(*) = 1) x",
                                  program),
                     created);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT count(*) FROM payout_items WHERE program_id = '%s'", program),
        created);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT coalesce(sum(total_fen), 0) FROM payouts p WHERE "
                                  "EXISTS (SELECT 1 FROM payout_items i WHERE i.payout_id = p.id "
                                  "AND i.program_id = '%s')",
                                  program),
                     expected);
    /* paying every batch moves exactly the subsidies */
    struct th_resp r;
    char lp[200];
    snprintf(lp, sizeof lp, "/v1/payouts?limit=200&state=proposed&payee_id=%s", w.prov_org);
    r = th_req(&w.srv, "GET", lp, &w.admin, NULL, NULL);
    th_assert_status(&r, 200);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "items"), i, e) {
        const char *id = json_string_value(json_object_get(e, "id"));
        const char *by = json_string_value(json_object_get(e, "proposed_by"));
        struct th_resp s =
            step(strcmp(by, admin2.user_id) == 0 ? &w.admin : &admin2, id, "approve", NULL);
        th_assert_status(&s, 200);
        th_resp_free(&s);
        s = step(&w.admin, id, "paid", "{\"transfer_reference\":\"CNAPS-RACE\"}");
        th_assert_status(&s, 200);
        th_resp_free(&s);
    }
    th_resp_free(&r);
    ck_assert_int_eq(balance("payee_paid", w.prov_org, program), expected);
    ck_assert_int_eq(balance("provider_receivable", w.prov_org, program), 0);
    world_ledger_ok(&w);
    free(v);
    free(program);
}
END_TEST

int main(void) {
    Suite *s = suite_create("payouts");
    th_shared(up, down);
    th_case(s, a_payout_is_proposed_approved_by_a_second_administrator_and_paid_once, 120, NULL,
            NULL);
    th_case(s, payouts_are_seen_by_their_city_and_payee_only, 120, NULL, NULL);
    th_case(s, the_statement_is_json_and_csv_over_a_period, 120, NULL, NULL);
    th_case(s, a_programme_that_pays_the_buyer_pays_the_institute, 120, NULL, NULL);
    th_case(s, co_funded_payouts_are_paid_per_funder_share, 120, NULL, NULL);
    th_case(s, a_recovery_offsets_unpaid_receivable_and_the_rest_is_netted_by_the_next_payout, 120,
            NULL, NULL);
    th_case(s, a_recovery_restores_the_voucher_only_when_asked, 120, NULL, NULL);
    th_case(s, concurrent_proposals_on_two_servers_put_each_order_in_exactly_one_payout, 600, NULL,
            NULL);
    return th_run(s);
}
