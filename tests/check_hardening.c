/* check_hardening.c — issue 15's HTTP hardening against a real suanlid and PostgreSQL: which
 * forwarding headers are believed (SUANLI_TRUSTED_PROXIES), and what the audit then records as
 * the client's address. Each case starts its own server, since the settings differ. */
#include "harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct th_server srv;
static struct th_auth op;
static char *dburl;

static void start(const char *const *env) {
    dburl = th_db_create("hardening");
    th_server_start(&srv, dburl, env);
    th_operator(&srv, &op);
}

static void stop(void) {
    ck_assert_int_eq(th_server_stop(&srv), 0);
    free(dburl);
}

/* Creates an organization with the extra request headers and returns field ("client_ip",
 * "request_id") of its audit event, malloc'd; the reply's X-Request-Id into *echoed if asked. */
static char *audited(const char *const *headers, const char *field, char **echoed) {
    static int n;
    char body[128];
    snprintf(body, sizeof body, "{\"type\":\"city\",\"name\":\"Hardening %d\"}", ++n);
    struct th_resp r = th_req(&srv, "POST", "/v1/organizations", &op, body, headers);
    th_assert_status(&r, 201);
    if (echoed != NULL)
        *echoed = th_header(&r, "X-Request-Id");
    char path[160];
    snprintf(path, sizeof path, "/v1/audit/events?subject_id=%s", th_str(&r, "id"));
    th_resp_free(&r);
    r = th_req(&srv, "GET", path, &op, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    char path_field[64];
    snprintf(path_field, sizeof path_field, "items.0.%s", field);
    char *value = strdup(th_str(&r, path_field));
    th_resp_free(&r);
    return value;
}

static void assert_audited_ip(const char *header, const char *want) {
    const char *h[] = {header, NULL};
    char *ip = audited(header ? h : NULL, "client_ip", NULL);
    ck_assert_msg(strcmp(ip, want) == 0, "%s: audited %s, expected %s", header, ip, want);
    free(ip);
}

START_TEST(forged_forwarding_from_an_untrusted_peer_is_ignored) {
    start(NULL);
    assert_audited_ip("X-Forwarded-For: 203.0.113.9", "127.0.0.1");
    assert_audited_ip("Forwarded: for=203.0.113.9", "127.0.0.1");
    stop();
    /* a list of proxies that does not hold the peer changes nothing */
    const char *env[] = {"SUANLI_TRUSTED_PROXIES=10.0.0.0/8, ::1", NULL};
    start(env);
    assert_audited_ip("X-Forwarded-For: 203.0.113.9", "127.0.0.1");
    stop();
}
END_TEST

START_TEST(forwarding_from_a_trusted_proxy_names_the_client) {
    const char *env[] = {"SUANLI_TRUSTED_PROXIES=127.0.0.1,198.51.100.0/24", NULL};
    start(env);
    assert_audited_ip(NULL, "127.0.0.1");
    assert_audited_ip("X-Forwarded-For: 203.0.113.9", "203.0.113.9");
    /* the rightmost hop that is not a trusted proxy: what the client wrote on the left is
     * not believed */
    assert_audited_ip("X-Forwarded-For: 192.0.2.1, 203.0.113.9, 198.51.100.7", "203.0.113.9");
    /* every hop trusted: the leftmost */
    assert_audited_ip("X-Forwarded-For: 198.51.100.8, 127.0.0.1", "198.51.100.8");
    /* a hop that is no address stops the walk at the last trusted one */
    assert_audited_ip("X-Forwarded-For: 203.0.113.9, nonsense", "127.0.0.1");
    assert_audited_ip("Forwarded: for=\"[2001:db8::17]:4711\";proto=https", "2001:db8::17");
    assert_audited_ip("Forwarded: for=192.0.2.60;proto=http, for=198.51.100.17", "192.0.2.60");
    stop();
}
END_TEST

START_TEST(a_bad_proxy_list_stops_start_up) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "SUANLI_TRUSTED_PROXIES='10.0.0.0/33' %s serve >/dev/null 2>&1",
             th_suanlid());
    int rc = system(cmd);
    ck_assert_int_ne(rc, 0);
    snprintf(cmd, sizeof cmd, "SUANLI_TRUSTED_PROXIES='10.0.0.1,,x' %s serve >/dev/null 2>&1",
             th_suanlid());
    rc = system(cmd);
    ck_assert_int_ne(rc, 0);
}
END_TEST

static bool is_own_id(const char *id) {
    if (strlen(id) != 32)
        return false;
    for (const char *p = id; *p; p++)
        if (!strchr("0123456789abcdef", *p))
            return false;
    return true;
}

START_TEST(audit_rows_carry_the_servers_own_request_id) {
    start(NULL);
    /* no X-Request-Id: the reply names the id the audit row carries */
    char *echoed = NULL;
    char *id = audited(NULL, "request_id", &echoed);
    ck_assert(is_own_id(id));
    ck_assert_str_eq(echoed, id);
    free(id);
    free(echoed);
    /* a safe token is echoed, but the audit row carries the server's own id, not the claim */
    const char *mine[] = {"X-Request-Id: client.chosen_id-1", NULL};
    id = audited(mine, "request_id", &echoed);
    ck_assert_str_eq(echoed, "client.chosen_id-1");
    ck_assert_msg(is_own_id(id), "audit request_id %s", id);
    free(id);
    free(echoed);
    /* 64 safe characters are a token; 65, or anything unsafe, are ignored */
    char h64[128], h65[128];
    snprintf(h64, sizeof h64, "X-Request-Id: %064d", 7);
    snprintf(h65, sizeof h65, "X-Request-Id: %065d", 7);
    const char *hdr64[] = {h64, NULL}, *hdr65[] = {h65, NULL};
    const char *unsafe[] = {"X-Request-Id: a b", "X-Request-Id: id\"quote", "X-Request-Id: é"};
    struct th_resp r = th_req(&srv, "GET", "/healthz", NULL, NULL, hdr64);
    echoed = th_header(&r, "X-Request-Id");
    ck_assert_str_eq(echoed, h64 + strlen("X-Request-Id: "));
    free(echoed);
    th_resp_free(&r);
    r = th_req(&srv, "GET", "/healthz", NULL, NULL, hdr65);
    echoed = th_header(&r, "X-Request-Id");
    ck_assert(is_own_id(echoed));
    free(echoed);
    th_resp_free(&r);
    for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
        const char *h[] = {unsafe[i], NULL};
        r = th_req(&srv, "GET", "/healthz", NULL, NULL, h);
        th_assert_status(&r, 200);
        echoed = th_header(&r, "X-Request-Id");
        ck_assert_msg(is_own_id(echoed), "%s echoed as %s", unsafe[i], echoed);
        free(echoed);
        th_resp_free(&r);
    }
    stop();
}
END_TEST

/* Under an https SUANLI_PUBLIC_URL, over plain loopback: the session cookie is __Host- and
 * Secure, every answer carries Strict-Transport-Security, and only the __Host- cookie signs in. */
START_TEST(https_public_url_makes_cookies_host_only_and_sends_hsts) {
    dburl = th_db_create("hardening");
    const char *env[] = {"SUANLI_PUBLIC_URL=https://suanli.example.cn", NULL};
    th_server_start(&srv, dburl, env);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "SUANLI_PASSWORD=operator-password DATABASE_URL='%s' %s create-user --email "
             "tls-op@suanli.test >/dev/null 2>>%s",
             dburl, th_suanlid(), srv.log);
    ck_assert_int_eq(system(cmd), 0);

    struct th_resp r = th_req(&srv, "GET", "/healthz", NULL, NULL, NULL);
    char *hsts = th_header(&r, "Strict-Transport-Security");
    ck_assert_ptr_nonnull(hsts);
    ck_assert_ptr_nonnull(strstr(hsts, "max-age="));
    free(hsts);
    th_resp_free(&r);

    r = th_req(&srv, "POST", "/v1/sessions", NULL,
               "{\"email\":\"tls-op@suanli.test\",\"password\":\"operator-password\"}", NULL);
    th_assert_status(&r, 201);
    char *cookie = th_header(&r, "Set-Cookie");
    ck_assert_msg(strncmp(cookie, "__Host-suanli_session=", 22) == 0, "%s", cookie);
    ck_assert_ptr_nonnull(strstr(cookie, "; Secure"));
    ck_assert_ptr_nonnull(strstr(cookie, "Path=/"));
    ck_assert_ptr_null(strstr(cookie, "Domain"));
    hsts = th_header(&r, "Strict-Transport-Security");
    ck_assert_ptr_nonnull(hsts);
    free(hsts);
    const char *eq = strchr(cookie, '='), *semi = strchr(cookie, ';');
    char token[256];
    snprintf(token, sizeof token, "%.*s", (int)(semi - eq - 1), eq + 1);
    free(cookie);
    th_resp_free(&r);

    char line[400];
    snprintf(line, sizeof line, "Cookie: __Host-suanli_session=%s", token);
    const char *host_cookie[] = {line, NULL};
    r = th_req(&srv, "GET", "/v1/me", NULL, NULL, host_cookie);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "email"), "tls-op@suanli.test");
    th_resp_free(&r);
    /* the unprefixed name, which plain http or a sibling host could plant, is not read */
    snprintf(line, sizeof line, "Cookie: suanli_session=%s", token);
    const char *plain_cookie[] = {line, NULL};
    r = th_req(&srv, "GET", "/v1/me", NULL, NULL, plain_cookie);
    ck_assert_int_eq(r.status, 401);
    th_resp_free(&r);
    stop();
}
END_TEST

START_TEST(plain_http_sends_no_hsts) {
    start(NULL);
    struct th_resp r = th_req(&srv, "GET", "/healthz", NULL, NULL, NULL);
    char *hsts = th_header(&r, "Strict-Transport-Security");
    ck_assert_ptr_null(hsts);
    th_resp_free(&r);
    stop();
}
END_TEST

START_TEST(metrics_can_be_restricted_to_listed_addresses) {
    const char *elsewhere[] = {"SUANLI_METRICS_ALLOW=10.1.2.0/24", NULL};
    start(elsewhere);
    struct th_resp r = th_req(&srv, "GET", "/metrics", NULL, NULL, NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = th_req(&srv, "GET", "/healthz", NULL, NULL, NULL); /* the rest still answers */
    th_assert_status(&r, 200);
    th_resp_free(&r);
    stop();
    const char *here[] = {"SUANLI_METRICS_ALLOW=10.1.2.0/24, 127.0.0.0/8", NULL};
    start(here);
    r = th_req(&srv, "GET", "/metrics", NULL, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "suanli_http_requests_total"));
    th_resp_free(&r);
    stop();
}
END_TEST

START_TEST(unknown_fields_answer_at_most_twenty_errors) {
    start(NULL);
    enum { KEYS = 60000 };
    size_t cap = (size_t)KEYS * 16 + 64, len = 0;
    char *body = malloc(cap);
    len += (size_t)snprintf(body + len, cap - len, "{\"type\":\"city\",\"name\":\"N\"");
    for (int i = 0; i < KEYS; i++)
        len += (size_t)snprintf(body + len, cap - len, ",\"k%05d\":0", i);
    len += (size_t)snprintf(body + len, cap - len, "}");
    ck_assert_uint_lt(len, 1024 * 1024);
    struct th_resp r = th_req(&srv, "POST", "/v1/organizations", &op, body, NULL);
    free(body);
    th_assert_problem(&r, 400, "validation-failed");
    ck_assert_int_eq((int)json_array_size(json_object_get(r.json, "errors")), 20);
    ck_assert_str_eq(th_str(&r, "errors.0.message"), "is not a known field");
    ck_assert_uint_lt(strlen(r.body), 8192);
    th_resp_free(&r);
    stop();
}
END_TEST

int main(void) {
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("proxies");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, forged_forwarding_from_an_untrusted_peer_is_ignored);
    tcase_add_test(tc, forwarding_from_a_trusted_proxy_names_the_client);
    tcase_add_test(tc, a_bad_proxy_list_stops_start_up);
    tcase_add_test(tc, audit_rows_carry_the_servers_own_request_id);
    tcase_add_test(tc, https_public_url_makes_cookies_host_only_and_sends_hsts);
    tcase_add_test(tc, plain_http_sends_no_hsts);
    tcase_add_test(tc, metrics_can_be_restricted_to_listed_addresses);
    tcase_add_test(tc, unknown_fields_answer_at_most_twenty_errors);
    suite_add_tcase(s, tc);
    return th_run(s);
}
