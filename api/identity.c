/* identity.c — sessions, the current user, API keys, organisations and users. */
#include "api.h"

#include "auth.h"
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A verifier run when the account does not exist, so that a wrong email costs the same time
 * as a wrong password and does not reveal which accounts exist. */
static char dummy_hash[crypto_pwhash_STRBYTES];

int api_identity_init(void) {
    return auth_password_hash("suanli-timing-equaliser", dummy_hash);
}

/* ==== sessions ============================================================================ */

static const char SQL_LOGIN_CHECK[] =
    "SELECT throttled, user_id, password_hash FROM login_check($1, $2, $3)";
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
    char max[16];
    snprintf(max, sizeof max, "%lld", (long long)cfg.login_attempts);
    const char *p1[] = {email, r->client_ip, max};
    PGresult *res;
    int rc = db_exec(SQL_LOGIN_CHECK, 3, p1, &res);
    if (rc != 1) {
        PQclear(res);
        http_db_fail(r, rc < 0 ? rc : DB_HARD_ERROR);
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        PQclear(res);
        http_add_header(r, "Retry-After", "60");
        http_problem(r, P_TOO_MANY_LOGINS,
                     "too many failed logins for this account from this address; wait a minute");
        return;
    }
    bool known = !PQgetisnull(res, 0, 1);
    bool ok = auth_password_verify(known ? PQgetvalue(res, 0, 2) : dummy_hash, password) && known;
    char user_id[UUID_STR_LEN];
    snprintf(user_id, sizeof user_id, "%s", PQgetvalue(res, 0, 1));
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
    if (auth_password_hash(password, hash) != 0) {
        http_problem(r, P_INTERNAL, "could not hash the password");
        return;
    }
    const char *params[] = {api_actor(r), email, hash, role, org};
    api_reply_sql(r, 201, SQL_USER_CREATE, 5, params, "not found");
}
