/* redemptions.c — an institute applies part of a voucher to one of its reserved orders; every
 * condition of DESIGN.md §2 is checked in one PL/pgSQL call (redeem_one), each failing one
 * with its own problem type, and nothing changes then. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDEMPTION_MAX_FEN INT64_C(1000000000000)

static const char SQL_REDEMPTION_CREATE[] = "SELECT redemption_create($1::jsonb, $2, $3, $4, $5)";

/* POST /v1/redemptions {voucher_id | token, order_id, amount_fen}. A token is verified here
 * (signature, kid, claims) and stands for its voucher; SQL checks the live state. */
void api_redemptions_create(struct http_req *r) {
    const char *voucher = NULL, *token = NULL, *order = NULL;
    int64_t amount = 0;
    bool has_voucher, has_token;
    const struct json_field fields[] = {
        JF_OPT_UUID("voucher_id", &voucher, &has_voucher),
        JF_OPT_STRING("token", &token, 1, 4096, &has_token),
        JF_REQ_UUID("order_id", &order),
        JF_REQ_INT("amount_fen", &amount, 1, REDEMPTION_MAX_FEN),
        JF_END,
    };
    if (!json_decode_body(r, fields))
        return;
    if (has_voucher == has_token) {
        http_problem_errors(r, P_VALIDATION,
                            json_pack("[{s:s, s:s}]", "field", "voucher_id", "message",
                                      "name either voucher_id or token"),
                            "name either voucher_id or token");
        return;
    }
    char id[UUID_STR_LEN];
    if (has_token) {
        if (!api_vouchers_token_id(r, token, "token", id))
            return;
        voucher = id;
    }
    char s_amount[24];
    snprintf(s_amount, sizeof s_amount, "%lld", (long long)amount);
    char *actor = api_actor(r);
    const char *params[] = {actor, voucher, order, s_amount, has_token ? "true" : "false"};
    api_reply_sql(r, 201, SQL_REDEMPTION_CREATE, 5, params, "not found");
    free(actor);
}

static const char SQL_REDEMPTION_LIST[] = "SELECT redemption_list($1::jsonb, $2, $3, $4, $5, $6)";

void api_redemptions_list(struct http_req *r) {
    static const char *const allowed[] = {"voucher_id", "order_id", "program_id",
                                          "limit",      "cursor",   NULL};
    static const char *const ids[] = {"voucher_id", "order_id", "program_id"};
    char limit[8];
    const char *cursor;
    if (!http_query_only(r, allowed) || !api_page(r, limit, &cursor))
        return;
    const char *values[3];
    for (int i = 0; i < 3; i++) {
        values[i] = http_query(r, ids[i]);
        if (values[i] != NULL && !util_is_uuid(values[i])) {
            http_problem_errors(
                r, P_INVALID_QUERY,
                json_pack("[{s:s, s:s}]", "field", ids[i], "message", "must be a UUID"),
                "%s must be a UUID", ids[i]);
            return;
        }
    }
    char *actor = api_actor(r);
    const char *params[] = {actor, values[0], values[1], values[2], cursor, limit};
    api_reply_sql_read(r, 200, SQL_REDEMPTION_LIST, 6, params, "no redemptions");
    free(actor);
}
