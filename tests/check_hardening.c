/* check_hardening.c — issue 15's HTTP hardening against a real suanlid and PostgreSQL: which
 * forwarding headers are believed (SUANLI_TRUSTED_PROXIES), and what the audit then records as
 * the client's address. Each case starts its own server, since the settings differ. */
#include "harness.h"

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

/* Creates an organization with the extra request headers and returns the client_ip of its
 * audit event, malloc'd. */
static char *audited_ip(const char *const *headers) {
    static int n;
    char body[128];
    snprintf(body, sizeof body, "{\"type\":\"city\",\"name\":\"Hardening %d\"}", ++n);
    struct th_resp r = th_req(&srv, "POST", "/v1/organizations", &op, body, headers);
    th_assert_status(&r, 201);
    char path[160];
    snprintf(path, sizeof path, "/v1/audit/events?subject_id=%s", th_str(&r, "id"));
    th_resp_free(&r);
    r = th_req(&srv, "GET", path, &op, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    char *ip = strdup(th_str(&r, "items.0.client_ip"));
    th_resp_free(&r);
    return ip;
}

static void assert_audited_ip(const char *header, const char *want) {
    const char *h[] = {header, NULL};
    char *ip = audited_ip(header ? h : NULL);
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

int main(void) {
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("proxies");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, forged_forwarding_from_an_untrusted_peer_is_ignored);
    tcase_add_test(tc, forwarding_from_a_trusted_proxy_names_the_client);
    tcase_add_test(tc, a_bad_proxy_list_stops_start_up);
    suite_add_tcase(s, tc);
    return th_run(s);
}
