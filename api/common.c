/* common.c — helpers every handler uses. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *api_actor(struct http_req *r) {
    json_t *a = json_pack("{s:s, s:s}", "request_id", r->own_request_id, "ip", r->client_ip);
    if (r->who.authenticated) {
        json_object_set_new(a, "user_id", json_string(r->who.user_id));
        json_object_set_new(a, "role", json_string(role_name(r->who.role)));
        json_object_set_new(a, "org_id", json_string(r->who.org_id));
        json_object_set_new(a, "city_id", json_string(r->who.city_id));
    }
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return http_req_own_str(r, text);
}

static void reply_sql(struct http_req *r, bool read, unsigned status, const char *sql, int n,
                      const char *const *params, const char *not_found_detail) {
    PGresult *res;
    int rc = read ? db_exec_read(sql, n, params, &res) : db_exec(sql, n, params, &res);
    if (rc < 0) {
        http_db_fail(r, rc);
        return;
    }
    if (rc == 0 || PQgetisnull(res, 0, 0)) {
        http_problem(r, P_NOT_FOUND, "%s", not_found_detail);
    } else {
        http_reply_raw(r, status, "application/json", PQgetvalue(res, 0, 0),
                       (size_t)PQgetlength(res, 0, 0));
    }
    PQclear(res);
}

void api_reply_sql(struct http_req *r, unsigned status, const char *sql, int n,
                   const char *const *params, const char *not_found_detail) {
    reply_sql(r, false, status, sql, n, params, not_found_detail);
}

void api_reply_sql_read(struct http_req *r, unsigned status, const char *sql, int n,
                        const char *const *params, const char *not_found_detail) {
    reply_sql(r, true, status, sql, n, params, not_found_detail);
}

bool api_no_body(struct http_req *r) {
    static const struct jf_field none[] = {JF_END};
    return r->body.len == 0 || jf_decode_body(r, none);
}

enum problem api_token_refusal(enum vtoken_status st) {
    return st == VTOKEN_UNKNOWN_KEY ? P_VOUCHER_KEY_UNKNOWN : P_VOUCHER_TOKEN_INVALID;
}

void api_token_problem(struct http_req *r, enum vtoken_status st, const char *field,
                       const char *why) {
    http_problem_errors(r, api_token_refusal(st),
                        json_pack("[{s:s, s:s}]", "field", field, "message", why), "%s: %s", field,
                        why);
}
