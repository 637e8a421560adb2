/* plans.c — a plan of several legs (one order each, e.g. a split plan of POST /v1/match):
 * POST /v1/quotes prices it with the caller's vouchers, changing nothing; POST /v1/plans
 * reserves every leg in one transaction (all or none; Idempotency-Key, I4). The pricing and
 * the reservation live in SQL (plan_price, plan_create); this file checks the bodies. */
#include "api.h"
#include "market.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_MAX_LEGS 16

/* Checks leg i of legs (one object, fields as in POST /v1/orders; vouchers only when
 * with_vouchers). Adds {field, message} errors named "legs[i].<field>". */
static void leg_check(json_t *leg, size_t i, bool with_vouchers, json_t *errors) {
    const char *offer = NULL, *start = NULL, *end = NULL;
    int64_t units = 0;
    json_t *vouchers = NULL;
    bool has_vouchers = false;
    const struct jf_field order_fields[] = {
        MARKET_ORDER_FIELDS(&offer, &units, &start, &end),
        JF_OPT_ARRAY("vouchers", &vouchers, 0, 20, &has_vouchers),
        JF_END,
    };
    const struct jf_field quote_fields[] = {
        MARKET_ORDER_FIELDS(&offer, &units, &start, &end),
        JF_END,
    };
    char prefix[32];
    snprintf(prefix, sizeof prefix, "legs[%zu]", i);
    if (!json_is_object(leg)) {
        http_error_add(errors, prefix, "must be an object");
        return;
    }
    strcat(prefix, ".");
    json_t *e = jf_check(leg, with_vouchers ? order_fields : quote_fields, prefix);
    if (e != NULL) {
        json_array_extend(errors, e);
        json_decref(e);
        return;
    }
    int64_t start_us = 0, end_us = 0;
    util_rfc3339_us(start, &start_us); /* JF_TIME accepted both */
    util_rfc3339_us(end, &end_us);
    if (end_us <= start_us) {
        char field[40];
        snprintf(field, sizeof field, "legs[%zu].end", i);
        http_error_add(errors, field, "must be after start");
    }
    if (has_vouchers)
        api_order_vouchers_check(vouchers, prefix, errors);
}

static void legs_check(json_t *legs, bool with_vouchers, json_t *errors) {
    size_t i;
    json_t *leg;
    json_array_foreach(legs, i, leg) {
        leg_check(leg, i, with_vouchers, errors);
        if (json_array_size(errors) >= HTTP_MAX_ERRORS)
            return;
    }
}

static const char SQL_PLAN_CREATE[] = "SELECT plan_create($1::jsonb, $2::jsonb)";

void api_plans_create(struct http_req *r) {
    json_t *legs = NULL;
    const struct jf_field fields[] = {
        JF_REQ_ARRAY("legs", &legs, 1, PLAN_MAX_LEGS),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    json_t *errors = json_array();
    legs_check(legs, true, errors);
    if (!http_errors_ok(r, P_VALIDATION, errors))
        return;
    size_t i;
    json_t *leg;
    json_array_foreach(legs, i, leg) { /* a token stands for its voucher once verified */
        json_t *vouchers = json_object_get(leg, "vouchers");
        if (vouchers == NULL || json_is_null(vouchers))
            continue;
        size_t bad;
        const char *why;
        enum vtoken_status st = vtoken_resolve_vouchers(vouchers, &bad, &why);
        if (st != VTOKEN_OK) {
            char field[64];
            snprintf(field, sizeof field, "legs[%zu].vouchers[%zu].token", i, bad);
            api_token_problem(r, st, field, why);
            return;
        }
    }
    const char *params[] = {api_actor(r), http_req_own_str(r, json_dumps(legs, JSON_COMPACT))};
    api_reply_sql(r, 201, SQL_PLAN_CREATE, 2, params, "no answer");
}

static const char SQL_PLAN_PRICE[] =
    "SELECT plan_price($1::jsonb, $2::jsonb, ARRAY(SELECT jsonb_array_elements_text($3::jsonb))"
    "::uuid[], $4::bigint)";

void api_quotes_create(struct http_req *r) {
    json_t *legs = NULL, *vouchers = NULL;
    int64_t amount = 0;
    bool has_vouchers, has_amount;
    const struct jf_field fields[] = {
        JF_REQ_ARRAY("legs", &legs, 1, PLAN_MAX_LEGS),
        JF_OPT_ARRAY("voucher_ids", &vouchers, 0, 20, &has_vouchers),
        JF_OPT_INT("amount_fen", &amount, 0, INT64_MAX, &has_amount),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    json_t *errors = json_array();
    legs_check(legs, false, errors);
    size_t i;
    json_t *v;
    if (has_vouchers) {
        json_array_foreach(vouchers, i, v) {
            if (!json_is_string(v) || !util_is_uuid(json_string_value(v))) {
                char field[40];
                snprintf(field, sizeof field, "voucher_ids[%zu]", i);
                http_error_add(errors, field, "must be a UUID");
            }
        }
    }
    if (!http_errors_ok(r, P_VALIDATION, errors))
        return;
    char s_amount[24];
    snprintf(s_amount, sizeof s_amount, "%lld", (long long)amount);
    const char *params[] = {
        api_actor(r),
        http_req_own_str(r, json_dumps(legs, JSON_COMPACT)),
        has_vouchers ? http_req_own_str(r, json_dumps(vouchers, JSON_COMPACT)) : "[]",
        has_amount ? s_amount : NULL,
    };
    api_reply_sql_read(r, 200, SQL_PLAN_PRICE, 4, params, "no answer");
}
