/* orders.c — an institute's reservation of units of one offer over [start, end): create (no
 * double booking, I3; Idempotency-Key, I4), read, list, cancel, complete. */
#include "api.h"
#include "market.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks the vouchers array of an order (POST /v1/orders, each leg of POST /v1/plans): each
 * element names a voucher by id or by token (exactly one) and may set the amount. Adds
 * {field, message} errors, their fields prefixed with prefix ("" or "legs[2]."). */
void api_order_vouchers_check(json_t *vouchers, const char *prefix, json_t *errors) {
    size_t i;
    json_t *v;
    json_array_foreach(vouchers, i, v) {
        const char *id = NULL, *token = NULL;
        int64_t amount = 0;
        bool has_id, has_token, has_amount;
        const struct jf_field fields[] = {
            JF_OPT_UUID("voucher_id", &id, &has_id),
            JF_OPT_STRING("token", &token, 1, 4096, &has_token),
            JF_OPT_INT("amount_fen", &amount, 1, INT64_MAX, &has_amount),
            JF_END,
        };
        char at[64];
        snprintf(at, sizeof at, "%svouchers[%zu].", prefix, i);
        json_t *e = jf_check(v, fields, at);
        if (e != NULL) {
            json_array_extend(errors, e);
            json_decref(e);
        } else if (has_id == has_token) {
            char field[64];
            snprintf(field, sizeof field, "%svouchers[%zu]", prefix, i);
            http_error_add(errors, field, "must name either voucher_id or token");
        }
    }
}

static const char SQL_ORDER_CREATE[] =
    "SELECT order_create($1::jsonb, $2, $3, $4::timestamptz, $5::timestamptz, $6::jsonb)";

void api_orders_create(struct http_req *r) {
    const char *offer = NULL, *start = NULL, *end = NULL;
    int64_t units = 0, start_us = 0, end_us = 0;
    json_t *vouchers = NULL;
    bool has_vouchers;
    const struct jf_field fields[] = {
        MARKET_ORDER_FIELDS(&offer, &units, &start, &end),
        JF_OPT_ARRAY("vouchers", &vouchers, 0, 20, &has_vouchers),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    json_t *errors = json_array();
    util_rfc3339_us(start, &start_us); /* JF_TIME accepted both */
    util_rfc3339_us(end, &end_us);
    if (end_us <= start_us)
        http_error_add(errors, "end", "must be after start");
    if (has_vouchers)
        api_order_vouchers_check(vouchers, "", errors);
    if (!http_errors_ok(r, P_VALIDATION, errors))
        return;
    size_t bad;
    const char *why;
    enum vtoken_status st =
        has_vouchers ? vtoken_resolve_vouchers(vouchers, &bad, &why) : VTOKEN_OK;
    if (st != VTOKEN_OK) { /* a token stands for its voucher once verified */
        char field[48];
        snprintf(field, sizeof field, "vouchers[%zu].token", bad);
        api_token_problem(r, st, field, why);
        return;
    }
    char s_units[24];
    snprintf(s_units, sizeof s_units, "%lld", (long long)units);
    const char *vtext =
        has_vouchers ? http_req_own_str(r, json_dumps(vouchers, JSON_COMPACT)) : "[]";
    const char *params[] = {api_actor(r), offer, s_units, start, end, vtext};
    PGresult *res;
    int rc = db_exec(SQL_ORDER_CREATE, 6, params, &res);
    if (rc != 1) {
        PQclear(res);
        http_db_fail(r, rc < 0 ? rc : DB_HARD_ERROR);
        return;
    }
    json_t *order = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    char location[80];
    snprintf(location, sizeof location, "/v1/orders/%s",
             json_string_value(json_object_get(order, "id")));
    http_add_header(r, "Location", location);
    http_reply_json(r, 201, order);
}

static const char SQL_ORDER_GET[] = "SELECT order_get($1::jsonb, $2)";

void api_orders_get(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    char detail[80];
    snprintf(detail, sizeof detail, "no order %s", r->params[0]);
    api_reply_sql_read(r, 200, SQL_ORDER_GET, 2, params, detail);
}

static const char SQL_ORDER_LIST[] = "SELECT order_list($1::jsonb, $2, $3, $4, $5)";

void api_orders_list(struct http_req *r) {
    static const char *const statuses[] = {"reserved", "completed", "cancelled", NULL};
    const char *limit, *cursor, *status, *offer;
    const struct query_field query[] = {
        API_QF_PAGE(&limit, &cursor),
        QF_ENUM("status", &status, statuses),
        QF_UUID("offer_id", &offer),
        QF_END,
    };
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), status, offer, cursor, limit};
    api_reply_sql_read(r, 200, SQL_ORDER_LIST, 5, params, "no orders");
}

static const char SQL_ORDER_CANCEL[] = "SELECT order_cancel($1::jsonb, $2)";

void api_orders_cancel(struct http_req *r) {
    if (!api_no_body(r))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    api_reply_sql(r, 200, SQL_ORDER_CANCEL, 2, params, "no such order");
}

static const char SQL_ORDER_COMPLETE[] = "SELECT order_complete($1::jsonb, $2)";

void api_orders_complete(struct http_req *r) {
    if (!api_no_body(r))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    api_reply_sql(r, 200, SQL_ORDER_COMPLETE, 2, params, "no such order");
}
