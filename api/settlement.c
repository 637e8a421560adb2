/* settlement.c — issue 14's money out: settlement statements per provider and period, payout
 * batches (兑付) that one city administrator proposes, a second approves (two-person rule) and
 * the first or another marks paid with the bank transfer's reference, and recoveries (追回) of
 * subsidy already settled. The rules, locks and ledger movements are in
 * sql/functions/settlement (payout_*, recovery_*, settlement_*). */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECOVERY_MAX_FEN INT64_C(1000000000000)
/* A CSV statement is one answer, not paged: at most this many orders (narrow from/to). */
#define SETTLEMENT_CSV_MAX "10000"

static const char *const payout_states[] = {"proposed", "approved", "paid", "cancelled", NULL};
static const char *const formats[] = {"json", "csv", NULL};

/* ==== settlement statements =============================================================== */

static const char SQL_SETTLEMENTS[] =
    "SELECT settlement_list($1::jsonb, $2, $3::timestamptz, $4::timestamptz, $5, $6)";

static const char *const settlement_columns[] = {
    "order_id",       "usage_accepted_at", "provider_id",    "provider_name", "institute_id",
    "institute_name", "program_id",        "program_name",   "payee",         "gross_fen",
    "subsidy_fen",    "net_fen",           "buyer_paid_fen", "settled_fen",   "paid_fen",
    "recovered_fen",  "receivable_fen",    "payout_id",      "payout_state",  NULL};

/* One CSV row per order and programme (an order without subsidy: one row with its bill). */
static json_t *settlement_rows(json_t *items) {
    json_t *rows = json_array(), *item, *prog;
    size_t i, j;
    json_array_foreach(items, i, item) {
        json_t *progs = json_object_get(item, "programs");
        if (json_array_size(progs) == 0) {
            json_array_append(rows, item);
            continue;
        }
        json_array_foreach(progs, j, prog) {
            json_t *row = json_deep_copy(item);
            json_object_del(row, "programs");
            json_object_update(row, prog);
            json_array_append_new(rows, row);
        }
    }
    return rows;
}

/* GET /v1/settlements?provider_id&from&to&format: JSON pages, or the whole statement as CSV
 * (format=csv or Accept: text/csv). */
void api_settlements_list(struct http_req *r) {
    const char *limit, *cursor, *provider, *from, *to, *format;
    const struct query_field query[] = {
        API_QF_PAGE(&limit, &cursor), QF_UUID("provider_id", &provider),   QF_TIME("from", &from),
        QF_TIME("to", &to),           QF_ENUM("format", &format, formats), QF_END,
    };
    if (!qf_decode(r, query))
        return;
    int accept = api_report_format(r);
    bool csv = format ? strcmp(format, "csv") == 0 : accept == 1;
    if (format == NULL && accept < 0) {
        http_problem(r, P_NOT_ACCEPTABLE, "Accept: a statement is application/json or text/csv");
        return;
    }
    http_add_header(r, "Vary", "Accept");
    const char *params[] = {api_actor(r), provider, from,
                            to,           cursor,   csv ? SETTLEMENT_CSV_MAX : limit};
    if (!csv) {
        api_reply_sql_read(r, 200, SQL_SETTLEMENTS, 6, params, "no such provider");
        return;
    }
    PGresult *res;
    int rc = db_exec_read(SQL_SETTLEMENTS, 6, params, &res);
    if (rc < 0) {
        http_db_fail(r, rc);
        return;
    }
    if (rc == 0 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        http_problem(r, P_NOT_FOUND, "no such provider");
        return;
    }
    json_t *page = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (!json_is_null(json_object_get(page, "next_cursor"))) {
        json_decref(page);
        http_problem(r, P_INVALID_QUERY,
                     "a CSV statement holds at most " SETTLEMENT_CSV_MAX
                     " orders; narrow from and to");
        return;
    }
    json_t *rows = settlement_rows(json_object_get(page, "items"));
    json_decref(page);
    size_t len = 0;
    char *text = api_csv_rows(rows, settlement_columns, &len);
    json_decref(rows);
    if (text == NULL) {
        http_problem(r, P_INTERNAL, "the statement could not be rendered");
        return;
    }
    http_reply_take(r, 200, "text/csv; charset=utf-8; header=present", text, len);
    http_add_header(r, "Content-Disposition", "attachment; filename=\"suanli-settlement.csv\"");
}

/* ==== payouts ============================================================================= */

static const char SQL_PAYOUT_PROPOSE[] = "SELECT payout_propose($1::jsonb, $2::jsonb)";

/* POST /v1/payouts {program_id?, payee_id?, due_before?, note?}: 201 {"items": [payout…]},
 * one payout per payee; nothing payable is 409 nothing-payable. */
void api_payouts_create(struct http_req *r) {
    const char *program = NULL, *payee = NULL, *due = NULL, *note = NULL;
    const struct jf_field fields[] = {
        JF_OPT_UUID("program_id", &program, NULL),
        JF_OPT_UUID("payee_id", &payee, NULL),
        JF_OPT_TIME("due_before", &due, NULL),
        JF_OPT_STRING("note", &note, 1, 500, NULL),
        JF_END,
    };
    if (r->body.len > 0 && !jf_decode_body(r, fields))
        return;
    const char *params[] = {api_actor(r), r->body.len > 0 ? r->body.p : "{}"};
    api_reply_sql(r, 201, SQL_PAYOUT_PROPOSE, 2, params, "nothing proposed");
}

static const char SQL_PAYOUT_LIST[] = "SELECT payout_list($1::jsonb, $2, $3, $4, $5)";

/* GET /v1/payouts?state=&payee_id=: city staff see their city's, a payee its own. */
void api_payouts_list(struct http_req *r) {
    const char *limit, *cursor, *state, *payee;
    const struct query_field query[] = {
        API_QF_PAGE(&limit, &cursor),
        QF_ENUM("state", &state, payout_states),
        QF_UUID("payee_id", &payee),
        QF_END,
    };
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), state, payee, cursor, limit};
    api_reply_sql_read(r, 200, SQL_PAYOUT_LIST, 5, params, "no payouts");
}

static const char SQL_PAYOUT_GET[] = "SELECT payout_get($1::jsonb, $2)";

void api_payouts_get(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    char detail[80];
    snprintf(detail, sizeof detail, "no payout %s", r->params[0]);
    api_reply_sql(r, 200, SQL_PAYOUT_GET, 2, params, detail);
}

static const char SQL_PAYOUT_APPROVE[] = "SELECT payout_approve($1::jsonb, $2)";

/* POST /v1/payouts/{id}/approve (no body). */
void api_payouts_approve(struct http_req *r) {
    if (!api_no_body(r))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    api_reply_sql(r, 200, SQL_PAYOUT_APPROVE, 2, params, "no payout");
}

static const char SQL_PAYOUT_PAID[] = "SELECT payout_paid($1::jsonb, $2, $3)";

/* POST /v1/payouts/{id}/paid {transfer_reference}. */
void api_payouts_paid(struct http_req *r) {
    const char *reference = NULL;
    const struct jf_field fields[] = {
        JF_REQ_STRING("transfer_reference", &reference, 1, 200),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    const char *params[] = {api_actor(r), r->params[0], reference};
    api_reply_sql(r, 200, SQL_PAYOUT_PAID, 3, params, "no payout");
}

/* ==== recoveries ========================================================================== */

static const char *const debtors[] = {"provider", "institute", NULL};

static const char SQL_RECOVERY_CREATE[] = "SELECT recovery_create($1::jsonb, $2::jsonb)";

/* POST /v1/recoveries {order_id, program_id?, amount_fen, reason, debtor?, restore_voucher?}. */
void api_recoveries_create(struct http_req *r) {
    const char *order = NULL, *program = NULL, *reason = NULL, *debtor = NULL;
    int64_t amount = 0;
    bool restore = false;
    const struct jf_field fields[] = {
        JF_REQ_UUID("order_id", &order),
        JF_OPT_UUID("program_id", &program, NULL),
        JF_REQ_INT("amount_fen", &amount, 1, RECOVERY_MAX_FEN),
        JF_REQ_STRING("reason", &reason, 1, 2000),
        JF_OPT_ENUM("debtor", &debtor, debtors, NULL),
        JF_OPT_BOOL("restore_voucher", &restore, NULL),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    const char *params[] = {api_actor(r), r->body.p};
    api_reply_sql(r, 201, SQL_RECOVERY_CREATE, 2, params, "no order");
}

static const char SQL_RECOVERY_LIST[] = "SELECT recovery_list($1::jsonb, $2, $3, $4)";

/* GET /v1/recoveries?order_id=: city staff see their city's, a debtor its own. */
void api_recoveries_list(struct http_req *r) {
    const char *limit, *cursor, *order;
    const struct query_field query[] = {
        API_QF_PAGE(&limit, &cursor),
        QF_UUID("order_id", &order),
        QF_END,
    };
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), order, cursor, limit};
    api_reply_sql_read(r, 200, SQL_RECOVERY_LIST, 4, params, "no recoveries");
}
