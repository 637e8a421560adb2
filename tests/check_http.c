/* check_http.c — the HTTP core against a real suanlid and PostgreSQL: routing, limits, bad
 * input, problem replies, request ids, metrics, readiness through a database outage. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct th_server srv;
static struct th_auth op;
static char *dburl;

static void up(void) {
    dburl = th_db_create("http");
    th_server_start(&srv, dburl, NULL);
    th_operator(&srv, &op);
}

static int down(void) {
    int rc = th_server_stop(&srv);
    free(dburl);
    return rc;
}

/* After every hostile request the server must still answer. */
static void assert_still_serving(void) {
    struct th_resp r = th_req(&srv, "GET", "/healthz", NULL, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
}

START_TEST(unknown_route_is_404_problem) {
    struct th_resp r = th_req(&srv, "GET", "/v1/no-such-thing", &op, NULL, NULL);
    th_assert_problem(&r, 404, "route-not-found");
    th_resp_free(&r);
}
END_TEST

START_TEST(wrong_method_is_405_with_allow) {
    struct th_resp r = th_req(&srv, "PUT", "/v1/organizations", &op, "{}", NULL);
    th_assert_problem(&r, 405, "method-not-allowed");
    char *allow = th_header(&r, "Allow");
    ck_assert_ptr_nonnull(allow);
    ck_assert_msg(strstr(allow, "GET") && strstr(allow, "POST"), "Allow: %s", allow);
    free(allow);
    th_resp_free(&r);
}
END_TEST

START_TEST(malformed_id_in_path_is_not_found) {
    struct th_resp r = th_req(&srv, "GET", "/v1/organizations/not-a-uuid", &op, NULL, NULL);
    th_assert_problem(&r, 404, "route-not-found");
    th_resp_free(&r);
}
END_TEST

START_TEST(malformed_json_is_400_invalid_json) {
    struct th_resp r = th_req(&srv, "POST", "/v1/organizations", &op, "{\"type\": ", NULL);
    th_assert_problem(&r, 400, "invalid-json");
    th_resp_free(&r);
    r = th_req(&srv, "POST", "/v1/organizations", &op, "[1,2]", NULL);
    th_assert_problem(&r, 400, "invalid-json");
    th_resp_free(&r);
    r = th_req(&srv, "POST", "/v1/organizations", &op, "{\"a\":1,\"a\":2}", NULL);
    th_assert_problem(&r, 400, "invalid-json");
    th_resp_free(&r);
    assert_still_serving();
}
END_TEST

START_TEST(wrong_type_names_the_field) {
    struct th_resp r =
        th_req(&srv, "POST", "/v1/organizations", &op, "{\"type\":\"city\",\"name\":42}", NULL);
    th_assert_problem(&r, 400, "validation-failed");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "name");
    ck_assert_str_eq(th_str(&r, "errors.0.message"), "must be a string");
    th_resp_free(&r);
}
END_TEST

START_TEST(unknown_field_is_refused) {
    struct th_resp r = th_req(&srv, "POST", "/v1/organizations", &op,
                              "{\"type\":\"city\",\"name\":\"X\",\"id\":\"forged\"}", NULL);
    th_assert_problem(&r, 400, "validation-failed");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "id");
    th_resp_free(&r);
    /* nothing was created */
    char *n = th_sql(dburl, "SELECT count(*) FROM organizations WHERE name = 'X'");
    ck_assert_str_eq(n, "0");
    free(n);
}
END_TEST

START_TEST(missing_field_is_named) {
    struct th_resp r = th_req(&srv, "POST", "/v1/organizations", &op, "{\"type\":\"city\"}", NULL);
    th_assert_problem(&r, 400, "validation-failed");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "name");
    ck_assert_str_eq(th_str(&r, "errors.0.message"), "is required");
    th_resp_free(&r);
}
END_TEST

START_TEST(bad_enum_lists_the_choices) {
    struct th_resp r =
        th_req(&srv, "POST", "/v1/organizations", &op, "{\"type\":\"bank\",\"name\":\"B\"}", NULL);
    th_assert_problem(&r, 400, "validation-failed");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "type");
    ck_assert_ptr_nonnull(strstr(th_str(&r, "errors.0.message"), "institute"));
    th_resp_free(&r);
}
END_TEST

START_TEST(body_over_one_mebibyte_is_413) {
    size_t n = 1024 * 1024 + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    struct th_resp r =
        th_req_raw(&srv, "POST", "/v1/organizations", &op, "application/json", big, n, NULL);
    th_assert_problem(&r, 413, "body-too-large");
    th_resp_free(&r);
    /* exactly 1 MiB is read (and then judged on its content) */
    r = th_req_raw(&srv, "POST", "/v1/organizations", &op, "application/json", big, n - 1, NULL);
    ck_assert_msg(r.status == 400, "1 MiB body: %ld", r.status);
    th_resp_free(&r);
    /* a chunked body that grows past the cap is refused too */
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    r = th_req_raw(&srv, "POST", "/v1/organizations", &op, "application/json", big, n, chunked);
    th_assert_problem(&r, 413, "body-too-large");
    th_resp_free(&r);
    free(big);
    assert_still_serving();
}
END_TEST

START_TEST(deep_nesting_is_refused_before_parsing) {
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    struct th_resp r = th_req(&srv, "POST", "/v1/organizations", &op, deep, NULL);
    th_assert_problem(&r, 400, "invalid-json");
    ck_assert_ptr_nonnull(strstr(th_str(&r, "detail"), "deeper"));
    th_resp_free(&r);
    free(deep);
    assert_still_serving();
}
END_TEST

START_TEST(wrong_content_type_is_415) {
    struct th_resp r = th_req_raw(&srv, "POST", "/v1/organizations", &op, "text/plain",
                                  "{\"type\":\"city\",\"name\":\"T\"}", 27, NULL);
    th_assert_problem(&r, 415, "unsupported-media-type");
    th_resp_free(&r);
}
END_TEST

START_TEST(request_id_is_echoed_or_generated) {
    const char *h[] = {"X-Request-Id: test-req-123", NULL};
    struct th_resp r = th_req(&srv, "GET", "/healthz", NULL, NULL, h);
    char *id = th_header(&r, "X-Request-Id");
    ck_assert_str_eq(id, "test-req-123");
    free(id);
    th_resp_free(&r);
    const char *bad[] = {"X-Request-Id: <script>", NULL};
    r = th_req(&srv, "GET", "/healthz", NULL, NULL, bad);
    id = th_header(&r, "X-Request-Id");
    ck_assert_int_eq((int)strlen(id), 32);
    free(id);
    th_resp_free(&r);
    /* problem bodies carry it too */
    r = th_req(&srv, "GET", "/v1/nothing", NULL, NULL, h);
    ck_assert_str_eq(th_str(&r, "request_id"), "test-req-123");
    th_resp_free(&r);
}
END_TEST

/* The value of the sample line that starts with series (name and labels), or -1. */
static double metric_value(const char *text, const char *series) {
    size_t n = strlen(series);
    for (const char *line = text; line != NULL && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
    }
    return -1;
}

/* A /metrics scrape that shows want more of the series total and count than base. */
struct scrape {
    struct th_resp r;
    const char *total, *count;
    double base_total, base_count, want;
};

static bool scrape_shows(void *ctx) {
    struct scrape *sc = ctx;
    th_resp_free(&sc->r);
    sc->r = th_req(&srv, "GET", "/metrics", NULL, NULL, NULL);
    return metric_value(sc->r.body, sc->total) == sc->base_total + sc->want &&
           metric_value(sc->r.body, sc->count) == sc->base_count + sc->want;
}

/* /readyz answers 200 on s. */
static bool ready(void *ctx) {
    struct th_resp r = th_req(ctx, "GET", "/readyz", NULL, NULL, NULL);
    bool ok = r.status == 200;
    th_resp_free(&r);
    return ok;
}

START_TEST(metrics_count_requests_by_route_and_status) {
    const char *total =
        "suanli_http_requests_total{method=\"GET\",route=\"/v1/me\",status=\"401\"}";
    const char *count =
        "suanli_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/me\"}";
    /* other cases may have counted some before: the scrape counts from what it shows now */
    struct scrape sc = {{0}, total, count, 0, 0, 0};
    (void)scrape_shows(&sc);
    th_assert_status(&sc.r, 200);
    sc.base_total = metric_value(sc.r.body, total) < 0 ? 0 : metric_value(sc.r.body, total);
    sc.base_count = metric_value(sc.r.body, count) < 0 ? 0 : metric_value(sc.r.body, count);
    sc.want = 3;
    for (int i = 0; i < 3; i++) {
        struct th_resp r = th_req(&srv, "GET", "/v1/me", NULL, NULL, NULL);
        th_resp_free(&r);
    }
    /* A request is counted when its reply has gone out, which may be just after the client
     * read it: the scrape is repeated until the third one shows. */
    th_wait_until(scrape_shows, &sc, 5000, 10);
    struct th_resp r = sc.r;
    th_assert_status(&r, 200);
    ck_assert_double_eq(metric_value(r.body, total), sc.base_total + 3);
    /* the histogram counts each request once: +Inf bucket = _count, and _sum in seconds */
    ck_assert_double_eq(metric_value(r.body, count), sc.base_count + 3);
    ck_assert_double_eq(metric_value(r.body, "suanli_http_request_duration_seconds_bucket{method="
                                             "\"GET\",route=\"/v1/me\",le=\"+Inf\"}"),
                        sc.base_count + 3);
    double sum = metric_value(
        r.body, "suanli_http_request_duration_seconds_sum{method=\"GET\",route=\"/v1/me\"}");
    ck_assert(sum > 0 && sum < 30);
    ck_assert(metric_value(r.body, "suanli_http_requests_in_flight") >= 1);
    ck_assert(metric_value(r.body, "suanli_db_connections") >= 1);
    ck_assert(metric_value(r.body, "process_resident_memory_bytes") > 1024 * 1024);
    ck_assert(metric_value(r.body, "process_cpu_seconds_total") > 0);
    ck_assert(metric_value(r.body, "process_start_time_seconds") > 1.7e9);
    /* every family has its HELP and TYPE lines */
    for (const char *t = strstr(r.body, "# TYPE "); t != NULL; t = strstr(t + 1, "# TYPE ")) {
        char name[128], help[160];
        ck_assert_int_eq(sscanf(t, "# TYPE %127s", name), 1);
        snprintf(help, sizeof help, "# HELP %s ", name);
        ck_assert_msg(strstr(r.body, help) != NULL, "no HELP for %s", name);
    }
    th_resp_free(&r);
}
END_TEST

START_TEST(oversized_headers_are_refused_and_the_server_keeps_serving) {
    size_t n = 100 * 1024;
    char *h = malloc(n + 32);
    strcpy(h, "X-Padding: ");
    memset(h + 11, 'a', n);
    h[11 + n] = '\0';
    const char *headers[] = {h, NULL};
    struct th_resp r = th_req(&srv, "GET", "/v1/me", &op, NULL, headers);
    ck_assert_msg(r.status == 431 || r.status == 413, "100 KiB of headers answered %ld", r.status);
    th_resp_free(&r);
    free(h);
    assert_still_serving();
}
END_TEST

START_TEST(writes_refuse_a_query_string) {
    struct th_resp r = th_req(&srv, "POST", "/v1/organizations?dry_run=1", &op,
                              "{\"type\":\"city\",\"name\":\"Query City\"}", NULL);
    th_assert_problem(&r, 400, "invalid-query");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "dry_run");
    th_resp_free(&r);
    char *n = th_sql(dburl, "SELECT count(*) FROM organizations WHERE name = 'Query City'");
    ck_assert_str_eq(n, "0");
    free(n);
}
END_TEST

START_TEST(security_headers_are_sent) {
    struct th_resp r = th_req(&srv, "GET", "/healthz", NULL, NULL, NULL);
    char *csp = th_header(&r, "Content-Security-Policy");
    char *nosniff = th_header(&r, "X-Content-Type-Options");
    ck_assert_ptr_nonnull(strstr(csp, "script-src 'self'"));
    ck_assert_str_eq(nosniff, "nosniff");
    free(csp);
    free(nosniff);
    th_resp_free(&r);
}
END_TEST

START_TEST(bad_query_parameters_are_named) {
    struct th_resp r = th_req(&srv, "GET", "/v1/organizations?limit=500", &op, NULL, NULL);
    th_assert_problem(&r, 400, "invalid-query");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "limit");
    th_resp_free(&r);
    r = th_req(&srv, "GET", "/v1/organizations?colour=red", &op, NULL, NULL);
    th_assert_problem(&r, 400, "invalid-query");
    ck_assert_str_eq(th_str(&r, "errors.0.field"), "colour");
    th_resp_free(&r);
    r = th_req(&srv, "GET", "/v1/organizations?cursor=zzz", &op, NULL, NULL);
    th_assert_problem(&r, 400, "invalid-query");
    th_resp_free(&r);
}
END_TEST

/* The database stops under a running server: readiness says 503 (with Retry-After), requests
 * that need it get 503 problems, nothing crashes, and once it is back the same process serves
 * again without a restart. */
START_TEST(readiness_follows_a_database_outage) {
    char dir[PATH_MAX], cmd[PATH_MAX * 2];
    snprintf(dir, sizeof dir, "%s/outage-pg", getenv("SUANLI_TEST_LOGS"));
    snprintf(cmd, sizeof cmd, "SUANLI_DATA_DIR=%s %s db start", dir, th_suanlid());
    FILE *p = popen(cmd, "r");
    char conninfo[512] = "";
    ck_assert_ptr_nonnull(fgets(conninfo, sizeof conninfo, p));
    ck_assert_int_eq(pclose(p), 0);
    conninfo[strcspn(conninfo, "\n")] = '\0';
    /* a database of its own: the cluster may hold one from an earlier run */
    char admin[600], create[128];
    snprintf(admin, sizeof admin, "%.*s dbname=postgres",
             (int)(strstr(conninfo, " dbname=") - conninfo), conninfo);
    snprintf(create, sizeof create, "CREATE DATABASE outage_%d", (int)getpid());
    free(th_sql(admin, create));
    snprintf(conninfo + (strstr(conninfo, " dbname=") - conninfo), 64, " dbname=outage_%d",
             (int)getpid());

    struct th_server s2;
    th_server_start(&s2, conninfo, NULL);
    struct th_resp r = th_req(&s2, "GET", "/readyz", NULL, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);

    snprintf(cmd, sizeof cmd, "SUANLI_DATA_DIR=%s %s db stop", dir, th_suanlid());
    ck_assert_int_eq(system(cmd), 0);
    r = th_req(&s2, "GET", "/readyz", NULL, NULL, NULL);
    th_assert_problem(&r, 503, "service-unavailable");
    char *retry = th_header(&r, "Retry-After");
    ck_assert_ptr_nonnull(retry);
    free(retry);
    th_resp_free(&r);
    r = th_req(&s2, "POST", "/v1/sessions", NULL, "{\"email\":\"a@b.cn\",\"password\":\"x\"}",
               NULL);
    th_assert_problem(&r, 503, "service-unavailable");
    th_resp_free(&r);

    snprintf(cmd, sizeof cmd, "SUANLI_DATA_DIR=%s %s db start >/dev/null", dir, th_suanlid());
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_msg(th_wait_until(ready, &s2, 15000, 100),
                  "/readyz did not answer 200 within 15 s of the database's restart");
    ck_assert_int_eq(th_server_stop(&s2), 0);
    snprintf(cmd, sizeof cmd, "SUANLI_DATA_DIR=%s %s db stop", dir, th_suanlid());
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("http");
    th_shared(up, down);
    th_case(s, unknown_route_is_404_problem, 120, NULL, NULL);
    th_case(s, wrong_method_is_405_with_allow, 120, NULL, NULL);
    th_case(s, malformed_id_in_path_is_not_found, 120, NULL, NULL);
    th_case(s, malformed_json_is_400_invalid_json, 120, NULL, NULL);
    th_case(s, wrong_type_names_the_field, 120, NULL, NULL);
    th_case(s, unknown_field_is_refused, 120, NULL, NULL);
    th_case(s, missing_field_is_named, 120, NULL, NULL);
    th_case(s, bad_enum_lists_the_choices, 120, NULL, NULL);
    th_case(s, body_over_one_mebibyte_is_413, 120, NULL, NULL);
    th_case(s, deep_nesting_is_refused_before_parsing, 120, NULL, NULL);
    th_case(s, wrong_content_type_is_415, 120, NULL, NULL);
    th_case(s, request_id_is_echoed_or_generated, 120, NULL, NULL);
    th_case(s, metrics_count_requests_by_route_and_status, 120, NULL, NULL);
    th_case(s, oversized_headers_are_refused_and_the_server_keeps_serving, 120, NULL, NULL);
    th_case(s, writes_refuse_a_query_string, 120, NULL, NULL);
    th_case(s, security_headers_are_sent, 120, NULL, NULL);
    th_case(s, bad_query_parameters_are_named, 120, NULL, NULL);
    th_case(s, readiness_follows_a_database_outage, 120, NULL, NULL);
    return th_run(s);
}
