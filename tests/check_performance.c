/* check_performance.c — the performance (绩效) report: on a world built through the API
 * (offers in the west and the east, a programme's vouchers paying orders, usage reported and
 * accepted, or only reported, a payout batch proposed, approved by a second administrator and
 * paid, a recovery) every figure equals the one worked out by hand below, and the payout
 * latency the one of the payouts' own timestamps; only accepted usage of the programme's orders
 * counts; the period selects by acceptance (recoveries: by when they were made); the CSV is the
 * JSON cell for cell; bad parameters are refused naming them; a city sees only its own
 * programmes. */
#include "world.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct world w;
static char *prog, *prog2, *hami_prog, *npu_offer, *hami_offer;
static char *mid;             /* an instant between the first deliveries and the last */
static char *o1, *o3;         /* the orders paid out */
static struct th_auth admin2; /* Chengdu's second administrator (two-person rule) */

/* ==== building the world ================================================================== */

/* A completed order of units × hours on offer by an institute (starting 2025-06-01, so that
 * its provider may complete it), paid amount fen by voucher (none when NULL); its id,
 * malloc'd. */
static char *completed_order(const struct th_auth *inst, const struct th_auth *prov,
                             const char *offer, int units, int hours, const char *voucher,
                             long long amount) {
    char body[768], end[32], path[96];
    snprintf(end, sizeof end, "2025-06-01T%02d:00:00Z", hours);
    int n = snprintf(body, sizeof body,
                     "{\"offer_id\":\"%s\",\"units\":%d,\"start\":\"2025-06-01T00:00:00Z\","
                     "\"end\":\"%s\"",
                     offer, units, end);
    if (voucher)
        n += snprintf(body + n, sizeof body - n,
                      ",\"vouchers\":[{\"voucher_id\":\"%s\",\"amount_fen\":%lld}]", voucher,
                      amount);
    snprintf(body + n, sizeof body - n, "}");
    struct th_resp r = th_req(&w.srv, "POST", "/v1/orders", inst, body, NULL);
    th_assert_status(&r, 201);
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    snprintf(path, sizeof path, "/v1/orders/%s/complete", id);
    r = th_req(&w.srv, "POST", path, prov, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    return id;
}

/* The provider reports unit_hours delivered on order; the institute accepts when asked. */
static void deliver(const char *order, const struct th_auth *prov, const struct th_auth *inst,
                    const char *unit_hours, bool accept) {
    char body[256], path[96];
    snprintf(body, sizeof body,
             "{\"unit_hours\":%s,\"availability\":0.99,\"evidence\":[{\"name\":\"meter.csv\","
             "\"sha256\":\"%064d\"}]}",
             unit_hours, 0);
    snprintf(path, sizeof path, "/v1/orders/%s/usage", order);
    struct th_resp r = th_req(&w.srv, "POST", path, prov, body, NULL);
    ck_assert_msg(r.status == 201 || r.status == 200, "usage report: %ld %s", r.status, r.body);
    th_resp_free(&r);
    if (!accept)
        return;
    snprintf(path, sizeof path, "/v1/orders/%s/usage/accept", order);
    r = th_req(&w.srv, "POST", path, inst, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
}

/* The world's deliveries, worked out by hand (FP16 PFLOP-days = unit-hours × TFLOPS / 24 000;
 * energy = PUE × unit-hours):
 *   programme prog, offers: w.offer (GPU H100, guizhou west, 989 TFLOPS, PUE 1.2, green 0.8,
 *   2000 fen per unit-hour) and npu_offer (NPU, yangtze-delta east, 320 TFLOPS, PUE 1.5,
 *   green 0.2, 1000 fen per unit-hour)
 *   o1  inst  w.offer   2 × 10 h, gross 40 000, voucher 20 000; 15 unit-hours accepted:
 *       re-billed to gross 30 000, subsidy 15 000; 14 835 TFLOP-hours; energy 18
 *   o2  inst2 npu_offer 4 × 6 h, gross 24 000, voucher 12 000; 24 unit-hours accepted (all):
 *       subsidy 12 000; 7 680 TFLOP-hours; energy 36
 *   --- mid ---
 *   o3  inst2 w.offer   1 × 4 h, gross 8 000, voucher 4 000; 4 unit-hours accepted:
 *       subsidy 4 000; 3 956 TFLOP-hours; energy 4.8
 *   then prog's subsidy due to w.prov (o1, o3) is proposed, approved and paid: 2 orders paid
 *   out (o2, of w.prov2, is not); and 1 000 fen of o2's subsidy is recovered.
 * and what must not count: o4 (prog, usage reported, not accepted), o5 (accepted, no voucher),
 * o6 (accepted, paid by prog2: counts for prog2 and the city, not for prog), and a Hami order
 * (accepted, Hami's programme). */
static void up(void) {
    world_setup(&w, "performance", WORLD_OFFER);
    npu_offer = world_offer(&w, &w.prov2,
                            "{\"resource_class\":\"npu\",\"accelerator\":\"Ascend-910B\","
                            "\"units\":1000,\"fp16_tflops_per_unit\":320,"
                            "\"region\":\"yangtze-delta\",\"price_fen_per_unit_hour\":1000,"
                            "\"pue\":1.5,\"green_share\":0.2}");
    prog = world_program(&w, NULL);
    prog2 = world_program(&w, NULL);
    char *v1 = world_voucher_id(&w, prog, w.inst_org, 100000);
    char *v2 = world_voucher_id(&w, prog, w.inst2_org, 100000);
    char *v3 = world_voucher_id(&w, prog2, w.inst_org, 100000);

    o1 = completed_order(&w.inst, &w.prov, w.offer, 2, 10, v1, 20000);
    char *o2 = completed_order(&w.inst2, &w.prov2, npu_offer, 4, 6, v2, 12000);
    o3 = completed_order(&w.inst2, &w.prov, w.offer, 1, 4, v2, 4000);
    char *o4 = completed_order(&w.inst, &w.prov, w.offer, 1, 5, v1, 5000);
    char *o5 = completed_order(&w.inst, &w.prov, w.offer, 3, 2, NULL, 0);
    char *o6 = completed_order(&w.inst, &w.prov2, npu_offer, 2, 3, v3, 3000);
    deliver(o1, &w.prov, &w.inst, "15", true);
    deliver(o2, &w.prov2, &w.inst2, "24", true);
    deliver(o4, &w.prov, &w.inst, "5", false);
    deliver(o5, &w.prov, &w.inst, "6", true);
    deliver(o6, &w.prov2, &w.inst, "6", true);
    mid = th_sql(w.dburl, "SELECT ts(clock_timestamp() + interval '10 milliseconds')");
    th_wait_past(w.dburl, mid, 10000);
    deliver(o3, &w.prov, &w.inst2, "4", true);

    th_user(&w.srv, &w.op, "city_admin", w.city, "admin2@perf.test", &admin2);
    char body[256];
    snprintf(body, sizeof body, "{\"program_id\":\"%s\",\"payee_id\":\"%s\"}", prog, w.prov_org);
    struct th_resp r = th_req(&w.srv, "POST", "/v1/payouts", &w.admin, body, NULL);
    th_assert_status(&r, 201);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    char path[128];
    snprintf(path, sizeof path, "/v1/payouts/%s/approve", th_str(&r, "items.0.id"));
    struct th_resp a = th_req(&w.srv, "POST", path, &admin2, NULL, NULL);
    th_assert_status(&a, 200);
    th_resp_free(&a);
    snprintf(path, sizeof path, "/v1/payouts/%s/paid", th_str(&r, "items.0.id"));
    a = th_req(&w.srv, "POST", path, &w.admin, "{\"transfer_reference\":\"CNAPS-PERF-1\"}", NULL);
    th_assert_status(&a, 200);
    th_resp_free(&a);
    th_resp_free(&r);
    snprintf(body, sizeof body,
             "{\"order_id\":\"%s\",\"amount_fen\":1000,\"reason\":\"meter gap\"}", o2);
    r = th_req(&w.srv, "POST", "/v1/recoveries", &w.admin, body, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);

    hami_offer = world_offer(&w, &w.other_prov, "{\"region\":\"gansu\"}");
    r = th_req(&w.srv, "POST", "/v1/programs", &w.other_admin,
               "{\"name\":\"Hami performance\",\"budget_fen\":5000000,"
               "\"ends_at\":\"2030-06-01T00:00:00Z\",\"max_subsidy_bp\":5000}",
               NULL);
    th_assert_status(&r, 201);
    hami_prog = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    snprintf(body, sizeof body,
             "{\"institute_id\":\"%s\",\"face_value_fen\":100000,"
             "\"expires_at\":\"2030-01-01T00:00:00Z\"}",
             w.other_inst_org);
    r = world_issue(&w, NULL, &w.other_admin, hami_prog, body, NULL);
    th_assert_status(&r, 201);
    char *hv = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    char *ho = completed_order(&w.other_inst, &w.other_prov, hami_offer, 1, 8, hv, 8000);
    deliver(ho, &w.other_prov, &w.other_inst, "8", true);

    char *all[] = {v1, v2, v3, o2, o4, o5, o6, hv, ho};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
}

static int down(void) {
    free(prog);
    free(prog2);
    free(hami_prog);
    free(npu_offer);
    free(hami_offer);
    free(mid);
    free(o1);
    free(o3);
    return world_teardown(&w);
}

static void ledger_ok(void) {
    world_ledger_ok(&w);
}

/* ==== helpers ============================================================================= */

/* printf into a new string. */
static char *sql_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sql_text(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s;
    ck_assert(vasprintf(&s, fmt, ap) >= 0);
    va_end(ap);
    return s;
}

/* GET /v1/reports/performance?query as by; the caller frees. */
static struct th_resp perf(const struct th_auth *by, const char *query,
                           const char *const *headers) {
    char path[512];
    snprintf(path, sizeof path, "/v1/reports/performance%s%s", query ? "?" : "",
             query ? query : "");
    return th_req(&w.srv, "GET", path, by, NULL, headers);
}

/* The report of the programme (NULL: every programme in scope) over [from, to) (NULL: open),
 * 200 expected; the caller frees. */
static struct th_resp perf_ok(const struct th_auth *by, const char *program, const char *from,
                              const char *to) {
    char q[512] = "";
    int n = 0;
    if (program)
        n += snprintf(q + n, sizeof q - n, "program_id=%s&", program);
    if (from)
        n += snprintf(q + n, sizeof q - n, "from=%s&", from);
    if (to)
        n += snprintf(q + n, sizeof q - n, "to=%s&", to);
    if (n > 0)
        q[n - 1] = '\0';
    struct th_resp r = perf(by, n > 0 ? q : NULL, NULL);
    th_assert_status(&r, 200);
    return r;
}

/* The member k of o is the decimal number want (exactly as text would parse), or null when
 * want is NULL. */
static void assert_num(json_t *o, const char *k, const char *want) {
    json_t *v = json_object_get(o, k);
    ck_assert_msg(v != NULL, "%s is missing", k);
    if (want == NULL) {
        ck_assert_msg(json_is_null(v), "%s is not null", k);
        return;
    }
    ck_assert_msg(json_is_number(v), "%s is not a number", k);
    double got = json_number_value(v), exp = strtod(want, NULL);
    ck_assert_msg(got == exp, "%s is %.10g, expected %s", k, got, want);
}

struct figures {
    const char *orders, *institutes, *gpu, *npu, *cpu, *pflop_days, *west_pflop_days, *west_share,
        *green_share, *subsidy, *per_pflop_day, *paid_orders, *recoveries, *recovered;
};

static void assert_figures(json_t *o, const struct figures *f) {
    assert_num(o, "orders", f->orders);
    assert_num(o, "institutes_served", f->institutes);
    assert_num(o, "gpu_unit_hours", f->gpu);
    assert_num(o, "npu_unit_hours", f->npu);
    assert_num(o, "cpu_unit_hours", f->cpu);
    assert_num(o, "pflop_days", f->pflop_days);
    assert_num(o, "west_pflop_days", f->west_pflop_days);
    assert_num(o, "west_share", f->west_share);
    assert_num(o, "green_share", f->green_share);
    assert_num(o, "subsidy_fen", f->subsidy);
    assert_num(o, "subsidy_per_pflop_day_fen", f->per_pflop_day);
    assert_num(o, "paid_orders", f->paid_orders);
    assert_num(o, "recoveries", f->recoveries);
    assert_num(o, "recovered_fen", f->recovered);
}

/* The payout latency of the report (o: a row) is that of the payouts' own record: the hours
 * from acceptance to payment of the paid orders among those named (an SQL list of ids), median
 * and maximum to 2 decimals; null when none is paid. */
static void assert_latency(json_t *o, const char *orders) {
    char *want = th_sql(
        w.dburl,
        sql_text("SELECT json_build_object('median', round(percentile_cont(0.5) WITHIN GROUP "
                 "(ORDER BY h)::numeric, 2), 'max', round(max(h), 2))::text FROM ("
                 "SELECT extract(epoch FROM min(p.paid_at) - o.usage_accepted_at) / 3600 AS h "
                 "FROM orders o JOIN payout_items i ON i.order_id = o.id AND i.kind = 'order' "
                 "JOIN payouts p ON p.id = i.payout_id AND p.state = 'paid' "
                 "WHERE o.id IN (%s) GROUP BY o.id) x",
                 orders));
    json_t *j = json_loads(want, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(j);
    const char *keys[][2] = {{"median", "payout_latency_median_hours"},
                             {"max", "payout_latency_max_hours"}};
    for (int k = 0; k < 2; k++) {
        json_t *x = json_object_get(j, keys[k][0]), *got = json_object_get(o, keys[k][1]);
        ck_assert_msg(
            json_is_null(x) ? json_is_null(got) : json_number_value(got) == json_number_value(x),
            "%s: report %s, payouts say %s", keys[k][1], json_dumps(got, JSON_ENCODE_ANY), want);
        ck_assert(json_is_null(x) || json_number_value(x) >= 0);
    }
    json_decref(j);
    free(want);
}

/* The whole programme: o1 + o2 + o3. PFLOP-days 26 471 / 24 000 = 1.1029583…; west 18 791 /
 * 24 000; west share 18 791 / 26 471 = 0.70987…; green (18 × 0.8 + 4.8 × 0.8 + 36 × 0.2) /
 * 58.8 = 0.43265…; subsidy 31 000 fen / 1.1029583… = 28 106.2… fen per PFLOP-day. */
static const struct figures ALL = {"3",        "2",        "19",     "24",     "0",
                                   "1.102958", "0.782958", "0.7099", "0.4327", "31000",
                                   "28106",    "2",        "1",      "1000"};
/* Before mid: o1 + o2. 22 515 TFLOP-hours = 0.938125 PFLOP-days; west 14 835 / 22 515 =
 * 0.65889…; green (14.4 + 7.2) / 54 = 0.4; 27 000 fen / 0.938125 = 28 780.8… */
static const struct figures EARLY = {"2",      "2",   "15",    "24",    "0", "0.938125", "0.618125",
                                     "0.6589", "0.4", "27000", "28781", "1", "0",        "0"};
/* From mid: o3 alone. 3 956 TFLOP-hours = 0.1648333…; all west and 0.8 green; 4 000 fen /
 * 0.1648333… = 24 266.9… */
static const struct figures LATE = {"1", "1",   "4",    "0",     "0", "0.164833", "0.164833",
                                    "1", "0.8", "4000", "24267", "1", "1",        "1000"};
static const struct figures NOTHING = {"0",  "0",  "0", "0",  "0", "0", "0",
                                       NULL, NULL, "0", NULL, "0", "0", "0"};

/* ==== the figures ========================================================================= */

START_TEST(figures_are_those_of_the_accepted_usage_worked_out_by_hand) {
    struct th_resp r = perf_ok(&w.admin, prog, NULL, NULL);
    assert_figures(json_object_get(r.json, "totals"), &ALL);
    char *paid = sql_text("'%s', '%s'", o1, o3);
    assert_latency(json_object_get(r.json, "totals"), paid);
    free(paid);
    ck_assert_str_eq(th_str(&r, "program_id"), prog);
    ck_assert_ptr_null(th_str(&r, "from"));
    th_resp_free(&r);
    /* the auditor of the city reads the same report */
    r = perf_ok(&w.auditor, prog, NULL, NULL);
    assert_figures(json_object_get(r.json, "totals"), &ALL);
    th_resp_free(&r);
}
END_TEST

START_TEST(the_months_add_up_to_the_totals) {
    struct th_resp r = perf_ok(&w.admin, prog, NULL, NULL);
    json_t *items = json_object_get(r.json, "items"), *it;
    size_t i;
    long long orders = 0, subsidy = 0, recoveries = 0;
    json_array_foreach(items, i, it) {
        const char *month = json_string_value(json_object_get(it, "month"));
        ck_assert_int_gt(world_sql_ll(&w,
                                      "SELECT (SELECT count(*) FROM orders WHERE usage_state = "
                                      "'accepted' AND to_char(usage_accepted_at AT TIME ZONE "
                                      "'UTC', 'YYYY-MM') = '%1$s') + (SELECT count(*) FROM "
                                      "recoveries WHERE to_char(created_at AT TIME ZONE 'UTC', "
                                      "'YYYY-MM') = '%1$s')",
                                      month),
                         0);
        orders += json_integer_value(json_object_get(it, "orders"));
        subsidy += json_integer_value(json_object_get(it, "subsidy_fen"));
        recoveries += json_integer_value(json_object_get(it, "recoveries"));
    }
    ck_assert_int_ge(json_array_size(items), 1);
    ck_assert_int_eq(orders, 3);
    ck_assert_int_eq(subsidy, 31000);
    ck_assert_int_eq(recoveries, 1);
    th_resp_free(&r);
}
END_TEST

START_TEST(the_period_selects_orders_by_when_their_usage_was_accepted) {
    struct th_resp r = perf_ok(&w.admin, prog, NULL, mid);
    assert_figures(json_object_get(r.json, "totals"), &EARLY);
    char *ids = sql_text("'%s'", o1);
    assert_latency(json_object_get(r.json, "totals"), ids);
    free(ids);
    th_resp_free(&r);
    r = perf_ok(&w.admin, prog, mid, NULL);
    assert_figures(json_object_get(r.json, "totals"), &LATE);
    ids = sql_text("'%s'", o3);
    assert_latency(json_object_get(r.json, "totals"), ids);
    free(ids);
    ck_assert_ptr_nonnull(th_str(&r, "from"));
    th_resp_free(&r);
    r = perf_ok(&w.admin, prog, "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z");
    assert_figures(json_object_get(r.json, "totals"), &NOTHING);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    th_resp_free(&r);
}
END_TEST

/* Without program_id: every programme of the city (prog and prog2's o6: 2 × 3 h NPU, 6
 * unit-hours, 1 920 TFLOP-hours, subsidy 3 000), and nothing of Hami; Hami sees its own. */
START_TEST(a_city_sees_its_own_programmes_only) {
    struct th_resp r = perf_ok(&w.admin, NULL, NULL, NULL);
    json_t *t = json_object_get(r.json, "totals");
    assert_num(t, "orders", "4");
    assert_num(t, "npu_unit_hours", "30");
    assert_num(t, "pflop_days", "1.182958"); /* 28 391 / 24 000 */
    assert_num(t, "subsidy_fen", "34000");
    ck_assert(json_is_null(json_object_get(r.json, "program_id")));
    th_resp_free(&r);
    r = perf_ok(&w.other_auditor, NULL, NULL, NULL);
    t = json_object_get(r.json, "totals");
    assert_num(t, "orders", "1");
    assert_num(t, "gpu_unit_hours", "8");
    assert_num(t, "west_share", "1");
    th_resp_free(&r);
    /* another city's programme does not exist for them */
    char q[128];
    snprintf(q, sizeof q, "program_id=%s", hami_prog);
    r = perf(&w.admin, q, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    snprintf(q, sizeof q, "program_id=%s&format=csv", prog);
    r = perf(&w.other_auditor, q, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    /* the operator sees both */
    r = perf_ok(&w.op, NULL, NULL, NULL);
    assert_num(json_object_get(r.json, "totals"), "orders", "5");
    th_resp_free(&r);
}
END_TEST

/* ==== CSV ================================================================================= */

/* The next CSV line of *p without its CRLF, as a JSON array of cells (no cell is quoted). */
static json_t *csv_line(const char **p) {
    const char *end = strstr(*p, "\r\n");
    ck_assert_ptr_nonnull(end);
    json_t *cells = json_array();
    const char *c = *p;
    for (;;) {
        const char *stop = memchr(c, ',', (size_t)(end - c));
        const char *e = stop ? stop : end;
        json_array_append_new(cells, json_stringn(c, (size_t)(e - c)));
        if (!stop)
            break;
        c = stop + 1;
    }
    *p = end + 2;
    return cells;
}

/* One CSV row against its JSON row: the same month and, column by column, the same number
 * (an empty cell for null). */
static void assert_row(json_t *header, json_t *cells, json_t *row, const char *month) {
    ck_assert_int_eq(json_array_size(cells), json_array_size(header));
    ck_assert_str_eq(json_string_value(json_array_get(cells, 0)), month);
    for (size_t k = 1; k < json_array_size(header); k++) {
        const char *col = json_string_value(json_array_get(header, k));
        const char *cell = json_string_value(json_array_get(cells, k));
        json_t *v = json_object_get(row, col);
        ck_assert_msg(v != NULL, "column %s is not in the JSON", col);
        if (json_is_null(v))
            ck_assert_msg(cell[0] == '\0', "%s: %s in CSV, null in JSON", col, cell);
        else
            ck_assert_msg(*cell && strtod(cell, NULL) == json_number_value(v),
                          "%s: %s in CSV, %.10g in JSON", col, cell, json_number_value(v));
    }
    ck_assert_int_eq(json_object_size(row), json_array_size(header) - 1 + (month[0] != 't'));
}

START_TEST(the_csv_is_the_json_cell_for_cell) {
    char q[256];
    snprintf(q, sizeof q, "program_id=%s", prog);
    struct th_resp j = perf_ok(&w.auditor, prog, NULL, NULL);
    /* ?format=csv (a download link) and Accept: text/csv give the same text */
    const char *accept[] = {"Accept: text/csv", NULL};
    struct th_resp c1 = perf(&w.auditor, q, accept);
    th_assert_status(&c1, 200);
    snprintf(q, sizeof q, "program_id=%s&format=csv", prog);
    struct th_resp c2 = perf(&w.auditor, q, NULL);
    th_assert_status(&c2, 200);
    ck_assert_str_eq(c1.body, c2.body);
    char *ctype = th_header(&c2, "Content-Type");
    ck_assert_ptr_nonnull(strstr(ctype, "text/csv"));
    free(ctype);
    char *disp = th_header(&c2, "Content-Disposition");
    ck_assert_ptr_nonnull(strstr(disp, "attachment"));
    free(disp);

    const char *p = c2.body;
    json_t *header = csv_line(&p);
    ck_assert_str_eq(json_string_value(json_array_get(header, 0)), "month");
    json_t *items = json_object_get(j.json, "items"), *it;
    size_t i;
    json_array_foreach(items, i, it) {
        json_t *cells = csv_line(&p);
        assert_row(header, cells, it, json_string_value(json_object_get(it, "month")));
        json_decref(cells);
    }
    json_t *cells = csv_line(&p);
    assert_row(header, cells, json_object_get(j.json, "totals"), "total");
    json_decref(cells);
    ck_assert_str_eq(p, "");
    json_decref(header);
    th_resp_free(&j);
    th_resp_free(&c1);
    th_resp_free(&c2);
}
END_TEST

/* ==== refusals ============================================================================ */

START_TEST(bad_parameters_and_callers_are_refused_naming_what_is_wrong) {
    static const struct {
        const char *query, *field;
    } bad[] = {
        {"from=yesterday", "from"},
        {"to=2026-02-30T00:00:00Z", "to"},
        {"from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"},
        {"from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"},
        {"program_id=42", "program_id"},
        {"format=xml", "format"},
        {"group_by=month", "group_by"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct th_resp r = perf(&w.admin, bad[i].query, NULL);
        th_assert_problem(&r, 400, "invalid-query");
        json_t *e = json_array_get(json_object_get(r.json, "errors"), 0);
        ck_assert_msg(e &&
                          strcmp(json_string_value(json_object_get(e, "field")), bad[i].field) == 0,
                      "%s: %s", bad[i].query, r.body);
        th_resp_free(&r);
    }
    struct th_resp r = perf(&w.admin, "program_id=00000000-0000-7000-8000-000000000000", NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    const char *png[] = {"Accept: image/png", NULL};
    r = perf(&w.admin, NULL, png);
    th_assert_problem(&r, 406, "not-acceptable");
    th_resp_free(&r);
    const struct th_auth *others[] = {&w.prov, &w.inst};
    for (size_t i = 0; i < 2; i++) {
        r = perf(others[i], NULL, NULL);
        th_assert_problem(&r, 403, "forbidden");
        th_resp_free(&r);
    }
    r = perf(NULL, NULL, NULL);
    ck_assert_int_eq(r.status, 401);
    th_resp_free(&r);
}
END_TEST

int main(void) {
    if (sodium_init() < 0)
        return 1;
    Suite *s = suite_create("performance");
    th_shared(up, down);
    th_case(s, figures_are_those_of_the_accepted_usage_worked_out_by_hand, 600, NULL, ledger_ok);
    th_case(s, the_months_add_up_to_the_totals, 600, NULL, ledger_ok);
    th_case(s, the_period_selects_orders_by_when_their_usage_was_accepted, 600, NULL, ledger_ok);
    th_case(s, a_city_sees_its_own_programmes_only, 600, NULL, ledger_ok);
    th_case(s, the_csv_is_the_json_cell_for_cell, 600, NULL, ledger_ok);
    th_case(s, bad_parameters_and_callers_are_refused_naming_what_is_wrong, 600, NULL, ledger_ok);
    return th_run(s);
}
