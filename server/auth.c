/* auth.c — credentials. API keys and session tokens are random 32-byte secrets shown once;
 * the database holds only their keyed BLAKE2b hash, so a stolen table opens nothing. Lookup by
 * hash is an index probe; the secret itself is never compared byte by byte. */
#include "auth.h"

#include "db.h"
#include "log.h"

#include <microhttpd.h>
#include <sodium.h>
#include <string.h>

static unsigned char hash_key[32];

void auth_set_hash_key(const unsigned char key[32]) {
    memcpy(hash_key, key, sizeof hash_key);
}

void auth_token_hash(const char *token, char out[65]) {
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)token, strlen(token), hash_key,
                       sizeof hash_key);
    util_hex(h, sizeof h, out);
}

static const char SQL_BY_KEY[] =
    "SELECT u.id, u.role, u.organization_id, coalesce(o.city_id::text, ''), k.id "
    "FROM api_keys k JOIN users u ON u.id = k.user_id JOIN organizations o ON o.id = "
    "u.organization_id "
    "WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND u.disabled_at IS NULL";

static const char SQL_BY_SESSION[] =
    "SELECT u.id, u.role, u.organization_id, coalesce(o.city_id::text, ''), s.id, s.csrf_hash "
    "FROM sessions s JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = "
    "u.organization_id "
    "WHERE s.token_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL";

static const char *cookie_value(struct http_req *r) {
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND,
                                       r->secure ? AUTH_COOKIE_SECURE : AUTH_COOKIE);
}

static void fill(struct principal *who, PGresult *res, bool cookie) {
    who->authenticated = true;
    who->via_cookie = cookie;
    snprintf(who->user_id, sizeof who->user_id, "%s", PQgetvalue(res, 0, 0));
    who->role = (enum role)role_parse(PQgetvalue(res, 0, 1));
    snprintf(who->org_id, sizeof who->org_id, "%s", PQgetvalue(res, 0, 2));
    snprintf(who->city_id, sizeof who->city_id, "%s", PQgetvalue(res, 0, 3));
    if (cookie) {
        snprintf(who->session_id, sizeof who->session_id, "%s", PQgetvalue(res, 0, 4));
        snprintf(who->csrf_hash, sizeof who->csrf_hash, "%s", PQgetvalue(res, 0, 5));
    } else
        snprintf(who->api_key_id, sizeof who->api_key_id, "%s", PQgetvalue(res, 0, 4));
}

int auth_resolve(struct http_req *r) {
    memset(&r->who, 0, sizeof r->who);
    const char *authz = http_header(r, "Authorization");
    const char *token = NULL;
    bool cookie = false;
    if (authz != NULL) {
        if (strncasecmp(authz, "Bearer ", 7) != 0 || authz[7] == '\0' || strlen(authz) > 512) {
            http_add_header(r, "WWW-Authenticate", "Bearer");
            http_problem(r, P_UNAUTHENTICATED, "Authorization must be 'Bearer <api key>'");
            return 1;
        }
        token = authz + 7;
    } else if ((token = cookie_value(r)) != NULL) {
        cookie = true;
        if (strlen(token) > 512)
            token = "";
    } else {
        return 0;
    }
    char hash[65];
    auth_token_hash(token, hash);
    const char *params[] = {hash};
    PGresult *res;
    int rc = db_exec_idempotent(cookie ? SQL_BY_SESSION : SQL_BY_KEY, 1, params, &res);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        PQclear(res);
        if (cookie)
            return 0; /* an expired cookie is simply no session */
        http_add_header(r, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        http_problem(r, P_UNAUTHENTICATED, "the API key is unknown or revoked");
        return 1;
    }
    fill(&r->who, res, cookie);
    PQclear(res);
    return 0;
}

bool auth_lookup_args(struct http_req *r, bool csrf, struct auth_lookup *out) {
    memset(out, 0, sizeof *out);
    const char *authz = http_header(r, "Authorization");
    const char *token;
    if (authz != NULL) {
        if (strncasecmp(authz, "Bearer ", 7) != 0 || authz[7] == '\0' || strlen(authz) > 512)
            return false;
        token = authz + 7;
    } else {
        token = cookie_value(r);
        if (token == NULL || strlen(token) > 512)
            return false;
        out->cookie = true;
        if (csrf) {
            const char *given = http_header(r, "X-CSRF-Token");
            if (given == NULL || strlen(given) > 256)
                return false;
            auth_token_hash(given, out->csrf_hash);
        }
    }
    auth_token_hash(token, out->token_hash);
    return true;
}

void auth_fill(struct principal *who, const char *const v[5], bool cookie) {
    memset(who, 0, sizeof *who);
    who->authenticated = true;
    who->via_cookie = cookie;
    snprintf(who->user_id, sizeof who->user_id, "%s", v[0] ? v[0] : "");
    who->role = (enum role)role_parse(v[1] ? v[1] : "");
    snprintf(who->org_id, sizeof who->org_id, "%s", v[2] ? v[2] : "");
    snprintf(who->city_id, sizeof who->city_id, "%s", v[3] ? v[3] : "");
    if (cookie)
        snprintf(who->session_id, sizeof who->session_id, "%s", v[4] ? v[4] : "");
    else
        snprintf(who->api_key_id, sizeof who->api_key_id, "%s", v[4] ? v[4] : "");
}

void auth_fill_row(struct principal *who, const PGresult *pr, int col, bool cookie) {
    const char *v[5];
    for (int k = 0; k < 5; k++)
        v[k] = PQgetvalue(pr, 0, col + k);
    auth_fill(who, v, cookie);
}

bool auth_csrf_ok(struct http_req *r) {
    const char *given = http_header(r, "X-CSRF-Token");
    if (given == NULL || strlen(given) > 256 || strlen(r->who.csrf_hash) != 64)
        return false;
    char hash[65];
    auth_token_hash(given, hash);
    return sodium_memcmp(hash, r->who.csrf_hash, 64) == 0;
}

int auth_password_hash(const char *password, char *out) {
    return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

bool auth_password_verify(const char *hash, const char *password) {
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}
