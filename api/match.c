/* match.c — POST /v1/match: a demand in, ranked plans out (DESIGN.md §4). The search for plans,
 * availability against existing orders and the pricing live in match_plans (sql/002). */
#include "market.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MATCH_MAX_LIMIT 50
#define MATCH_DEFAULT_LIMIT 10

static const char *const match_sorts[] = {"net_cost", "tflops_per_fen", "green_share",
                                          "earliest_start", NULL};
static const char *const zones[] = {"east", "west", NULL};

/* Checks that every element of a JSON array is a string accepted by ok; names the first bad
 * one as field[i]. */
static void array_check(json_t *errors, const char *field, json_t *a, bool (*ok)(const char *),
                        const char *message) {
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (!json_is_string(v) || !ok(json_string_value(v))) {
            char name[48];
            snprintf(name, sizeof name, "%s[%zu]", field, i);
            http_error_add(errors, name, message);
            return;
        }
    }
}

static bool is_region(const char *s) {
    return market_one_of(s, market_regions);
}

static void set_decimal(json_t *d, const char *name, double v) {
    char text[32];
    snprintf(text, sizeof text, "%.15g", v);
    json_object_set_new(d, name, json_string(text));
}

static const char SQL_MATCH[] = "SELECT match_plans($1::jsonb, $2::jsonb)";

void api_match(struct http_req *r) {
    const char *cls = NULL, *accel = NULL, *start = NULL, *end = NULL, *earliest = NULL,
               *latest = NULL, *zone = NULL, *sort = "net_cost";
    int64_t units = 0, duration = 0, max_price = 0, limit = MATCH_DEFAULT_LIMIT;
    double min_tflops = 0, min_green = 0, max_pue = 3;
    bool split = false;
    json_t *regions = NULL, *vouchers = NULL;
    bool has_accel, has_start, has_end, has_duration, has_earliest, has_latest, has_regions,
        has_zone, has_price, has_tflops, has_green, has_pue, has_split, has_vouchers, has_sort,
        has_limit;
    const struct jf_field fields[] = {
        JF_REQ_ENUM("resource_class", &cls, market_classes),
        JF_OPT_STRING("accelerator", &accel, 1, 64, &has_accel),
        JF_REQ_INT("units", &units, 1, 1000000),
        JF_OPT_NUMBER("min_tflops", &min_tflops, 0, 100000, &has_tflops),
        JF_OPT_TIME("start", &start, &has_start),
        JF_OPT_TIME("end", &end, &has_end),
        JF_OPT_INT("duration_hours", &duration, 1, 8784, &has_duration),
        JF_OPT_TIME("earliest_start", &earliest, &has_earliest),
        JF_OPT_TIME("latest_end", &latest, &has_latest),
        JF_OPT_ARRAY("regions", &regions, 1, 8, &has_regions),
        JF_OPT_ENUM("zone", &zone, zones, &has_zone),
        JF_OPT_INT("max_price_fen", &max_price, 1, 10000000000LL, &has_price),
        JF_OPT_NUMBER("min_green_share", &min_green, 0, 1, &has_green),
        JF_OPT_NUMBER("max_pue", &max_pue, 1, 3, &has_pue),
        JF_OPT_BOOL("allow_split", &split, &has_split),
        JF_OPT_ARRAY("voucher_ids", &vouchers, 0, 20, &has_vouchers),
        JF_OPT_ENUM("sort", &sort, match_sorts, &has_sort),
        JF_OPT_INT("limit", &limit, 1, MATCH_MAX_LIMIT, &has_limit),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    json_t *errors = json_array();
    int64_t a_us = 0, b_us = 0;
    bool fixed = has_start || has_end;
    bool flexible = has_duration || has_earliest || has_latest;
    if (fixed && flexible) {
        http_error_add(
            errors, has_start ? "start" : "end",
            "give either start and end, or duration_hours, earliest_start and latest_end");
    } else if (fixed) {
        if (!has_start || !has_end) {
            http_error_add(errors, has_start ? "end" : "start", "start and end go together");
        } else {
            util_rfc3339_us(start, &a_us); /* JF_TIME accepted both */
            util_rfc3339_us(end, &b_us);
            if (b_us <= a_us)
                http_error_add(errors, "end", "must be after start");
        }
    } else if (!has_duration || !has_earliest || !has_latest) {
        http_error_add(errors,
                       !has_duration   ? "duration_hours"
                       : !has_earliest ? "earliest_start"
                                       : "latest_end",
                       "a demand needs start and end, or duration_hours, earliest_start and "
                       "latest_end");
    } else {
        util_rfc3339_us(earliest, &a_us);
        util_rfc3339_us(latest, &b_us);
        if (b_us - a_us < duration * 3600 * INT64_C(1000000))
            http_error_add(errors, "latest_end", "must leave duration_hours after earliest_start");
    }
    if (has_accel && !market_accelerator_ok(accel))
        http_error_add(errors, "accelerator",
                       "letters, digits, space and . _ + - only, starting with a letter or digit");
    if (has_regions)
        array_check(errors, "regions", regions, is_region,
                    "must be a region code (GET /v1/regions)");
    if (has_vouchers)
        array_check(errors, "voucher_ids", vouchers, util_is_uuid, "must be a UUID");
    if (!http_errors_ok(r, P_VALIDATION, errors))
        return;

    json_t *d =
        json_pack("{s:s, s:I, s:b, s:s, s:I}", "resource_class", cls, "units", (json_int_t)units,
                  "allow_split", split, "sort", sort, "limit", (json_int_t)limit);
    if (has_accel)
        json_object_set_new(d, "accelerator", json_string(accel));
    if (has_tflops)
        set_decimal(d, "min_tflops", min_tflops);
    if (fixed) {
        json_object_set_new(d, "start", json_string(start));
        json_object_set_new(d, "end", json_string(end));
    } else {
        json_object_set_new(d, "duration_hours", json_integer(duration));
        json_object_set_new(d, "earliest_start", json_string(earliest));
        json_object_set_new(d, "latest_end", json_string(latest));
    }
    if (has_regions)
        json_object_set(d, "regions", regions);
    if (has_zone)
        json_object_set_new(d, "zone", json_string(zone));
    if (has_price)
        json_object_set_new(d, "max_price_fen", json_integer(max_price));
    if (has_green)
        set_decimal(d, "min_green_share", min_green);
    if (has_pue)
        set_decimal(d, "max_pue", max_pue);
    if (has_vouchers)
        json_object_set(d, "voucher_ids", vouchers);
    else
        json_object_set_new(d, "voucher_ids", json_array());
    char *demand = http_req_own_str(r, json_dumps(d, JSON_COMPACT));
    json_decref(d);
    const char *params[] = {api_actor(r), demand};
    api_reply_sql_read(r, 200, SQL_MATCH, 2, params, "no answer");
}
