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
    const struct jf_field fields[] = {
        JF_OPT_UUID("voucher_id", &voucher, &has_voucher),
        JF_OPT_STRING("token", &token, 1, 4096, &has_token),
        JF_REQ_UUID("order_id", &order),
        JF_REQ_INT("amount_fen", &amount, 1, REDEMPTION_MAX_FEN),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    if (has_voucher == has_token) {
        http_problem_field(r, P_VALIDATION, "voucher_id", "name either voucher_id or token");
        return;
    }
    struct vtoken_claims c;
    const char *why;
    enum vtoken_status st = has_token ? vtoken_verify_own(token, &c, NULL, &why) : VTOKEN_OK;
    if (st != VTOKEN_OK) {
        api_token_problem(r, st, "token", why);
        return;
    }
    char s_amount[24];
    snprintf(s_amount, sizeof s_amount, "%lld", (long long)amount);
    const char *params[] = {api_actor(r), has_token ? c.jti : voucher, order, s_amount,
                            has_token ? "true" : "false"};
    api_reply_sql(r, 201, SQL_REDEMPTION_CREATE, 5, params, "not found");
}

static const char SQL_REDEMPTION_LIST[] = "SELECT redemption_list($1::jsonb, $2, $3, $4, $5, $6)";

void api_redemptions_list(struct http_req *r) {
    const char *limit, *cursor, *voucher, *order, *program;
    const struct query_field query[] = {
        API_QF_PAGE(&limit, &cursor),
        QF_UUID("voucher_id", &voucher),
        QF_UUID("order_id", &order),
        QF_UUID("program_id", &program),
        QF_END,
    };
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), voucher, order, program, cursor, limit};
    api_reply_sql_read(r, 200, SQL_REDEMPTION_LIST, 6, params, "no redemptions");
}
