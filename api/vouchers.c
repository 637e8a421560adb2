/* vouchers.c — signed vouchers: issuance (one or a batch), reads, revocation, verification
 * and the public keys (tokens are verified by server/vtoken.c: vtoken_verify_own).
 *
 * A voucher's token is never stored: it is recomputed from the voucher's claims and its kid
 * whenever the voucher is shown (PASETO v4.public is deterministic), see server/vtoken.h. */
#include "api.h"

#include "keys.h"
#include "log.h"
#include "vtoken.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOUCHER_MAX_BATCH 10000
#define VOUCHER_MAX_FACE_FEN INT64_C(1000000000000)
#define VOUCHER_MAX_ERRORS 20 /* validation errors listed for a batch */

/* ==== start-up ============================================================================ */

static const char SQL_KEYS_SYNC[] = "SELECT signing_keys_sync($1::jsonb)";

bool api_vouchers_sync_keys(void) {
    char *keys = vtoken_keyring_json();
    if (keys == NULL)
        return false;
    const char *params[] = {keys};
    int rc = db_exec(SQL_KEYS_SYNC, 1, params, NULL);
    free(keys);
    if (rc < 0) {
        log_warn("could not register the signing keys yet (%s); retrying in the background",
                 db_last_error()->message);
        return false;
    }
    return true;
}

int api_vouchers_init(void) {
    if (vtoken_verifier_init() != 0)
        return -1;
    bool synced = api_vouchers_sync_keys();
    db_thread_cleanup(); /* the main thread serves no requests: do not keep its connection */
    return api_maintenance_start(!synced);
}

void api_vouchers_cleanup(void) {
    api_maintenance_stop();
    vtoken_verifier_cleanup();
}

/* ==== tokens ============================================================================== */

static const struct signing_key *signing_key(const char *kid) {
    for (int i = 0; kid != NULL && i < keyring.nkeys; i++)
        if (strcmp(keyring.keys[i].kid, kid) == 0)
            return &keyring.keys[i];
    return NULL;
}

/* Adds "token" to a voucher object: its claims signed with its key, or null when that key is
 * not in this server's keyring any more. */
static void voucher_add_token(json_t *v) {
    struct vtoken_claims c;
    const struct signing_key *k = signing_key(json_string_value(json_object_get(v, "kid")));
    char *token = NULL;
    if (k != NULL && vtoken_claims_from_voucher(v, &c) &&
        vtoken_sign(k->sk, k->kid, &c, &token) == 0)
        json_object_set_new(v, "token", json_string(token));
    else
        json_object_set_new(v, "token", json_null());
    free(token);
}

/* Replies a voucher (a JSON text from SQL) with its token. */
static void reply_voucher(struct http_req *r, unsigned status, const char *text) {
    json_t *v = json_loads(text, 0, NULL);
    if (v == NULL) {
        http_problem(r, P_INTERNAL, "internal error; request id %s", r->request_id);
        return;
    }
    voucher_add_token(v);
    http_reply_json(r, status, v);
}

/* ==== issuance ============================================================================ */

static const char SQL_VOUCHER_ISSUE[] = "SELECT voucher_issue($1::jsonb, $2, $3, $4::jsonb)";

static void add_error(json_t *errors, const char *field, const char *message) {
    if (json_array_size(errors) < VOUCHER_MAX_ERRORS)
        http_error_add(errors, field, message);
}

/* One voucher of a request: its own fields over the batch's defaults. Adds errors (prefix
 * names the element) and returns the merged object, or NULL. */
static json_t *issue_item(json_t *obj, json_t *defaults, const char *prefix, json_t *errors) {
    const char *inst = NULL, *nbf = NULL, *exp = NULL;
    int64_t face = 0;
    const struct jf_field fields[] = {
        JF_OPT_UUID("institute_id", &inst, NULL),
        JF_OPT_INT("face_value_fen", &face, 1, VOUCHER_MAX_FACE_FEN, NULL),
        JF_OPT_TIME("not_before", &nbf, NULL),
        JF_OPT_TIME("expires_at", &exp, NULL),
        JF_END,
    };
    json_t *e = jf_check(obj, fields, prefix);
    if (e != NULL) {
        size_t i;
        json_t *x;
        json_array_foreach(e, i, x) {
            add_error(errors, json_string_value(json_object_get(x, "field")),
                      json_string_value(json_object_get(x, "message")));
        }
        json_decref(e);
        return NULL;
    }
    json_t *item = json_deep_copy(defaults);
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        if (!json_is_null(value))
            json_object_set(item, key, value);
    }
    static const char *const required[] = {"institute_id", "face_value_fen", "expires_at"};
    bool ok = true;
    for (size_t i = 0; i < 3; i++) {
        if (json_object_get(item, required[i]) == NULL) {
            char field[64];
            snprintf(field, sizeof field, "%s%s", prefix, required[i]);
            add_error(errors, field, "is required");
            ok = false;
        }
    }
    if (!ok) {
        json_decref(item);
        return NULL;
    }
    return item;
}

/* POST /v1/programs/{id}/vouchers: {institute_id, face_value_fen, not_before?, expires_at} for
 * one voucher, or {"vouchers": [ … ]} for up to 10 000 (fields given beside "vouchers" are
 * defaults for every element, so that a batch for many institutes fits in the 1 MiB body). */
void api_vouchers_issue(struct http_req *r) {
    const char *inst = NULL, *nbf = NULL, *exp = NULL;
    int64_t face = 0;
    json_t *list = NULL;
    bool has_list;
    const struct jf_field fields[] = {
        JF_OPT_UUID("institute_id", &inst, NULL),
        JF_OPT_INT("face_value_fen", &face, 1, VOUCHER_MAX_FACE_FEN, NULL),
        JF_OPT_TIME("not_before", &nbf, NULL),
        JF_OPT_TIME("expires_at", &exp, NULL),
        JF_OPT_ARRAY("vouchers", &list, 1, VOUCHER_MAX_BATCH, &has_list),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    json_t *body = http_body_object(r);
    json_t *defaults = json_deep_copy(body);
    json_object_del(defaults, "vouchers");
    json_t *items = json_array(), *errors = json_array();
    if (!has_list) {
        json_t *none = json_object();
        json_t *item = issue_item(defaults, none, "", errors);
        json_decref(none);
        if (item != NULL)
            json_array_append_new(items, item);
    } else {
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "vouchers[%zu].", i);
            json_t *item = issue_item(e, defaults, prefix, errors);
            if (item != NULL)
                json_array_append_new(items, item);
        }
    }
    json_decref(defaults);
    if (!http_errors_ok(r, P_VALIDATION, errors)) {
        json_decref(items);
        return;
    }
    char *text = http_req_own_str(r, json_dumps(items, JSON_COMPACT));
    json_decref(items);
    const char *params[] = {api_actor(r), r->params[0], keys_current()->kid, text};
    PGresult *res;
    /* A batch is one statement whose time grows with its size (each voucher, its ledger entry
     * and its audit event): it gets the request's timeout plus 3 ms a voucher. */
    size_t n = has_list ? json_array_size(list) : 1;
    int rc = n > 100 ? db_exec_long(SQL_VOUCHER_ISSUE, 4, params, &res,
                                    db_statement_timeout_ms() + (int)n * 3)
                     : db_exec(SQL_VOUCHER_ISSUE, 4, params, &res);
    if (rc != 1) {
        PQclear(res);
        http_db_fail(r, rc < 0 ? rc : DB_HARD_ERROR);
        return;
    }
    json_t *answer = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    json_t *issued = json_object_get(answer, "items");
    size_t i;
    json_t *v;
    json_array_foreach(issued, i, v) voucher_add_token(v);
    if (has_list) {
        http_reply_json(r, 201, answer);
        return;
    }
    json_t *one = json_incref(json_array_get(issued, 0));
    json_decref(answer);
    char location[64];
    snprintf(location, sizeof location, "/v1/vouchers/%s",
             json_string_value(json_object_get(one, "id")));
    http_add_header(r, "Location", location);
    http_reply_json(r, 201, one);
}

/* ==== reads =============================================================================== */

static const char *const voucher_states[] = {"active", "exhausted", "revoked", "expired", NULL};

static const char SQL_VOUCHER_LIST[] = "SELECT voucher_list($1::jsonb, $2, $3, $4, $5, $6)";

void api_vouchers_list(struct http_req *r) {
    const char *limit, *cursor, *program, *inst, *status;
    const struct query_field query[] = {
        API_QF_PAGE(&limit, &cursor),
        QF_UUID("program_id", &program),
        QF_UUID("institute_id", &inst),
        QF_ENUM("status", &status, voucher_states),
        QF_END,
    };
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), program, inst, status, cursor, limit};
    api_reply_sql(r, 200, SQL_VOUCHER_LIST, 6, params, "no vouchers");
}

static const char SQL_VOUCHER_GET[] = "SELECT voucher_get($1::jsonb, $2)";

void api_vouchers_get(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    PGresult *res;
    int rc = db_exec_idempotent(SQL_VOUCHER_GET, 2, params, &res);
    if (rc < 0) {
        http_db_fail(r, rc);
        return;
    }
    if (rc == 0 || PQgetisnull(res, 0, 0))
        http_problem(r, P_NOT_FOUND, "no voucher %s", r->params[0]);
    else
        reply_voucher(r, 200, PQgetvalue(res, 0, 0));
    PQclear(res);
}

/* ==== revocation ========================================================================== */

static const char SQL_VOUCHER_REVOKE[] = "SELECT voucher_revoke($1::jsonb, $2, $3)";

void api_vouchers_revoke(struct http_req *r) {
    const char *reason = NULL;
    const struct jf_field fields[] = {
        JF_OPT_STRING("reason", &reason, 1, 500, NULL),
        JF_END,
    };
    if (r->body.len > 0 && !jf_decode_body(r, fields))
        return;
    const char *params[] = {api_actor(r), r->params[0], reason};
    PGresult *res;
    int rc = db_exec(SQL_VOUCHER_REVOKE, 3, params, &res);
    if (rc != 1) {
        PQclear(res);
        http_db_fail(r, rc < 0 ? rc : DB_HARD_ERROR);
        return;
    }
    reply_voucher(r, 200, PQgetvalue(res, 0, 0));
    PQclear(res);
}

/* ==== verification ======================================================================== */

static const char SQL_VOUCHER_LIVE[] = "SELECT voucher_live($1)";

/* The first reason the live voucher cannot pay now, as a problem slug; NULL if it can. */
static const char *live_reason(json_t *live) {
    const char *status = json_string_value(json_object_get(live, "status"));
    const char *pstatus = json_string_value(json_object_get(live, "program_status"));
    int64_t nbf = 0, now = util_now_ms() * 1000;
    util_rfc3339_us(json_string_value(json_object_get(live, "not_before")), &nbf);
    if (status == NULL)
        return "not-found";
    if (strcmp(status, "revoked") == 0)
        return "voucher-revoked";
    if (strcmp(status, "expired") == 0)
        return "voucher-expired";
    if (now < nbf)
        return "voucher-not-yet-valid";
    if (strcmp(status, "exhausted") == 0)
        return "insufficient-balance";
    if (pstatus == NULL || strcmp(pstatus, "active") != 0)
        return "program-not-active";
    return NULL;
}

/* POST /v1/vouchers/verify {token}: the signature, the claims and the voucher's live state.
 * Always 200 for a well-formed request: {valid, reason (a problem slug), detail, kid, claims,
 * voucher}. Anyone holding a token may learn whether it is good and what it holds. */
void api_vouchers_verify(struct http_req *r) {
    const char *token = NULL;
    const struct jf_field fields[] = {
        JF_REQ_STRING("token", &token, 1, 4096),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    struct vtoken_claims c;
    char kid[PASERK_K4_PID_LEN];
    const char *why = NULL;
    enum vtoken_status st = vtoken_verify_own(token, &c, kid, &why);
    if (st != VTOKEN_OK) {
        http_reply_json(r, 200,
                        json_pack("{s:b, s:s, s:s, s:n, s:n, s:n}", "valid", 0, "reason",
                                  problem_slug(api_token_refusal(st)), "detail", why, "kid",
                                  "claims", "voucher"));
        return;
    }
    const char *params[] = {c.jti};
    PGresult *res;
    int rc = db_exec(SQL_VOUCHER_LIVE, 1, params, &res);
    if (rc < 0) {
        http_db_fail(r, rc);
        return;
    }
    json_t *live =
        rc == 1 && !PQgetisnull(res, 0, 0) ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    const char *reason = live == NULL ? "not-found" : live_reason(live);
    const char *detail =
        reason == NULL                                 ? "the voucher can pay now"
        : strcmp(reason, "not-found") == 0             ? "no such voucher here"
        : strcmp(reason, "voucher-revoked") == 0       ? "the voucher has been revoked"
        : strcmp(reason, "voucher-expired") == 0       ? "the voucher has expired"
        : strcmp(reason, "voucher-not-yet-valid") == 0 ? "the voucher is not valid yet"
        : strcmp(reason, "insufficient-balance") == 0  ? "the voucher's balance is spent"
                                                       : "the voucher's programme is not active";
    http_reply_json(r, 200,
                    json_pack("{s:b, s:s?, s:s, s:s, s:o, s:o}", "valid", reason == NULL, "reason",
                              reason, "detail", detail, "kid", kid, "claims",
                              vtoken_claims_json(&c), "voucher", live ? live : json_null()));
}

/* ==== keys ================================================================================ */

static const char SQL_KEY_LIST[] = "SELECT signing_key_list()";

void api_vouchers_keys(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    api_reply_sql_read(r, 200, SQL_KEY_LIST, 0, NULL, "no keys");
}
