/* offers.c — the hub regions and the capacity providers post: create, read, update (If-Match),
 * withdraw, and the search over every filter and sort key of DESIGN.md §4. */
#include "market.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== regions ============================================================================= */

static const char SQL_REGION_LIST[] = "SELECT region_list()";

void api_regions_list(struct http_req *r) {
    static const char *const allowed[] = {NULL};
    if (!http_query_only(r, allowed))
        return;
    api_reply_sql_read(r, 200, SQL_REGION_LIST, 0, NULL, "no regions");
}

/* ==== shared ============================================================================== */

/* Runs sql, whose row is (offer jsonb, version integer), and replies the offer with its
 * version as a strong ETag. No row is 404. */
static void reply_offer(struct http_req *r, unsigned status, const char *sql, int n,
                        const char *const *params, bool read) {
    PGresult *res;
    int rc = read ? db_exec_read(sql, n, params, &res) : db_exec(sql, n, params, &res);
    if (rc < 0) {
        http_db_fail(r, rc);
        return;
    }
    if (rc == 0) {
        http_problem(r, P_NOT_FOUND, "no offer %s", r->params[0]);
    } else {
        char etag[24];
        snprintf(etag, sizeof etag, "\"%s\"", PQgetvalue(res, 0, 1));
        http_add_header(r, "ETag", etag);
        http_reply_raw(r, status, "application/json", PQgetvalue(res, 0, 0),
                       (size_t)PQgetlength(res, 0, 0));
    }
    PQclear(res);
}

/* Reads If-Match: a strong ETag "<version>". Absent: *present = false. Any other value can
 * never match the current version, so it answers 412 as a stale one would. */
static bool if_match(struct http_req *r, char version[16], bool *present) {
    const char *h = http_header(r, "If-Match");
    *present = h != NULL;
    if (h == NULL)
        return true;
    size_t n = strlen(h);
    int64_t v;
    char digits[16];
    if (n >= 3 && n < sizeof digits && h[0] == '"' && h[n - 1] == '"') {
        memcpy(digits, h + 1, n - 2);
        digits[n - 2] = '\0';
        if (util_parse_int64(digits, 1, INT32_MAX, &v) && digits[0] >= '1' && digits[0] <= '9') {
            snprintf(version, 16, "%lld", (long long)v);
            return true;
        }
    }
    http_problem(r, P_PRECONDITION_FAILED,
                 "If-Match must be the offer's current ETag, e.g. \"3\"; got %.64s", h);
    return false;
}

/* A number as exact decimal text for a numeric parameter. %.15g gives back the decimal a
 * client wrote (at most 15 significant digits), not the binary double's expansion. */
static void decimal_text(double d, char out[32]) {
    snprintf(out, 32, "%.15g", d);
}

/* ==== create, read ======================================================================== */

static const char SQL_OFFER_CREATE[] =
    "SELECT offer_create($1::jsonb, $2, $3, $4, $5::numeric, $6, $7, $8, $9::timestamptz, "
    "$10::timestamptz, $11::numeric, $12::numeric)::text, 1";

void api_offers_create(struct http_req *r) {
    const char *cls = NULL, *accel = NULL, *region = NULL, *from = NULL, *until = NULL;
    int64_t units = 0, memory = 0, price = 0, from_us = 0, until_us = 0;
    double tflops = 0, pue = 0, green = 0;
    const struct json_field fields[] = {
        JF_REQ_ENUM("resource_class", &cls, market_classes),
        JF_REQ_STRING("accelerator", &accel, 1, 64),
        JF_REQ_INT("units", &units, 1, 1000000),
        JF_REQ_NUMBER("fp16_tflops_per_unit", &tflops, 0, 100000),
        JF_REQ_INT("memory_gib_per_unit", &memory, 1, 65536),
        JF_REQ_ENUM("region", &region, market_regions),
        JF_REQ_INT("price_fen_per_unit_hour", &price, 1, 10000000000LL),
        JF_REQ_TIME("available_from", &from),
        JF_REQ_TIME("available_until", &until),
        JF_REQ_NUMBER("pue", &pue, 1.0, 3.0),
        JF_REQ_NUMBER("green_share", &green, 0, 1),
        JF_END,
    };
    if (!json_decode_body(r, fields))
        return;
    json_t *errors = json_array();
    if (!market_accelerator_ok(accel))
        market_error(errors, "accelerator",
                     "letters, digits, space and . _ + - only, starting with a letter or digit");
    bool times = market_time_field(errors, "available_from", from, &from_us);
    times = market_time_field(errors, "available_until", until, &until_us) && times;
    if (times && until_us <= from_us)
        market_error(errors, "available_until", "must be after available_from");
    if (!market_errors_ok(r, P_VALIDATION, errors))
        return;
    char s_units[24], s_tflops[32], s_memory[24], s_price[24], s_pue[32], s_green[32];
    snprintf(s_units, sizeof s_units, "%lld", (long long)units);
    snprintf(s_memory, sizeof s_memory, "%lld", (long long)memory);
    snprintf(s_price, sizeof s_price, "%lld", (long long)price);
    decimal_text(tflops, s_tflops);
    decimal_text(pue, s_pue);
    decimal_text(green, s_green);
    char *actor = api_actor(r);
    const char *params[] = {actor,  cls,     accel, s_units, s_tflops, s_memory,
                            region, s_price, from,  until,   s_pue,    s_green};
    PGresult *res;
    int rc = db_exec(SQL_OFFER_CREATE, 12, params, &res);
    free(actor);
    if (rc != 1) {
        PQclear(res);
        http_db_fail(r, rc < 0 ? rc : DB_HARD_ERROR);
        return;
    }
    http_add_header(r, "ETag", "\"1\"");
    json_t *offer = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    char location[80];
    snprintf(location, sizeof location, "/v1/offers/%s",
             json_string_value(json_object_get(offer, "id")));
    http_add_header(r, "Location", location);
    http_reply_json(r, 201, offer);
}

static const char SQL_OFFER_GET[] = "SELECT offer::text, version FROM offer_get($1::jsonb, $2)";

void api_offers_get(struct http_req *r) {
    static const char *const allowed[] = {NULL};
    if (!http_query_only(r, allowed))
        return;
    char *actor = api_actor(r);
    const char *params[] = {actor, r->params[0]};
    reply_offer(r, 200, SQL_OFFER_GET, 2, params, true);
    free(actor);
}

/* ==== update, withdraw ==================================================================== */

static const char *const patch_statuses[] = {"active", "paused", NULL};

static const char SQL_OFFER_UPDATE[] =
    "SELECT offer::text, version FROM offer_update($1::jsonb, $2, $3, $4, $5, $6::timestamptz, "
    "$7::timestamptz, $8, $9::numeric, $10::numeric)";

void api_offers_update(struct http_req *r) {
    const char *from = NULL, *until = NULL, *status = NULL;
    int64_t units = 0, price = 0, from_us = 0, until_us = 0;
    double pue = 0, green = 0;
    bool has_units, has_price, has_pue, has_green, has_status, has_from, has_until;
    const struct json_field fields[] = {
        JF_OPT_INT("price_fen_per_unit_hour", &price, 1, 10000000000LL, &has_price),
        JF_OPT_INT("units", &units, 1, 1000000, &has_units),
        JF_OPT_TIME("available_from", &from, &has_from),
        JF_OPT_TIME("available_until", &until, &has_until),
        JF_OPT_ENUM("status", &status, patch_statuses, &has_status),
        JF_OPT_NUMBER("green_share", &green, 0, 1, &has_green),
        JF_OPT_NUMBER("pue", &pue, 1.0, 3.0, &has_pue),
        JF_END,
    };
    if (!json_decode_body(r, fields))
        return;
    json_t *errors = json_array();
    if (!(has_price || has_units || has_from || has_until || has_status || has_green || has_pue))
        market_error(errors, "", "name at least one field to change");
    bool times = !has_from || market_time_field(errors, "available_from", from, &from_us);
    times = (!has_until || market_time_field(errors, "available_until", until, &until_us)) && times;
    if (times && has_from && has_until && until_us <= from_us)
        market_error(errors, "available_until", "must be after available_from");
    if (!market_errors_ok(r, P_VALIDATION, errors))
        return;
    char version[16];
    bool present;
    if (!if_match(r, version, &present))
        return;
    if (!present) {
        http_problem(r, P_PRECONDITION_REQUIRED,
                     "send If-Match with the offer's ETag from GET /v1/offers/%s", r->params[0]);
        return;
    }
    char s_price[24], s_units[24], s_green[32], s_pue[32];
    snprintf(s_price, sizeof s_price, "%lld", (long long)price);
    snprintf(s_units, sizeof s_units, "%lld", (long long)units);
    decimal_text(green, s_green);
    decimal_text(pue, s_pue);
    char *actor = api_actor(r);
    const char *params[] = {actor,
                            r->params[0],
                            version,
                            has_price ? s_price : NULL,
                            has_units ? s_units : NULL,
                            has_from ? from : NULL,
                            has_until ? until : NULL,
                            has_status ? status : NULL,
                            has_green ? s_green : NULL,
                            has_pue ? s_pue : NULL};
    reply_offer(r, 200, SQL_OFFER_UPDATE, 10, params, false);
    free(actor);
}

static const char SQL_OFFER_WITHDRAW[] =
    "SELECT offer::text, version FROM offer_withdraw($1::jsonb, $2, $3)";

void api_offers_withdraw(struct http_req *r) {
    static const char *const allowed[] = {NULL};
    if (!http_query_only(r, allowed))
        return;
    char version[16];
    bool present;
    if (!if_match(r, version, &present))
        return;
    char *actor = api_actor(r);
    const char *params[] = {actor, r->params[0], present ? version : NULL};
    reply_offer(r, 200, SQL_OFFER_WITHDRAW, 3, params, false);
    free(actor);
}

/* ==== search ============================================================================== */

static const char *const sort_keys[] = {"price",       "-price",     "tflops_per_fen",
                                        "green_share", "created_at", NULL};
static const char *const statuses[] = {"active", "paused", "withdrawn", NULL};

/* Decodes ?cursor= for sort (NULL = by id): base64url("<sort>|<value>|<id>") as
 * offer_search writes it. The value is checked against the key's type here, so that a forged
 * cursor is a 400 and never a database error. Writes value and id into out buffers. */
bool market_cursor_decode(const char *cursor, const char *sort, char value[64], char id[37]) {
    unsigned char raw[160];
    size_t len;
    if (strlen(cursor) > 200 ||
        sodium_base642bin(raw, sizeof raw - 1, cursor, strlen(cursor), NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    raw[len] = '\0';
    if (memchr(raw, '\0', len) != NULL)
        return false;
    char *text = (char *)raw;
    char *bar1 = strchr(text, '|');
    char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
    if (bar2 == NULL)
        return false;
    *bar1 = *bar2 = '\0';
    const char *key = sort ? sort : "id";
    const char *v = bar1 + 1;
    if (strcmp(text, key) != 0 || !util_is_uuid(bar2 + 1) || strlen(v) >= 64)
        return false;
    int64_t n;
    if (strcmp(key, "id") == 0) {
        if (*v != '\0')
            return false;
    } else if (strcmp(key, "price") == 0 || strcmp(key, "-price") == 0) {
        if (!util_parse_int64(v, 1, INT64_MAX, &n))
            return false;
    } else if (strcmp(key, "created_at") == 0) {
        if (!util_parse_int64(v, INT64_MIN, INT64_MAX, &n))
            return false;
    } else if (!market_decimal(v, 0, 1e12)) {
        return false;
    }
    snprintf(value, 64, "%s", v);
    snprintf(id, 37, "%s", bar2 + 1);
    return true;
}

/* A ?name= integer in [min, max] copied into filters as text. */
static void filter_int(struct http_req *r, json_t *f, json_t *errors, const char *name, int64_t min,
                       int64_t max) {
    const char *v = http_query(r, name);
    int64_t n;
    if (v == NULL)
        return;
    if (!util_parse_int64(v, min, max, &n) || v[0] == ' ' || v[0] == '+') {
        char msg[96];
        snprintf(msg, sizeof msg, "must be an integer from %lld to %lld", (long long)min,
                 (long long)max);
        market_error(errors, name, msg);
        return;
    }
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)n);
    json_object_set_new(f, name, json_string(text));
}

/* A ?name= plain decimal in [min, max], kept as the text the client sent (exact). */
static void filter_decimal(struct http_req *r, json_t *f, json_t *errors, const char *name,
                           double min, double max) {
    const char *v = http_query(r, name);
    if (v == NULL)
        return;
    if (!market_decimal(v, min, max)) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be a decimal number from %g to %g", min, max);
        market_error(errors, name, msg);
        return;
    }
    json_object_set_new(f, name, json_string(v));
}

static void filter_enum(struct http_req *r, json_t *f, json_t *errors, const char *name,
                        const char *const *choices, const char *message) {
    const char *v = http_query(r, name);
    if (v == NULL)
        return;
    if (!market_one_of(v, choices))
        market_error(errors, name, message);
    else
        json_object_set_new(f, name, json_string(v));
}

/* ?region=a,b: a comma-separated list of known region codes. */
static void filter_regions(struct http_req *r, json_t *f, json_t *errors) {
    const char *v = http_query(r, "region");
    if (v == NULL)
        return;
    json_t *list = json_array();
    char buf[256];
    if (strlen(v) >= sizeof buf || v[0] == '\0') {
        market_error(errors, "region", "must be a comma-separated list of region codes");
        json_decref(list);
        return;
    }
    snprintf(buf, sizeof buf, "%s", v);
    char *save = NULL;
    for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (!market_one_of(p, market_regions)) {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown region '%.64s' (see GET /v1/regions)", p);
            util_utf8_scrub(msg);
            market_error(errors, "region", msg);
            json_decref(list);
            return;
        }
        json_array_append_new(list, json_string(p));
    }
    json_object_set_new(f, "region", list);
}

static const char SQL_OFFER_SEARCH[] =
    "SELECT offer_search($1::jsonb, $2::jsonb, $3, $4, $5, $6)::text";

void api_offers_list(struct http_req *r) {
    static const char *const allowed[] = {"resource_class",
                                          "accelerator",
                                          "region",
                                          "zone",
                                          "min_units",
                                          "min_tflops",
                                          "max_price_fen",
                                          "min_green_share",
                                          "max_pue",
                                          "available_from",
                                          "available_until",
                                          "provider_id",
                                          "status",
                                          "sort",
                                          "limit",
                                          "cursor",
                                          NULL};
    if (!http_query_only(r, allowed))
        return;
    json_t *f = json_object(), *errors = json_array();
    filter_enum(r, f, errors, "resource_class", market_classes, "must be gpu, npu or cpu");
    const char *accel = http_query(r, "accelerator");
    if (accel != NULL) {
        if (strlen(accel) > 64 || !market_accelerator_ok(accel))
            market_error(errors, "accelerator",
                         "must be an accelerator name of 1 to 64 characters");
        else
            json_object_set_new(f, "accelerator", json_string(accel));
    }
    filter_regions(r, f, errors);
    static const char *const zones[] = {"east", "west", NULL};
    filter_enum(r, f, errors, "zone", zones, "must be east or west");
    filter_int(r, f, errors, "min_units", 1, 1000000);
    filter_decimal(r, f, errors, "min_tflops", 0, 100000);
    filter_int(r, f, errors, "max_price_fen", 1, 10000000000LL);
    filter_decimal(r, f, errors, "min_green_share", 0, 1);
    filter_decimal(r, f, errors, "max_pue", 1, 3);
    const char *from = http_query(r, "available_from"), *until = http_query(r, "available_until");
    int64_t from_us = 0, until_us = 0;
    if ((from == NULL) != (until == NULL)) {
        market_error(errors, from ? "available_until" : "available_from",
                     "available_from and available_until go together");
    } else if (from != NULL) {
        bool ok = market_time_parse(from, &from_us);
        if (!ok)
            market_error(errors, "available_from", "must be an RFC 3339 date-time");
        if (!market_time_parse(until, &until_us)) {
            market_error(errors, "available_until", "must be an RFC 3339 date-time");
            ok = false;
        }
        if (ok && until_us <= from_us)
            market_error(errors, "available_until", "must be after available_from");
        else if (ok) {
            json_object_set_new(f, "available_from", json_string(from));
            json_object_set_new(f, "available_until", json_string(until));
        }
    }
    const char *provider = http_query(r, "provider_id");
    if (provider != NULL && !util_is_uuid(provider))
        market_error(errors, "provider_id", "must be a UUID");
    else if (provider != NULL)
        json_object_set_new(f, "provider_id", json_string(provider));
    filter_enum(r, f, errors, "status", statuses, "must be active, paused or withdrawn");
    const char *sort = http_query(r, "sort");
    if (sort != NULL && !market_one_of(sort, sort_keys))
        market_error(errors, "sort",
                     "must be price, -price, tflops_per_fen, green_share or created_at");
    int64_t limit = API_DEFAULT_LIMIT;
    const char *lv = http_query(r, "limit");
    if (lv != NULL && !util_parse_int64(lv, 1, API_MAX_LIMIT, &limit))
        market_error(errors, "limit", "must be an integer from 1 to 200");
    const char *cursor = http_query(r, "cursor");
    char after[64] = "", after_id[37] = "";
    if (cursor != NULL && json_array_size(errors) == 0 &&
        !market_cursor_decode(cursor, sort, after, after_id))
        market_error(errors, "cursor",
                     "must be a next_cursor value from a previous page with the same sort");
    if (!market_errors_ok(r, P_INVALID_QUERY, errors)) {
        json_decref(f);
        return;
    }
    char *filters = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    char s_limit[8];
    snprintf(s_limit, sizeof s_limit, "%d", (int)limit);
    char *actor = api_actor(r);
    const char *params[] = {
        actor, filters, sort, cursor && after[0] ? after : NULL, cursor ? after_id : NULL, s_limit};
    api_reply_sql_read(r, 200, SQL_OFFER_SEARCH, 6, params, "no offers");
    free(actor);
    free(filters);
}
