/* redemptions.c — an institute applies part of a voucher to one of its reserved orders; every
 * condition of DESIGN.md §2 is checked in one PL/pgSQL call (redeem_one), each failing one
 * with its own problem type, and nothing changes then. */
#include "api.h"
#include "auth.h"
#include "config.h"
#include "group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDEMPTION_MAX_FEN INT64_C(1000000000000)

static const char SQL_REDEMPTION_CREATE[] = "SELECT redemption_create($1::jsonb, $2, $3, $4, $5)";
static const char SQL_REDEMPTION_CREATE_AS[] =
    "SELECT * FROM redemption_create_as($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
static const char SQL_REDEMPTION_CREATE_GROUP[] =
    "SELECT * FROM redemption_create_group($1::jsonb)";

/* The same through group commit (SUANLI_GROUP_COMMIT=on, server/group.c): answered once the
 * group that carried it has committed; its row is (failed, user, role, organization, city,
 * credential, redemption). A request refused or not the plain case takes the usual path. */
static void create_grouped(struct http_req *r, const char *const *params, bool cookie) {
    struct group_answer a;
    group_exec(SQL_REDEMPTION_CREATE_GROUP, params[0], 11, params, 7, &a);
    if (a.rc == 1 && a.cols[0] == NULL && a.cols[1] != NULL) { /* committed */
        auth_fill(&r->who, (const char *const *)&a.cols[1], cookie);
        if (a.cols[6] == NULL)
            http_problem(r, P_NOT_FOUND, "not found");
        else
            http_reply_raw(r, 201, "application/json", a.cols[6], strlen(a.cols[6]));
        r->one_trip_done = true;
    } else if (a.rc < 0 && a.outcome_unknown) {
        http_problem(r, P_OUTCOME_UNKNOWN,
                     "the connection to the database was lost while the change was applied; it "
                     "may have taken effect: look before retrying, or retry with the same "
                     "Idempotency-Key");
        r->one_trip_done = true;
    }
    group_answer_free(&a);
}

/* The plain case in one round trip (RF_ONE_TRIP, sql/functions/vouchers/redemption_create_as):
 * authentication, the Idempotency-Key's claim, the redemption and the reply the key replays in
 * one statement. Anything else (no row: not the plain case; a refusal, which changed nothing)
 * is left to the usual path, except a connection lost after the statement was sent: it may
 * have committed, so it is answered 503 with the outcome unknown, as the usual path would. */
static void create_one_trip(struct http_req *r, const char *voucher, const char *order,
                            const char *amount, bool via_token) {
    struct auth_lookup who;
    const char *key;
    char request_hash[65];
    if (!auth_lookup_args(r, true, &who) || !http_idem_args(r, &key, request_hash))
        return;
    const char *params[] = {who.token_hash,
                            who.cookie ? "true" : "false",
                            who.csrf_hash,
                            r->own_request_id,
                            r->client_ip,
                            key,
                            key ? request_hash : NULL,
                            voucher,
                            order,
                            amount,
                            via_token ? "true" : "false"};
    if (cfg.group_commit) {
        create_grouped(r, params, who.cookie);
        return;
    }
    PGresult *res;
    int rc = db_exec(SQL_REDEMPTION_CREATE_AS, 11, params, &res);
    if (rc == 1) { /* committed */
        auth_fill_row(&r->who, res, 0, who.cookie);
        if (PQgetisnull(res, 0, 5))
            http_problem(r, P_NOT_FOUND, "not found");
        else
            http_reply_raw(r, 201, "application/json", PQgetvalue(res, 0, 5),
                           (size_t)PQgetlength(res, 0, 5));
        r->one_trip_done = true;
    } else if (rc == DB_UNAVAILABLE && db_last_error()->outcome_unknown) {
        http_db_fail(r, rc);
        r->one_trip_done = true;
    }
    if (rc >= 0)
        PQclear(res);
}

/* POST /v1/redemptions {voucher_id | token, order_id, amount_fen}. A token is verified here
 * (signature, kid, claims) and stands for its voucher; SQL checks the live state. Called first
 * before authentication (RF_ONE_TRIP: create_one_trip), then, if that did not answer, as usual. */
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
    if (r->one_trip) {
        create_one_trip(r, has_token ? c.jti : voucher, order, s_amount, has_token);
        return;
    }
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
