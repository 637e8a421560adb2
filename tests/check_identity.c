/* check_identity.c — sessions, API keys, roles, CSRF, login throttling, organisations and users,
 * against a real suanlid and PostgreSQL. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct th_server srv;
static struct th_auth op, admin, other_admin, institute;
static char *dburl, *city, *other_city, *inst_org;

static void up(void) {
    dburl = th_db_create("identity");
    th_server_start(&srv, dburl, NULL);
    th_operator(&srv, &op);
    city = th_org(&srv, &op, "city", "Chengdu", NULL);
    other_city = th_org(&srv, &op, "city", "Hami", NULL);
    th_user(&srv, &op, "city_admin", city, "admin@chengdu.test", &admin);
    th_user(&srv, &op, "city_admin", other_city, "admin@hami.test", &other_admin);
    inst_org = th_org(&srv, &admin, "institute", "SCU Lab", NULL);
    th_user(&srv, &admin, "institute", inst_org, "lab@scu.test", &institute);
}

static int down(void) {
    int rc = th_server_stop(&srv);
    free(dburl);
    free(city);
    free(other_city);
    free(inst_org);
    return rc;
}

START_TEST(login_returns_the_user_a_session_cookie_and_a_csrf_token) {
    struct th_resp r =
        th_req(&srv, "POST", "/v1/sessions", NULL,
               "{\"email\":\"LAB@scu.test\",\"password\":\"password-institute\"}", NULL);
    th_assert_status(&r, 201);
    ck_assert_str_eq(th_str(&r, "user.email"), "lab@scu.test");
    ck_assert_str_eq(th_str(&r, "user.role"), "institute");
    ck_assert_str_eq(th_str(&r, "user.organization_id"), inst_org);
    ck_assert_ptr_nonnull(th_str(&r, "csrf_token"));
    char *cookie = th_header(&r, "Set-Cookie");
    ck_assert_ptr_nonnull(strstr(cookie, "suanli_session="));
    ck_assert_ptr_nonnull(strstr(cookie, "HttpOnly"));
    ck_assert_ptr_nonnull(strstr(cookie, "SameSite=Strict"));
    ck_assert_ptr_null(strstr(cookie, "Secure"));
    free(cookie);
    th_resp_free(&r);
    /* behind a TLS-terminating proxy the cookie is Secure */
    const char *tls[] = {"X-Forwarded-Proto: https", NULL};
    r = th_req(&srv, "POST", "/v1/sessions", NULL,
               "{\"email\":\"lab@scu.test\",\"password\":\"password-institute\"}", tls);
    cookie = th_header(&r, "Set-Cookie");
    ck_assert_ptr_nonnull(strstr(cookie, "; Secure"));
    free(cookie);
    th_resp_free(&r);
}
END_TEST

START_TEST(me_answers_for_cookie_and_api_key) {
    struct th_auth cookie_only = institute;
    cookie_only.key[0] = '\0';
    struct th_resp r = th_req(&srv, "GET", "/v1/me", &cookie_only, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "id"), institute.user_id);
    ck_assert_str_eq(th_str(&r, "role"), "institute");
    th_resp_free(&r);
    r = th_req(&srv, "GET", "/v1/me", &institute, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "email"), "lab@scu.test");
    th_resp_free(&r);
}
END_TEST

START_TEST(wrong_password_and_unknown_email_are_the_same_401) {
    struct th_resp r = th_req(&srv, "POST", "/v1/sessions", NULL,
                              "{\"email\":\"admin@chengdu.test\",\"password\":\"nope\"}", NULL);
    th_assert_problem(&r, 401, "bad-credentials");
    char *d1 = strdup(th_str(&r, "detail"));
    th_resp_free(&r);
    r = th_req(&srv, "POST", "/v1/sessions", NULL,
               "{\"email\":\"nobody@chengdu.test\",\"password\":\"nope\"}", NULL);
    th_assert_problem(&r, 401, "bad-credentials");
    ck_assert_str_eq(th_str(&r, "detail"), d1);
    free(d1);
    th_resp_free(&r);
}
END_TEST

START_TEST(sixth_failed_login_within_a_minute_is_429_even_with_the_right_password) {
    struct th_auth victim;
    th_user(&srv, &admin, "institute", inst_org, "victim@scu.test", &victim);
    for (int i = 0; i < 5; i++) {
        struct th_resp r = th_req(&srv, "POST", "/v1/sessions", NULL,
                                  "{\"email\":\"victim@scu.test\",\"password\":\"guess\"}", NULL);
        th_assert_problem(&r, 401, "bad-credentials");
        th_resp_free(&r);
    }
    struct th_resp r =
        th_req(&srv, "POST", "/v1/sessions", NULL,
               "{\"email\":\"victim@scu.test\",\"password\":\"password-institute\"}", NULL);
    th_assert_problem(&r, 429, "too-many-login-attempts");
    char *retry = th_header(&r, "Retry-After");
    ck_assert_ptr_nonnull(retry);
    free(retry);
    th_resp_free(&r);
    /* another account from the same address is not affected */
    ck_assert_int_eq(th_login(&srv, "lab@scu.test", "password-institute", &victim), 201);
    /* every failure is in the audit log */
    char *n = th_sql(dburl, "SELECT count(*) FROM audit_events WHERE action = "
                            "'session.login_failed' AND data->>'email' = 'victim@scu.test'");
    ck_assert_str_eq(n, "5");
    free(n);
}
END_TEST

START_TEST(logout_ends_the_session) {
    struct th_auth s;
    ck_assert_int_eq(th_login(&srv, "lab@scu.test", "password-institute", &s), 201);
    struct th_resp r = th_req(&srv, "DELETE", "/v1/sessions/current", &s, NULL, NULL);
    th_assert_status(&r, 204);
    char *cookie = th_header(&r, "Set-Cookie");
    ck_assert_ptr_nonnull(strstr(cookie, "Max-Age=0"));
    free(cookie);
    th_resp_free(&r);
    r = th_req(&srv, "GET", "/v1/me", &s, NULL, NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
}
END_TEST

START_TEST(cookie_writes_need_the_csrf_token) {
    struct th_auth s;
    ck_assert_int_eq(th_login(&srv, "admin@chengdu.test", "password-city_admin", &s), 201);
    struct th_auth no_csrf = s;
    no_csrf.csrf[0] = '\0';
    struct th_resp r = th_req(&srv, "POST", "/v1/api-keys", &no_csrf, "{\"name\":\"x\"}", NULL);
    th_assert_problem(&r, 403, "csrf-token-invalid");
    th_resp_free(&r);
    struct th_auth wrong = s;
    snprintf(wrong.csrf, sizeof wrong.csrf, "%s", institute.csrf);
    r = th_req(&srv, "POST", "/v1/api-keys", &wrong, "{\"name\":\"x\"}", NULL);
    th_assert_problem(&r, 403, "csrf-token-invalid");
    th_resp_free(&r);
    r = th_req(&srv, "POST", "/v1/api-keys", &s, "{\"name\":\"x\"}", NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    /* reads need no token */
    r = th_req(&srv, "GET", "/v1/api-keys", &no_csrf, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
}
END_TEST

START_TEST(api_key_is_shown_once_stored_hashed_and_revocable) {
    struct th_resp r = th_req(&srv, "POST", "/v1/api-keys", &institute, "{\"name\":\"ci\"}", NULL);
    th_assert_status(&r, 201);
    struct th_auth k = {0};
    snprintf(k.key, sizeof k.key, "%s", th_str(&r, "key"));
    char *id = strdup(th_str(&r, "id"));
    ck_assert_int_eq(strncmp(k.key, "sk_", 3), 0);
    th_resp_free(&r);
    /* the secret is not in the database, and not in the listing */
    char q[512];
    snprintf(q, sizeof q, "SELECT count(*) FROM api_keys WHERE key_hash = '%s' OR prefix = '%s'",
             k.key, k.key);
    char *n = th_sql(dburl, q);
    ck_assert_str_eq(n, "0");
    free(n);
    r = th_req(&srv, "GET", "/v1/api-keys", &institute, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_ptr_null(strstr(r.body, k.key));
    ck_assert_ptr_nonnull(strstr(r.body, id));
    th_resp_free(&r);
    r = th_req(&srv, "GET", "/v1/me", &k, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    /* someone else cannot revoke it: 404 as if it did not exist */
    char path[128];
    snprintf(path, sizeof path, "/v1/api-keys/%s", id);
    r = th_req(&srv, "DELETE", path, &admin, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&srv, "DELETE", path, &institute, NULL, NULL);
    th_assert_status(&r, 204);
    th_resp_free(&r);
    r = th_req(&srv, "GET", "/v1/me", &k, NULL, NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
    free(id);
}
END_TEST

START_TEST(forged_api_key_is_401) {
    struct th_auth forged = {0};
    snprintf(forged.key, sizeof forged.key, "sk_%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    struct th_resp r = th_req(&srv, "GET", "/v1/me", &forged, NULL, NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
    const char *basic[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
    r = th_req(&srv, "GET", "/v1/me", NULL, NULL, basic);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
}
END_TEST

START_TEST(no_credentials_is_401_and_wrong_role_is_403) {
    struct th_resp r = th_req(&srv, "GET", "/v1/me", NULL, NULL, NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    char *www = th_header(&r, "WWW-Authenticate");
    ck_assert_ptr_nonnull(www);
    free(www);
    th_resp_free(&r);
    r = th_req(&srv, "POST", "/v1/organizations", &institute,
               "{\"type\":\"institute\",\"name\":\"Mine\"}", NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = th_req(&srv, "POST", "/v1/users", &institute,
               "{\"email\":\"x@y.cn\",\"password\":\"0123456789\",\"role\":\"institute\","
               "\"organization_id\":\"00000000-0000-0000-0000-000000000000\"}",
               NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
}
END_TEST

START_TEST(city_admin_registers_in_its_own_city_only) {
    struct th_resp r = th_req(&srv, "POST", "/v1/organizations", &admin,
                              "{\"type\":\"provider\",\"name\":\"West Cloud\"}", NULL);
    th_assert_status(&r, 201);
    ck_assert_str_eq(th_str(&r, "city_id"), city);
    th_resp_free(&r);
    char body[256];
    snprintf(body, sizeof body, "{\"type\":\"provider\",\"name\":\"Sneaky\",\"city_id\":\"%s\"}",
             other_city);
    r = th_req(&srv, "POST", "/v1/organizations", &admin, body, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&srv, "POST", "/v1/organizations", &admin, "{\"type\":\"city\",\"name\":\"Mine\"}",
               NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    /* users only in organisations of its city, with a role that fits the organisation */
    snprintf(body, sizeof body,
             "{\"email\":\"spy@hami.test\",\"password\":\"0123456789\",\"role\":\"city_admin\","
             "\"organization_id\":\"%s\"}",
             other_city);
    r = th_req(&srv, "POST", "/v1/users", &admin, body, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    snprintf(body, sizeof body,
             "{\"email\":\"boss@scu.test\",\"password\":\"0123456789\",\"role\":\"operator\","
             "\"organization_id\":\"%s\"}",
             inst_org);
    r = th_req(&srv, "POST", "/v1/users", &admin, body, NULL);
    th_assert_problem(&r, 400, "validation-failed");
    th_resp_free(&r);
}
END_TEST

START_TEST(foreign_organizations_are_invisible) {
    char path[128];
    snprintf(path, sizeof path, "/v1/organizations/%s", inst_org);
    struct th_resp r = th_req(&srv, "GET", path, &other_admin, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&srv, "GET", path, &admin, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "name"), "SCU Lab");
    th_resp_free(&r);
    r = th_req(&srv, "GET", "/v1/organizations?limit=200", &other_admin, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_ptr_null(strstr(r.body, inst_org));
    ck_assert_ptr_null(strstr(r.body, "Chengdu"));
    th_resp_free(&r);
}
END_TEST

START_TEST(organization_list_pages_by_cursor) {
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "Paged %d", i);
        free(th_org(&srv, &admin, "provider", name, NULL));
    }
    int seen = 0;
    char cursor[64] = "";
    for (int page = 0; page < 20; page++) {
        char path[160];
        snprintf(path, sizeof path, "/v1/organizations?type=provider&limit=2%s%s",
                 cursor[0] ? "&cursor=" : "", cursor);
        struct th_resp r = th_req(&srv, "GET", path, &admin, NULL, NULL);
        th_assert_status(&r, 200);
        json_t *items = json_object_get(r.json, "items");
        ck_assert_int_le((int)json_array_size(items), 2);
        seen += (int)json_array_size(items);
        const char *next = th_str(&r, "next_cursor");
        if (next == NULL) {
            th_resp_free(&r);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", next);
        th_resp_free(&r);
    }
    char *n = th_sql(dburl, "SELECT count(*) FROM organizations o JOIN organizations c ON "
                            "c.id = o.city_id WHERE o.type = 'provider' AND c.name = 'Chengdu'");
    ck_assert_int_eq(seen, atoi(n));
    free(n);
}
END_TEST

START_TEST(duplicate_email_is_409) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"email\":\"lab@scu.test\",\"password\":\"0123456789\",\"role\":\"institute\","
             "\"organization_id\":\"%s\"}",
             inst_org);
    struct th_resp r = th_req(&srv, "POST", "/v1/users", &admin, body, NULL);
    th_assert_problem(&r, 409, "duplicate");
    th_resp_free(&r);
}
END_TEST

START_TEST(passwords_are_stored_as_argon2id) {
    char *h = th_sql(dburl, "SELECT password_hash FROM users WHERE email = 'lab@scu.test'");
    ck_assert_int_eq(strncmp(h, "$argon2id$", 10), 0);
    free(h);
}
END_TEST

START_TEST(every_identity_change_is_audited) {
    char *n =
        th_sql(dburl, "SELECT count(*) FROM audit_events WHERE action IN "
                      "('organization.create','user.create','api_key.create','session.create')");
    ck_assert_int_ge(atoi(n), 10);
    free(n);
    char q[256];
    snprintf(q, sizeof q,
             "SELECT actor_role || ' ' || actor_org FROM audit_events WHERE action = "
             "'organization.create' AND subject_id = '%s'",
             inst_org);
    char *who = th_sql(dburl, q);
    char want[128];
    snprintf(want, sizeof want, "city_admin %s", city);
    ck_assert_str_eq(who, want);
    free(who);
}
END_TEST

/* ==== throttles across accounts, addresses and the service =============================== */

/* A server of its own (the shared one's counts would leak into other cases) that believes
 * X-Forwarded-For from 127.0.0.1, so that one test client speaks from many addresses. */
static struct th_server tsrv;
static char *tdb;

static void throttle_server(const char *label, const char *const *env, struct th_auth *top) {
    tdb = th_db_create(label);
    th_server_start(&tsrv, tdb, env);
    th_operator(&tsrv, top);
}

static struct th_resp login_from(const char *ip, const char *email, const char *password) {
    char xff[64], body[256];
    snprintf(xff, sizeof xff, "X-Forwarded-For: %s", ip);
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    const char *hdr[] = {xff, NULL};
    return th_req(&tsrv, "POST", "/v1/sessions", NULL, body, hdr);
}

static void expect_login(const char *ip, const char *email, const char *password, long status,
                         const char *detail_part) {
    struct th_resp r = login_from(ip, email, password);
    if (status == 201) {
        th_assert_status(&r, 201);
    } else if (status == 401) {
        th_assert_problem(&r, 401, "bad-credentials");
    } else {
        th_assert_problem(&r, 429, "too-many-login-attempts");
        ck_assert_msg(strstr(th_str(&r, "detail"), detail_part) != NULL, "detail: %s",
                      th_str(&r, "detail"));
        char *retry = th_header(&r, "Retry-After");
        ck_assert_ptr_nonnull(retry);
        ck_assert_int_ge(atoi(retry), 1);
        ck_assert_int_le(atoi(retry), 60);
        free(retry);
    }
    th_resp_free(&r);
}

START_TEST(failed_logins_are_throttled_per_account_per_address_and_for_the_service) {
    const char *env[] = {"SUANLI_TRUSTED_PROXIES=127.0.0.1", "SUANLI_LOGIN_ATTEMPTS=3",
                         "SUANLI_LOGIN_ACCOUNT_ATTEMPTS=5",  "SUANLI_LOGIN_ADDRESS_ATTEMPTS=7",
                         "SUANLI_LOGIN_GLOBAL_ATTEMPTS=14",  NULL};
    struct th_auth top, a, b, c;
    throttle_server("identity_throttle", env, &top);
    char *org = th_org(&tsrv, &top, "city", "Throttle City", NULL);
    th_user(&tsrv, &top, "city_admin", org, "a@throttle.test", &a);
    th_user(&tsrv, &top, "city_admin", org, "b@throttle.test", &b);
    th_user(&tsrv, &top, "city_admin", org, "c@throttle.test", &c);
    /* one account from five addresses, each below the per-address limit of 3 */
    for (int i = 1; i <= 5; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.1.0.%d", i);
        expect_login(ip, "a@throttle.test", "wrong-guess", 401, NULL);
    }
    expect_login("10.1.0.6", "a@throttle.test", "password-city_admin", 429,
                 "this account from all addresses");
    expect_login("10.1.0.6", "b@throttle.test", "password-city_admin", 201, NULL);
    /* one address trying seven accounts (that do not exist) */
    for (int i = 0; i < 7; i++) {
        char email[64];
        snprintf(email, sizeof email, "guess%d@throttle.test", i);
        expect_login("10.2.0.1", email, "wrong-guess", 401, NULL);
    }
    expect_login("10.2.0.1", "b@throttle.test", "password-city_admin", 429, "from this address");
    expect_login("10.2.0.2", "b@throttle.test", "password-city_admin", 201, NULL);
    /* twelve failures so far; two more fill the service's 14 */
    expect_login("10.3.0.1", "c@throttle.test", "wrong-guess", 401, NULL);
    expect_login("10.3.0.2", "c@throttle.test", "wrong-guess", 401, NULL);
    expect_login("10.3.0.9", "c@throttle.test", "password-city_admin", 429, "across the service");
    /* a throttled attempt is neither checked nor counted */
    char *n = th_sql(tdb, "SELECT count(*) FROM login_failures");
    ck_assert_str_eq(n, "14");
    free(n);
    free(org);
    ck_assert_int_eq(th_server_stop(&tsrv), 0);
    free(tdb);
}
END_TEST

START_TEST(unknown_email_failures_are_counted_and_only_sampled_into_the_audit_log) {
    const char *env[] = {"SUANLI_TRUSTED_PROXIES=127.0.0.1", NULL};
    struct th_auth top;
    throttle_server("identity_unknown", env, &top);
    for (int i = 0; i < 25; i++) {
        char email[64];
        snprintf(email, sizeof email, "nobody%d@unknown.test", i);
        expect_login("10.9.0.1", email, "wrong-guess", 401, NULL);
    }
    /* counted per address and hour (an hour may turn during the test: sum the rows) */
    char *n = th_sql(tdb, "SELECT sum(failures) FROM login_unknown_counts "
                          "WHERE client_ip = '10.9.0.1'");
    ck_assert_str_eq(n, "25");
    free(n);
    /* the audit log has the 1st, 10th, 100th, … of each hour, not all 25 */
    n = th_sql(tdb, "SELECT count(*) FROM audit_events WHERE action = 'session.login_failed' "
                    "AND data->>'email' LIKE 'nobody%'");
    ck_assert_str_eq(n, "0");
    free(n);
    char *sampled = th_sql(tdb, "SELECT count(*) FROM audit_events WHERE action = "
                                "'session.login_failed_unknown' AND client_ip = '10.9.0.1'");
    char *want = th_sql(tdb, "SELECT sum(floor(log(failures)) + 1)::int FROM "
                             "login_unknown_counts WHERE client_ip = '10.9.0.1'");
    ck_assert_str_eq(sampled, want);
    ck_assert_int_le(atoi(sampled), 3);
    free(sampled);
    free(want);
    n = th_sql(tdb, "SELECT max((data->>'failures_this_hour')::int) FROM audit_events "
                    "WHERE action = 'session.login_failed_unknown'");
    ck_assert_int_ge(atoi(n), 10);
    free(n);
    ck_assert_int_eq(th_server_stop(&tsrv), 0);
    free(tdb);
}
END_TEST

int main(void) {
    Suite *s = suite_create("identity");
    th_shared(up, down);
    th_case(s, login_returns_the_user_a_session_cookie_and_a_csrf_token, 60, NULL, NULL);
    th_case(s, me_answers_for_cookie_and_api_key, 60, NULL, NULL);
    th_case(s, wrong_password_and_unknown_email_are_the_same_401, 60, NULL, NULL);
    th_case(s, sixth_failed_login_within_a_minute_is_429_even_with_the_right_password, 60, NULL,
            NULL);
    th_case(s, logout_ends_the_session, 60, NULL, NULL);
    th_case(s, cookie_writes_need_the_csrf_token, 60, NULL, NULL);
    th_case(s, api_key_is_shown_once_stored_hashed_and_revocable, 60, NULL, NULL);
    th_case(s, forged_api_key_is_401, 60, NULL, NULL);
    th_case(s, no_credentials_is_401_and_wrong_role_is_403, 60, NULL, NULL);
    th_case(s, city_admin_registers_in_its_own_city_only, 60, NULL, NULL);
    th_case(s, foreign_organizations_are_invisible, 60, NULL, NULL);
    th_case(s, organization_list_pages_by_cursor, 60, NULL, NULL);
    th_case(s, duplicate_email_is_409, 60, NULL, NULL);
    th_case(s, passwords_are_stored_as_argon2id, 60, NULL, NULL);
    th_case(s, every_identity_change_is_audited, 60, NULL, NULL);
    th_case(s, failed_logins_are_throttled_per_account_per_address_and_for_the_service, 180, NULL,
            NULL);
    th_case(s, unknown_email_failures_are_counted_and_only_sampled_into_the_audit_log, 180, NULL,
            NULL);
    return th_run(s);
}
