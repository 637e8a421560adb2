/* identity.c — sessions, the current user, API keys, organisations and users. */
#include "api.h"

#include "auth.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A verifier run when the account does not exist, so that a wrong email costs the same time
 * as a wrong password and does not reveal which accounts exist: an Argon2id hash with the
 * limits auth_password_hash uses (m=64 MiB, t=2) of a random password that was thrown away.
 * A constant, not hashed at start-up: that hash alone made the server's peak RSS 64 MiB more
 * than anything it serves needs (issue 17). */
static const char dummy_hash[] = "$argon2id$v=19$m=65536,t=2,p=1$hHh8quXjijpmzZBpQBKpjA$"
                                 "MclPGsh5jOMcYRJIpq7LFJV+JEaDIQb6iZHJQduAYBE";

/* ==== the password hashers ================================================================ */

/* Argon2id takes 64 MiB and a good part of a CPU second; SUANLI_PASSWORD_HASHERS bound how many
 * run at once. A request that finds them all busy waits up to SUANLI_PASSWORD_WAIT_MS, but no
 * more requests wait than there are hashers: the rest answer 503 at once. So logins hold at
 * most twice SUANLI_PASSWORD_HASHERS worker threads and the others keep serving the API. */
static pthread_mutex_t hashers_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hashers_cv;
static int hashers_running, hashers_waiting;
static atomic_ullong hashers_refused, hashes_done;

static bool hasher_take(void) {
    int max = (int)cfg.password_hashers;
    pthread_mutex_lock(&hashers_mu);
    bool ok = hashers_running < max;
    if (!ok && hashers_waiting < max && cfg.password_wait_ms > 0) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long long ns = until.tv_nsec + (cfg.password_wait_ms % 1000) * 1000000LL;
        until.tv_sec += (time_t)(cfg.password_wait_ms / 1000 + ns / 1000000000LL);
        until.tv_nsec = (long)(ns % 1000000000LL);
        hashers_waiting++;
        while (hashers_running >= max &&
               pthread_cond_timedwait(&hashers_cv, &hashers_mu, &until) != ETIMEDOUT) {
        }
        hashers_waiting--;
        ok = hashers_running < max;
    }
    if (ok)
        hashers_running++;
    pthread_mutex_unlock(&hashers_mu);
    if (!ok)
        atomic_fetch_add(&hashers_refused, 1);
    return ok;
}

static void hasher_give(void) {
    pthread_mutex_lock(&hashers_mu);
    hashers_running--;
    pthread_cond_signal(&hashers_cv);
    pthread_mutex_unlock(&hashers_mu);
    atomic_fetch_add(&hashes_done, 1);
}

static void reply_hashers_busy(struct http_req *r) {
    http_problem(r, P_PASSWORD_HASHERS_BUSY,
                 "every password hasher is busy (SUANLI_PASSWORD_HASHERS); retry shortly");
}

void api_identity_metrics(struct buf *b) {
    pthread_mutex_lock(&hashers_mu);
    int running = hashers_running, waiting = hashers_waiting;
    pthread_mutex_unlock(&hashers_mu);
    buf_printf(b,
               "# HELP suanli_password_hashers_running Argon2id checks running now.\n"
               "# TYPE suanli_password_hashers_running gauge\n"
               "suanli_password_hashers_running %d\n"
               "# HELP suanli_password_hashers_waiting Requests waiting for a password hasher.\n"
               "# TYPE suanli_password_hashers_waiting gauge\n"
               "suanli_password_hashers_waiting %d\n"
               "# HELP suanli_password_hashes_total Argon2id hashes and checks done.\n"
               "# TYPE suanli_password_hashes_total counter\n"
               "suanli_password_hashes_total %llu\n"
               "# HELP suanli_password_hashers_busy_total Requests answered 503 "
               "password-hashers-busy.\n"
               "# TYPE suanli_password_hashers_busy_total counter\n"
               "suanli_password_hashers_busy_total %llu\n",
               running, waiting, (unsigned long long)atomic_load(&hashes_done),
               (unsigned long long)atomic_load(&hashers_refused));
}

int api_identity_init(void) {
    if (cfg.password_hashers * 2 > cfg.threads)
        log_warn("SUANLI_PASSWORD_HASHERS=%lld with SUANLI_THREADS=%lld: a flood of logins can "
                 "hold every worker thread (each hasher, and one waiter per hasher); keep the "
                 "hashers at most a half of the threads",
                 (long long)cfg.password_hashers, (long long)cfg.threads);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&hashers_cv, &attr);
    pthread_condattr_destroy(&attr);
    return 0;
}

/* ==== sessions ============================================================================ */

static const char SQL_LOGIN_CHECK[] = "SELECT throttled, retry_after, user_id, password_hash "
                                      "FROM login_check($1, $2, $3, $4, $5, $6)";
static const char SQL_LOGIN_FAILED[] = "SELECT login_failed($1::jsonb, $2)";
static const char SQL_SESSION_CREATE[] = "SELECT session_create($1::jsonb, $2, $3, $4, $5)";

/* 32 random bytes as unpadded base64url: the bearer secret of a session, key or CSRF token. */
static void new_secret(const char *prefix, char *out, size_t outlen) {
    unsigned char raw[32];
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(out, outlen, "%s%s", prefix, b64);
}

void api_identity_login(struct http_req *r) {
    const char *email = NULL, *password = NULL;
    const struct jf_field fields[] = {
        JF_REQ_STRING("email", &email, 3, 254),
        JF_REQ_STRING("password", &password, 1, 200),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    char pair_max[24], account_max[24], address_max[24], global_max[24];
    snprintf(pair_max, sizeof pair_max, "%lld", (long long)cfg.login_attempts);
    snprintf(account_max, sizeof account_max, "%lld", (long long)cfg.login_account_attempts);
    snprintf(address_max, sizeof address_max, "%lld", (long long)cfg.login_address_attempts);
    snprintf(global_max, sizeof global_max, "%lld", (long long)cfg.login_global_attempts);
    const char *p1[] = {email, r->client_ip, pair_max, account_max, address_max, global_max};
    PGresult *res;
    int rc = db_exec(SQL_LOGIN_CHECK, 6, p1, &res);
    if (rc != 1) {
        PQclear(res);
        http_db_fail(r, rc < 0 ? rc : DB_HARD_ERROR);
        return;
    }
    if (!PQgetisnull(res, 0, 0)) {
        static const struct {
            const char *scope, *detail;
        } why[] = {
            {"account-address", "too many failed logins for this account from this address"},
            {"account", "too many failed logins for this account from all addresses"},
            {"address", "too many failed logins from this address"},
            {"service", "too many failed logins across the service"},
        };
        const char *scope = PQgetvalue(res, 0, 0), *detail = "too many failed logins";
        for (size_t i = 0; i < sizeof why / sizeof why[0]; i++)
            if (strcmp(scope, why[i].scope) == 0)
                detail = why[i].detail;
        char retry[16];
        snprintf(retry, sizeof retry, "%d", atoi(PQgetvalue(res, 0, 1)));
        PQclear(res);
        http_add_header(r, "Retry-After", retry);
        http_problem(r, P_TOO_MANY_LOGINS, "%s; retry in %s s", detail, retry);
        return;
    }
    bool known = !PQgetisnull(res, 0, 2);
    char user_id[UUID_STR_LEN];
    snprintf(user_id, sizeof user_id, "%s", PQgetvalue(res, 0, 2));
    if (!hasher_take()) {
        PQclear(res);
        reply_hashers_busy(r);
        return;
    }
    bool ok = auth_password_verify(known ? PQgetvalue(res, 0, 3) : dummy_hash, password) && known;
    hasher_give();
    PQclear(res);
    const char *actor = api_actor(r);
    if (!ok) {
        const char *p2[] = {actor, email};
        rc = db_exec(SQL_LOGIN_FAILED, 2, p2, NULL);
        if (rc < 0)
            http_db_fail(r, rc);
        else
            http_problem(r, P_BAD_CREDENTIALS, "email or password is wrong");
        return;
    }
    char token[64], csrf[64], token_hash[65], csrf_hash[65], ttl[16];
    new_secret("", token, sizeof token);
    new_secret("", csrf, sizeof csrf);
    auth_token_hash(token, token_hash);
    auth_token_hash(csrf, csrf_hash);
    snprintf(ttl, sizeof ttl, "%lld", (long long)cfg.session_ttl_s);
    const char *p3[] = {actor, user_id, token_hash, csrf_hash, ttl};
    rc = db_exec(SQL_SESSION_CREATE, 5, p3, &res);
    if (rc != 1) {
        PQclear(res);
        http_db_fail(r, rc < 0 ? rc : DB_HARD_ERROR);
        return;
    }
    json_t *user = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    char cookie[256];
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
             r->secure ? AUTH_COOKIE_SECURE : AUTH_COOKIE, token, (long long)cfg.session_ttl_s,
             r->secure ? "; Secure" : "");
    http_add_header(r, "Set-Cookie", cookie);
    http_reply_json(r, 201, json_pack("{s:o, s:s}", "user", user, "csrf_token", csrf));
    sodium_memzero(token, sizeof token);
}

static const char SQL_SESSION_DELETE[] = "SELECT session_delete($1::jsonb, $2)";

void api_identity_logout(struct http_req *r) {
    if (!r->who.via_cookie) {
        http_problem(r, P_NOT_FOUND,
                     "this request carries no session cookie (API keys are "
                     "revoked with DELETE /v1/api-keys/{id})");
        return;
    }
    const char *params[] = {api_actor(r), r->who.session_id};
    int rc = db_exec(SQL_SESSION_DELETE, 2, params, NULL);
    if (rc < 0) {
        http_db_fail(r, rc);
        return;
    }
    http_add_header(r, "Set-Cookie",
                    r->secure ? AUTH_COOKIE_SECURE "=; Path=/; HttpOnly; SameSite=Strict; "
                                                   "Max-Age=0; Secure"
                              : AUTH_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    http_reply_empty(r, 204);
}

static const char SQL_ME[] = "SELECT user_get($1)";

void api_identity_me(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    const char *params[] = {r->who.user_id};
    api_reply_sql(r, 200, SQL_ME, 1, params, "the user no longer exists");
}

/* ==== API keys ============================================================================ */

static const char SQL_KEY_CREATE[] = "SELECT api_key_create($1::jsonb, $2, $3, $4)";
static const char SQL_KEY_LIST[] = "SELECT api_key_list($1::jsonb, $2, $3)";
static const char SQL_KEY_REVOKE[] = "SELECT api_key_revoke($1::jsonb, $2)";

void api_identity_key_create(struct http_req *r) {
    const char *name = NULL;
    const struct jf_field fields[] = {
        JF_REQ_STRING("name", &name, 1, 100),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    char key[64], hash[65], prefix[16];
    new_secret("sk_", key, sizeof key);
    auth_token_hash(key, hash);
    snprintf(prefix, sizeof prefix, "%.11s", key);
    const char *params[] = {api_actor(r), name, hash, prefix};
    PGresult *res;
    int rc = db_exec(SQL_KEY_CREATE, 4, params, &res);
    if (rc != 1) {
        PQclear(res);
        http_db_fail(r, rc < 0 ? rc : DB_HARD_ERROR);
        return;
    }
    json_t *obj = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    json_object_set_new(obj, "key", json_string(key)); /* shown this once only */
    sodium_memzero(key, sizeof key);
    http_reply_json(r, 201, obj);
}

void api_identity_key_list(struct http_req *r) {
    const char *limit, *cursor;
    const struct query_field query[] = {API_QF_PAGE(&limit, &cursor), QF_END};
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), cursor, limit};
    api_reply_sql(r, 200, SQL_KEY_LIST, 3, params, "no keys");
}

void api_identity_key_revoke(struct http_req *r) {
    const char *params[] = {api_actor(r), r->params[0]};
    PGresult *res;
    int rc = db_exec(SQL_KEY_REVOKE, 2, params, &res);
    if (rc != 1) {
        PQclear(res);
        http_db_fail(r, rc < 0 ? rc : DB_HARD_ERROR);
        return;
    }
    bool revoked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (revoked)
        http_reply_empty(r, 204);
    else
        http_problem(r, P_NOT_FOUND, "no active API key %s", r->params[0]);
}

/* ==== organisations and users ============================================================= */

static const char *const org_types[] = {"operator", "city", "provider", "institute", NULL};
static const char *const role_names[] = {"operator", "city_admin", "auditor",
                                         "provider", "institute",  NULL};

static const char SQL_ORG_CREATE[] = "SELECT org_create($1::jsonb, $2, $3, $4)";
static const char SQL_ORG_LIST[] = "SELECT org_list($1::jsonb, $2, $3, $4)";
static const char SQL_ORG_GET[] = "SELECT org_get($1::jsonb, $2)";
static const char SQL_USER_CREATE[] = "SELECT user_create($1::jsonb, $2, $3, $4, $5)";

void api_identity_org_create(struct http_req *r) {
    const char *type = NULL, *name = NULL, *city = NULL;
    const struct jf_field fields[] = {
        JF_REQ_ENUM("type", &type, org_types),
        JF_REQ_STRING("name", &name, 1, 200),
        JF_OPT_UUID("city_id", &city, NULL),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    const char *params[] = {api_actor(r), type, name, city};
    api_reply_sql(r, 201, SQL_ORG_CREATE, 4, params, "not found");
}

void api_identity_org_list(struct http_req *r) {
    const char *limit, *cursor, *type;
    const struct query_field query[] = {API_QF_PAGE(&limit, &cursor),
                                        QF_ENUM("type", &type, org_types), QF_END};
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), type, cursor, limit};
    api_reply_sql_read(r, 200, SQL_ORG_LIST, 4, params, "none");
}

void api_identity_org_get(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    char detail[80];
    snprintf(detail, sizeof detail, "no organization %s", r->params[0]);
    api_reply_sql_read(r, 200, SQL_ORG_GET, 2, params, detail);
}

void api_identity_user_create(struct http_req *r) {
    const char *email = NULL, *password = NULL, *role = NULL, *org = NULL;
    const struct jf_field fields[] = {
        JF_REQ_STRING("email", &email, 3, 254),
        JF_REQ_STRING("password", &password, 10, 200),
        JF_REQ_ENUM("role", &role, role_names),
        JF_REQ_UUID("organization_id", &org),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    const char *at = strchr(email, '@');
    if (at == NULL || at == email || strchr(at + 1, '.') == NULL || strchr(email, ' ') != NULL) {
        http_problem_field(r, P_VALIDATION, "email", "must be an email address");
        return;
    }
    char hash[crypto_pwhash_STRBYTES];
    if (!hasher_take()) {
        reply_hashers_busy(r);
        return;
    }
    int hashed = auth_password_hash(password, hash);
    hasher_give();
    if (hashed != 0) {
        http_problem(r, P_INTERNAL, "could not hash the password");
        return;
    }
    const char *params[] = {api_actor(r), email, hash, role, org};
    api_reply_sql(r, 201, SQL_USER_CREATE, 5, params, "not found");
}
