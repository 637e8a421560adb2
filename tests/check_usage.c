/* check_usage.c — delivery and usage-based billing (issue 14) against two suanlid processes on
 * one database: the provider of a completed order reports the unit-hours it delivered, the
 * institute accepts (re-billing the order: the unused subsidy goes back to the voucher, or to
 * the programme once the voucher has expired) or disputes it within the programme's window,
 * silence accepts it through the maintenance tick; the buyer's payments up to the net amount;
 * programmes that settle only after the buyer pays; co-funded returns per funder. Every
 * refusal has its problem type and changes nothing; ledger_check() is ok after each case. */
#include "world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct world w;
static char *program; /* max_subsidy_bp 5000, budget 100 000 000, usage_dispute_days 7 */

static void up(void) {
    world_setup(&w, "usage", WORLD_TWO_SERVERS | WORLD_OFFER);
}

static int down(void) {
    return world_teardown(&w);
}

static void setup(void) {
    program = world_program(&w, NULL);
}

static void teardown(void) {
    world_ledger_ok(&w);
    free(program);
}

/* ==== helpers ============================================================================= */

#define SHA_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA_B "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
#define EVIDENCE "[{\"name\":\"meter-2025-06.csv\",\"sha256\":\"" SHA_A "\"}]"

static char *path_of(const char *fmt, const char *id) {
    char *p;
    ck_assert(asprintf(&p, fmt, id) > 0);
    return p;
}

/* POST path_fmt (with the order id) as by on srv or srv2, body may be NULL. */
static struct th_resp post(const struct th_server *s, const struct th_auth *by,
                           const char *path_fmt, const char *order, const char *body) {
    char *p = path_of(path_fmt, order);
    struct th_resp r = th_req(s ? s : &w.srv, "POST", p, by, body, NULL);
    free(p);
    return r;
}

static struct th_resp get(const struct th_auth *by, const char *path_fmt, const char *order) {
    char *p = path_of(path_fmt, order);
    struct th_resp r = th_req(&w.srv, "GET", p, by, NULL, NULL);
    free(p);
    return r;
}

/* Reports unit_hours (a JSON number text) with one evidence item as the world's provider. */
static struct th_resp report(const struct th_server *s, const char *order, const char *hours) {
    char body[256];
    snprintf(body, sizeof body, "{\"unit_hours\":%s,\"availability\":0.995,\"evidence\":%s}", hours,
             EVIDENCE);
    return post(s, &w.prov, "/v1/orders/%s/usage", order, body);
}

static void expect(struct th_resp r, long status) {
    th_assert_status(&r, status);
    th_resp_free(&r);
}

static void expect_problem(struct th_resp r, long status, const char *slug) {
    th_assert_problem(&r, status, slug);
    th_resp_free(&r);
}

/* A completed order of 1 unit × 10 hours (gross 20 000) in the past, with voucher (of prog,
 * when not NULL) paying subsidy of it. */
static char *completed_order(const char *voucher, long long subsidy) {
    char *o = world_order(&w, &w.inst, NULL, 1, 10, "2025-06-01T00:00:00Z");
    if (voucher != NULL) {
        char body[200];
        snprintf(body, sizeof body,
                 "{\"voucher_id\":\"%s\",\"order_id\":\"%s\",\"amount_fen\":%lld}", voucher, o,
                 subsidy);
        expect(th_req(&w.srv, "POST", "/v1/redemptions", &w.inst, body, NULL), 201);
    }
    expect(post(NULL, &w.prov, "/v1/orders/%s/complete", o, NULL), 200);
    return o;
}

static long long order_ll(const char *order, const char *column) {
    return world_sql_ll(&w, "SELECT %s FROM orders WHERE id = '%s'", column, order);
}

static long long receivable(const char *order) {
    return world_sql_ll(&w,
                        "SELECT coalesce(sum(p.amount_fen), 0) FROM ledger_postings p JOIN "
                        "ledger_entries e ON e.id = p.entry_id WHERE p.account_kind = "
                        "'provider_receivable' AND e.order_id = '%s'",
                        order);
}

static long long audit_count(const char *action, const char *order) {
    return world_sql_ll(
        &w, "SELECT count(*) FROM audit_events WHERE action = '%s' AND subject_id = '%s'", action,
        order);
}

/* Moves the pending report's window of order into the past (as if its days had passed). */
static void close_window(const char *order) {
    char sql[200];
    snprintf(sql, sizeof sql,
             "UPDATE order_usage_reports SET accept_by = now() - interval '1 second' "
             "WHERE order_id = '%s' AND state = 'reported'",
             order);
    free(th_sql(w.dburl, sql));
}

/* ==== the happy paths ===================================================================== */

START_TEST(accepting_usage_rebills_the_order_and_returns_the_subsidy_to_the_voucher) {
    char *v = world_voucher_id(&w, program, w.inst_org, 10000);
    char *o = completed_order(v, 8000); /* gross 20 000, subsidy 8 000 */
    ck_assert_int_eq(receivable(o), 8000);

    struct th_resp r = report(&w.srv2, o, "5"); /* half the 10 reserved unit-hours */
    th_assert_status(&r, 201);
    ck_assert_str_eq(th_str(&r, "state"), "reported");
    ck_assert_str_eq(th_str(&r, "order_id"), o);
    th_resp_free(&r);
    /* reporting changes no money */
    ck_assert_int_eq(receivable(o), 8000);
    ck_assert_int_eq(order_ll(o, "gross_fen"), 20000);

    /* the history: the provider, the institute, the city's staff; not the others */
    const struct th_auth *see[] = {&w.prov, &w.inst, &w.admin, &w.auditor, &w.op};
    for (int i = 0; i < 5; i++) {
        r = get(see[i], "/v1/orders/%s/usage", o);
        th_assert_status(&r, 200);
        ck_assert_str_eq(th_str(&r, "usage_state"), "reported");
        ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
        ck_assert_int_eq(th_int(&r, "window_days"), 7);
        th_resp_free(&r);
    }
    const struct th_auth *not_see[] = {&w.prov2, &w.inst2, &w.other_admin, &w.other_auditor};
    for (int i = 0; i < 4; i++)
        expect_problem(get(not_see[i], "/v1/orders/%s/usage", o), 404, "not-found");

    r = post(&w.srv2, &w.inst, "/v1/orders/%s/usage/accept", o, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "usage_state"), "accepted");
    ck_assert_int_eq(th_int(&r, "reserved_gross_fen"), 20000);
    ck_assert_int_eq(th_int(&r, "reserved_subsidy_fen"), 8000);
    ck_assert_int_eq(th_int(&r, "gross_fen"), 10000);
    ck_assert_int_eq(th_int(&r, "subsidy_fen"), 4000); /* in proportion */
    ck_assert_int_eq(th_int(&r, "net_fen"), 6000);
    ck_assert_int_eq(th_int(&r, "buyer_paid_fen"), 0);
    ck_assert_ptr_nonnull(th_str(&r, "due_at")); /* no programme waits for the buyer */
    ck_assert_ptr_nonnull(th_str(&r, "usage_accepted_at"));
    th_resp_free(&r);

    /* the 4 000 not used went back to the voucher; the provider is owed 4 000 */
    char *vp = path_of("/v1/vouchers/%s", v);
    ck_assert_int_eq(world_get_int(&w, &w.inst, vp, "balance_fen"), 6000);
    ck_assert_int_eq(receivable(o), 4000);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM ledger_entries WHERE kind = "
                                  "'usage_adjust' AND order_id = '%s'",
                                  o),
                     1);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT redeemed_fen FROM program_institute_totals WHERE "
                                  "program_id = '%s' AND institute_id = '%s'",
                                  program, w.inst_org),
                     4000);
    r = get(&w.inst, "/v1/orders/%s", o);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "usage_state"), "accepted");
    ck_assert_int_eq(th_int(&r, "subsidy_fen"), 4000);
    th_resp_free(&r);
    r = get(&w.prov, "/v1/orders/%s/usage", o);
    th_assert_status(&r, 200);
    json_t *item = json_array_get(json_object_get(r.json, "items"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(item, "state")), "accepted");
    ck_assert(json_is_false(json_object_get(item, "accepted_by_silence")));
    ck_assert_str_eq(json_string_value(json_object_get(item, "decided_by")), w.inst.user_id);
    th_resp_free(&r);
    ck_assert_int_eq(audit_count("usage.report", o), 1);
    ck_assert_int_eq(audit_count("usage.accept", o), 1);

    /* accepted is final */
    expect_problem(report(NULL, o, "4"), 409, "usage-state-conflict");
    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/usage/accept", o, NULL), 409,
                   "usage-state-conflict");
    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/usage/dispute", o, "{\"reason\":\"late\"}"),
                   409, "usage-state-conflict");
    world_ledger_ok(&w);
    free(vp);
    free(o);
    free(v);
}
END_TEST

START_TEST(a_dispute_lets_the_provider_report_again_and_the_new_report_supersedes_it) {
    char *v = world_voucher_id(&w, program, w.inst_org, 10000);
    char *o = completed_order(v, 5000);
    expect(report(NULL, o, "10"), 201);
    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/usage/dispute", o, "{}"), 400,
                   "validation-failed");
    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/usage/dispute", o, "{\"reason\":\"\"}"), 400,
                   "validation-failed");
    struct th_resp r = post(&w.srv2, &w.inst, "/v1/orders/%s/usage/dispute", o,
                            "{\"reason\":\"the meter shows 7.5 unit-hours\"}");
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "state"), "disputed");
    ck_assert_str_eq(th_str(&r, "dispute_reason"), "the meter shows 7.5 unit-hours");
    th_resp_free(&r);
    ck_assert_int_eq(receivable(o), 5000); /* nothing moves on a dispute */
    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/usage/accept", o, NULL), 409,
                   "usage-state-conflict");
    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/payments", o,
                        "{\"amount_fen\":100,\"reference\":\"early\"}"),
                   409, "usage-state-conflict");

    expect(report(NULL, o, "7.5"), 201);
    r = get(&w.inst, "/v1/orders/%s/usage", o);
    th_assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    ck_assert_int_eq(json_array_size(items), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "state")),
                     "reported");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 1), "state")),
                     "superseded");
    th_resp_free(&r);
    r = post(NULL, &w.inst, "/v1/orders/%s/usage/accept", o, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "gross_fen"), 15000); /* 7.5 × 2 000 */
    ck_assert_int_eq(th_int(&r, "subsidy_fen"), 3750);
    th_resp_free(&r);
    ck_assert_int_eq(receivable(o), 3750);
    ck_assert_int_eq(audit_count("usage.dispute", o), 1);
    ck_assert_int_eq(audit_count("usage.report", o), 2);
    world_ledger_ok(&w);
    free(o);
    free(v);
}
END_TEST

START_TEST(silence_accepts_the_usage_through_the_maintenance_tick) {
    char *v = world_voucher_id(&w, program, w.inst_org, 10000);
    char *o = completed_order(v, 6000);
    expect(report(NULL, o, "2.5"), 201);
    close_window(o);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT usage_state FROM orders WHERE id = '%s'", o);
    ck_assert_msg(th_sql_wait(w.dburl, sql, "accepted", 30000),
                  "the maintenance tick did not accept the silent report within 30 s");
    struct th_resp r = get(&w.inst, "/v1/orders/%s/usage", o);
    th_assert_status(&r, 200);
    json_t *item = json_array_get(json_object_get(r.json, "items"), 0);
    ck_assert(json_is_true(json_object_get(item, "accepted_by_silence")));
    ck_assert(json_is_null(json_object_get(item, "decided_by")));
    th_resp_free(&r);
    ck_assert_int_eq(order_ll(o, "gross_fen"), 5000);
    ck_assert_int_eq(order_ll(o, "subsidy_fen"), 1500);
    ck_assert_int_eq(receivable(o), 1500);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT balance_fen FROM vouchers WHERE id = '%s'", v),
                     4000 + 4500);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM audit_events WHERE action = "
                                  "'usage.accept' AND subject_id = '%s' AND actor_role = 'system'",
                                  o),
                     1);
    world_ledger_ok(&w);
    free(o);
    free(v);
}
END_TEST

START_TEST(the_unused_subsidy_of_an_expired_voucher_returns_to_the_programme) {
    char soon[32];
    struct th_resp r = world_voucher(&w, program, w.inst_org, 9000, world_time(soon, 3), NULL);
    char *v = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    char *o = completed_order(v, 9000);
    th_wait_past(w.dburl, soon, 15000);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT status FROM vouchers WHERE id = '%s'", v);
    ck_assert(th_sql_wait(w.dburl, sql, "expired", 30000));
    long long released0 =
        world_sql_ll(&w, "SELECT released_fen FROM programs WHERE id = '%s'", program);
    expect(report(NULL, o, "1"), 201);
    r = post(NULL, &w.inst, "/v1/orders/%s/usage/accept", o, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "gross_fen"), 2000);
    ck_assert_int_eq(th_int(&r, "subsidy_fen"), 900);
    th_resp_free(&r);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT released_fen FROM programs WHERE id = '%s'", program),
                     released0 + 8100);
    ck_assert_int_eq(world_sql_ll(&w, "SELECT balance_fen FROM vouchers WHERE id = '%s'", v), 0);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM redemptions WHERE order_id = '%s' AND "
                                  "usage_returned_to = 'program' AND usage_returned_fen = 8100",
                                  o),
                     1);
    ck_assert_int_eq(receivable(o), 900);
    world_ledger_ok(&w);
    free(o);
    free(v);
}
END_TEST

START_TEST(a_co_funded_subsidy_returns_share_by_share) {
    char *p = world_program(&w, "{\"funders\":[{\"funder\":\"province\",\"share_bp\":6000},"
                                "{\"funder\":\"city\",\"share_bp\":4000}]}");
    char *v = world_voucher_id(&w, p, w.inst_org, 10000);
    char *o = completed_order(v, 5001);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM ledger_entries WHERE kind = 'settle' "
                                  "AND order_id = '%s' AND funder IS NOT NULL",
                                  o),
                     2);
    expect(report(NULL, o, "3"), 201); /* gross 6 000: subsidy floor(5 001 × 0.3) = 1 500 */
    struct th_resp r = post(NULL, &w.inst, "/v1/orders/%s/usage/accept", o, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "subsidy_fen"), 1500);
    th_resp_free(&r);
    /* what is owed, per funder, is the receivable of the order's entries of that funder */
    const char *q = "SELECT coalesce(sum(p.amount_fen), 0) FROM ledger_postings p JOIN "
                    "ledger_entries e ON e.id = p.entry_id WHERE p.account_kind = "
                    "'provider_receivable' AND e.order_id = '%s' AND e.funder = '%s'";
    char *sql;
    ck_assert(asprintf(&sql, q, o, "province") > 0);
    long long province = world_sql_ll(&w, "%s", sql);
    free(sql);
    ck_assert(asprintf(&sql, q, o, "city") > 0);
    long long city = world_sql_ll(&w, "%s", sql);
    free(sql);
    ck_assert_int_eq(province + city, 1500);
    /* the redemption split 3 001 / 2 000; each share keeps its proportion, rounded down, the
     * fen left over to the first share with room */
    ck_assert_int_eq(province, 901);
    ck_assert_int_eq(city, 599);
    ck_assert_int_eq(world_sql_ll(&w,
                                  "SELECT count(*) FROM ledger_entries WHERE kind = "
                                  "'usage_adjust' AND order_id = '%s' AND funder IS NOT NULL",
                                  o),
                     2);
    world_ledger_ok(&w);
    free(o);
    free(v);
    free(p);
}
END_TEST

START_TEST(an_order_without_vouchers_is_billed_on_its_usage_and_due_at_once) {
    char *o = completed_order(NULL, 0);
    expect(report(NULL, o, "9.999"), 201);
    struct th_resp r = post(NULL, &w.inst, "/v1/orders/%s/usage/accept", o, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "gross_fen"), 19998); /* ceil(9.999 × 2 000) */
    ck_assert_int_eq(th_int(&r, "subsidy_fen"), 0);
    ck_assert_ptr_nonnull(th_str(&r, "due_at"));
    th_resp_free(&r);
    world_ledger_ok(&w);
    free(o);
}
END_TEST

/* ==== payments ============================================================================ */

START_TEST(a_programme_that_settles_after_the_buyer_pays_makes_the_order_due_when_paid) {
    char *p = world_program(&w, "{\"settle_after_buyer_pays\":true,\"usage_dispute_days\":3}");
    char *v = world_voucher_id(&w, p, w.inst_org, 10000);
    char *o = completed_order(v, 4000);
    expect(report(NULL, o, "10"), 201);
    struct th_resp r = get(&w.inst, "/v1/orders/%s/usage", o);
    ck_assert_int_eq(th_int(&r, "window_days"), 3);
    th_resp_free(&r);
    r = post(NULL, &w.inst, "/v1/orders/%s/usage/accept", o, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "net_fen"), 16000);
    ck_assert_ptr_null(th_str(&r, "due_at"));
    th_resp_free(&r);

    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/payments", o,
                        "{\"amount_fen\":16001,\"reference\":\"too-much\"}"),
                   422, "payment-above-net");
    expect_problem(
        post(NULL, &w.inst, "/v1/orders/%s/payments", o, "{\"amount_fen\":0,\"reference\":\"x\"}"),
        400, "validation-failed");
    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/payments", o, "{\"amount_fen\":5}"), 400,
                   "validation-failed");
    expect_problem(post(NULL, &w.inst2, "/v1/orders/%s/payments", o,
                        "{\"amount_fen\":1,\"reference\":\"other\"}"),
                   404, "not-found");
    expect_problem(post(NULL, &w.prov, "/v1/orders/%s/payments", o,
                        "{\"amount_fen\":1,\"reference\":\"prov\"}"),
                   403, "forbidden");
    r = post(&w.srv2, &w.inst, "/v1/orders/%s/payments", o,
             "{\"amount_fen\":10000,\"reference\":\"ICBC-2025-0001\"}");
    th_assert_status(&r, 201);
    ck_assert_int_eq(th_int(&r, "amount_fen"), 10000);
    ck_assert_int_eq(th_int(&r, "order.buyer_paid_fen"), 10000);
    th_resp_free(&r);
    ck_assert_int_eq(
        world_sql_ll(&w, "SELECT count(*) FROM orders WHERE id = '%s' AND due_at IS NULL", o), 1);
    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/payments", o,
                        "{\"amount_fen\":6000,\"reference\":\"ICBC-2025-0001\"}"),
                   409, "duplicate");
    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/payments", o,
                        "{\"amount_fen\":6001,\"reference\":\"ICBC-2025-0002\"}"),
                   422, "payment-above-net");
    r = post(NULL, &w.inst, "/v1/orders/%s/payments", o,
             "{\"amount_fen\":6000,\"reference\":\"ICBC-2025-0002\"}");
    th_assert_status(&r, 201);
    ck_assert_ptr_nonnull(th_str(&r, "order.due_at"));
    th_resp_free(&r);

    const struct th_auth *see[] = {&w.inst, &w.prov, &w.admin, &w.auditor};
    for (int i = 0; i < 4; i++) {
        r = get(see[i], "/v1/orders/%s/payments", o);
        th_assert_status(&r, 200);
        ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 2);
        ck_assert_int_eq(th_int(&r, "buyer_paid_fen"), 16000);
        th_resp_free(&r);
    }
    expect_problem(get(&w.inst2, "/v1/orders/%s/payments", o), 404, "not-found");
    expect_problem(get(&w.other_admin, "/v1/orders/%s/payments", o), 404, "not-found");
    ck_assert_int_eq(audit_count("payment.create", o), 2);
    world_ledger_ok(&w);
    free(o);
    free(v);
    free(p);
}
END_TEST

/* ==== refusals ============================================================================ */

START_TEST(each_refusal_has_its_problem_and_changes_nothing) {
    char *v = world_voucher_id(&w, program, w.inst_org, 10000);
    char *o = completed_order(v, 3000);
    char *reserved = world_order(&w, &w.inst, NULL, 1, 10, NULL);
    char *before = th_sql(
        w.dburl, "SELECT (SELECT count(*) FROM order_usage_reports) || '/' || "
                 "(SELECT count(*) FROM ledger_entries WHERE kind = 'usage_adjust') || '/' || "
                 "(SELECT count(*) FROM audit_events WHERE action LIKE 'usage.%')");
    static const char *const bad_bodies[] = {
        "{\"unit_hours\":0,\"availability\":1,\"evidence\":" EVIDENCE "}",
        "{\"unit_hours\":-1,\"availability\":1,\"evidence\":" EVIDENCE "}",
        "{\"unit_hours\":\"5\",\"availability\":1,\"evidence\":" EVIDENCE "}",
        "{\"unit_hours\":5,\"availability\":1.5,\"evidence\":" EVIDENCE "}",
        "{\"unit_hours\":5,\"availability\":-0.1,\"evidence\":" EVIDENCE "}",
        "{\"unit_hours\":5,\"availability\":1,\"evidence\":[]}",
        "{\"unit_hours\":5,\"availability\":1}",
        "{\"unit_hours\":5,\"availability\":1,\"evidence\":[{\"name\":\"x\",\"sha256\":\"abc\"}]}",
        "{\"unit_hours\":5,\"availability\":1,\"evidence\":[{\"name\":\"x\",\"sha256\":"
        "\"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\"}]}",
        "{\"unit_hours\":5,\"availability\":1,\"evidence\":[{\"name\":\"\",\"sha256\":\"" SHA_B
        "\"}]}",
        "{\"unit_hours\":5,\"availability\":1,\"evidence\":[{\"sha256\":\"" SHA_B "\"}]}",
        "{\"unit_hours\":5,\"availability\":1,\"evidence\":[{\"name\":\"x\",\"sha256\":\"" SHA_B
        "\",\"size\":1}]}",
        "{\"unit_hours\":5,\"availability\":1,\"evidence\":[\"" SHA_B "\"]}",
        "{\"unit_hours\":5,\"availability\":1,\"evidence\":" EVIDENCE ",\"extra\":1}",
    };
    for (size_t i = 0; i < sizeof bad_bodies / sizeof bad_bodies[0]; i++) {
        struct th_resp r = post(NULL, &w.prov, "/v1/orders/%s/usage", o, bad_bodies[i]);
        ck_assert_msg(r.status == 400, "body %zu: %ld %s", i, r.status, r.body);
        th_assert_problem(&r, 400, "validation-failed");
        th_resp_free(&r);
    }
    /* 21 evidence items */
    char body[4096] = "{\"unit_hours\":5,\"availability\":1,\"evidence\":[";
    for (int i = 0; i < 21; i++)
        snprintf(body + strlen(body), sizeof body - strlen(body),
                 "%s{\"name\":\"f%d\",\"sha256\":\"%s\"}", i ? "," : "", i, SHA_A);
    strcat(body, "]}");
    expect_problem(post(NULL, &w.prov, "/v1/orders/%s/usage", o, body), 400, "validation-failed");

    expect_problem(report(NULL, o, "10.001"), 422, "usage-above-reservation");
    expect_problem(report(NULL, reserved, "1"), 409, "order-state-conflict");
    expect_problem(post(NULL, &w.prov2, "/v1/orders/%s/usage", o,
                        "{\"unit_hours\":1,\"availability\":1,\"evidence\":" EVIDENCE "}"),
                   404, "not-found");
    expect_problem(post(NULL, &w.other_prov, "/v1/orders/%s/usage", o,
                        "{\"unit_hours\":1,\"availability\":1,\"evidence\":" EVIDENCE "}"),
                   404, "not-found");
    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/usage", o,
                        "{\"unit_hours\":1,\"availability\":1,\"evidence\":" EVIDENCE "}"),
                   403, "forbidden");
    expect_problem(post(NULL, &w.prov, "/v1/orders/%s/usage",
                        "0193a1b2-a1b2-7c3d-8e4f-5a6b7c8d9e0f",
                        "{\"unit_hours\":1,\"availability\":1,\"evidence\":" EVIDENCE "}"),
                   404, "not-found");
    /* nothing reported yet */
    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/usage/accept", o, NULL), 409,
                   "usage-state-conflict");
    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/usage/dispute", o, "{\"reason\":\"no\"}"),
                   409, "usage-state-conflict");
    char *after = th_sql(
        w.dburl, "SELECT (SELECT count(*) FROM order_usage_reports) || '/' || "
                 "(SELECT count(*) FROM ledger_entries WHERE kind = 'usage_adjust') || '/' || "
                 "(SELECT count(*) FROM audit_events WHERE action LIKE 'usage.%')");
    ck_assert_str_eq(after, before);
    free(after);

    expect(report(NULL, o, "10"), 201);
    expect_problem(report(NULL, o, "9"), 409, "usage-state-conflict"); /* one is pending */
    expect_problem(post(NULL, &w.prov, "/v1/orders/%s/usage/accept", o, NULL), 403, "forbidden");
    expect_problem(post(NULL, &w.admin, "/v1/orders/%s/usage/accept", o, NULL), 403, "forbidden");
    expect_problem(post(NULL, &w.inst2, "/v1/orders/%s/usage/accept", o, NULL), 404, "not-found");
    expect_problem(
        post(NULL, &w.other_inst, "/v1/orders/%s/usage/dispute", o, "{\"reason\":\"not ours\"}"),
        404, "not-found");
    expect_problem(post(NULL, &w.inst, "/v1/orders/%s/usage/accept", o, "{\"x\":1}"), 400,
                   "validation-failed");
    ck_assert_int_eq(order_ll(o, "subsidy_fen"), 3000);
    world_ledger_ok(&w);
    free(before);
    free(reserved);
    free(o);
    free(v);
}
END_TEST

/* The maintenance tick may accept a report the moment its window closes; a case that finds
 * it accepted already starts over with a new order (the tick runs every 2 s, so a second
 * round is rare and a third all but impossible). */
START_TEST(accepting_or_disputing_after_the_window_is_refused) {
    int rounds = 0;
    for (;;) {
        ck_assert_int_lt(rounds++, 5);
        char *v = world_voucher_id(&w, program, w.inst_org, 10000);
        char *o = completed_order(v, 3000);
        expect(report(NULL, o, "4"), 201);
        close_window(o);
        struct th_resp d =
            post(NULL, &w.inst, "/v1/orders/%s/usage/dispute", o, "{\"reason\":\"too late\"}");
        struct th_resp a = post(NULL, &w.inst, "/v1/orders/%s/usage/accept", o, NULL);
        const char *type = th_str(&d, "type");
        bool raced =
            d.status == 409 && type != NULL && strcmp(type, "/problems/usage-state-conflict") == 0;
        if (!raced) {
            th_assert_problem(&d, 409, "usage-window-closed");
            const char *atype = th_str(&a, "type");
            if (!(a.status == 409 && atype != NULL &&
                  strcmp(atype, "/problems/usage-state-conflict") == 0))
                th_assert_problem(&a, 409, "usage-window-closed");
        }
        th_resp_free(&d);
        th_resp_free(&a);
        /* either way silence accepts it: no dispute was recorded */
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT usage_state FROM orders WHERE id = '%s'", o);
        ck_assert(th_sql_wait(w.dburl, sql, "accepted", 30000));
        ck_assert_int_eq(audit_count("usage.dispute", o), 0);
        ck_assert_int_eq(order_ll(o, "subsidy_fen"), 1200);
        free(o);
        free(v);
        if (!raced)
            break;
    }
    world_ledger_ok(&w);
}
END_TEST

/* ==== programme fields ==================================================================== */

START_TEST(programmes_carry_the_usage_window_the_payment_rule_and_the_payee) {
    char *pp = path_of("/v1/programs/%s", program);
    struct th_resp r = th_req(&w.srv, "GET", pp, &w.admin, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "usage_dispute_days"), 7);
    ck_assert(json_is_false(json_object_get(r.json, "settle_after_buyer_pays")));
    ck_assert_str_eq(th_str(&r, "payee"), "provider");
    th_resp_free(&r);
    const char *headers[] = {"If-Match: \"1\"", NULL};
    r = th_req(
        &w.srv, "PATCH", pp, &w.admin,
        "{\"usage_dispute_days\":14,\"settle_after_buyer_pays\":true,\"payee\":\"institute\"}",
        headers);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "usage_dispute_days"), 14);
    ck_assert(json_is_true(json_object_get(r.json, "settle_after_buyer_pays")));
    ck_assert_str_eq(th_str(&r, "payee"), "institute");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", pp, &w.inst, NULL, NULL); /* institutes see the rules too */
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "payee"), "institute");
    th_resp_free(&r);
    const char *h2[] = {"If-Match: \"2\"", NULL};
    static const char *const bad[] = {"{\"usage_dispute_days\":0}", "{\"usage_dispute_days\":91}",
                                      "{\"payee\":\"city\"}", "{\"settle_after_buyer_pays\":1}"};
    for (int i = 0; i < 4; i++) {
        r = th_req(&w.srv, "PATCH", pp, &w.admin, bad[i], h2);
        th_assert_problem(&r, 400, "validation-failed");
        th_resp_free(&r);
    }
    char *body = world_program_body("{\"usage_dispute_days\":90,\"payee\":\"institute\"}");
    r = th_req(&w.srv, "POST", "/v1/programs", &w.admin, body, NULL);
    th_assert_status(&r, 201);
    ck_assert_int_eq(th_int(&r, "usage_dispute_days"), 90);
    ck_assert_str_eq(th_str(&r, "payee"), "institute");
    th_resp_free(&r);
    free(body);
    free(pp);
}
END_TEST

int main(void) {
    Suite *s = suite_create("usage");
    th_shared(up, down);
    th_case(s, accepting_usage_rebills_the_order_and_returns_the_subsidy_to_the_voucher, 600, setup,
            teardown);
    th_case(s, a_dispute_lets_the_provider_report_again_and_the_new_report_supersedes_it, 600,
            setup, teardown);
    th_case(s, silence_accepts_the_usage_through_the_maintenance_tick, 600, setup, teardown);
    th_case(s, the_unused_subsidy_of_an_expired_voucher_returns_to_the_programme, 600, setup,
            teardown);
    th_case(s, a_co_funded_subsidy_returns_share_by_share, 600, setup, teardown);
    th_case(s, an_order_without_vouchers_is_billed_on_its_usage_and_due_at_once, 600, setup,
            teardown);
    th_case(s, a_programme_that_settles_after_the_buyer_pays_makes_the_order_due_when_paid, 600,
            setup, teardown);
    th_case(s, each_refusal_has_its_problem_and_changes_nothing, 600, setup, teardown);
    th_case(s, accepting_or_disputing_after_the_window_is_refused, 600, setup, teardown);
    th_case(s, programmes_carry_the_usage_window_the_payment_rule_and_the_payee, 600, setup,
            teardown);
    return th_run(s);
}
