/* offers.c — the hub regions and the capacity providers post: create, read, update (If-Match),
 * withdraw, and the search over every filter and sort key of DESIGN.md §4. */
#include "auth.h"
#include "canon.h"
#include "market.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== regions ============================================================================= */

static const char SQL_REGION_LIST[] = "SELECT region_list()";

void api_regions_list(struct http_req *r) {
    if (!qf_decode(r, NULL))
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
    const struct jf_field fields[] = {
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
    if (!jf_decode_body(r, fields))
        return;
    json_t *errors = json_array();
    if (!market_accelerator_ok(accel))
        http_error_add(errors, "accelerator",
                       "letters, digits, space and . _ + - only, starting with a letter or digit");
    util_rfc3339_us(from, &from_us); /* JF_TIME accepted both */
    util_rfc3339_us(until, &until_us);
    if (until_us <= from_us)
        http_error_add(errors, "available_until", "must be after available_from");
    if (!http_errors_ok(r, P_VALIDATION, errors))
        return;
    char s_units[24], s_tflops[32], s_memory[24], s_price[24], s_pue[32], s_green[32];
    snprintf(s_units, sizeof s_units, "%lld", (long long)units);
    snprintf(s_memory, sizeof s_memory, "%lld", (long long)memory);
    snprintf(s_price, sizeof s_price, "%lld", (long long)price);
    decimal_text(tflops, s_tflops);
    decimal_text(pue, s_pue);
    decimal_text(green, s_green);
    const char *params[] = {api_actor(r), cls,     accel, s_units, s_tflops, s_memory,
                            region,       s_price, from,  until,   s_pue,    s_green};
    PGresult *res;
    int rc = db_exec(SQL_OFFER_CREATE, 12, params, &res);
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
    if (!qf_decode(r, NULL))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    reply_offer(r, 200, SQL_OFFER_GET, 2, params, true);
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
    const struct jf_field fields[] = {
        JF_OPT_INT("price_fen_per_unit_hour", &price, 1, 10000000000LL, &has_price),
        JF_OPT_INT("units", &units, 1, 1000000, &has_units),
        JF_OPT_TIME("available_from", &from, &has_from),
        JF_OPT_TIME("available_until", &until, &has_until),
        JF_OPT_ENUM("status", &status, patch_statuses, &has_status),
        JF_OPT_NUMBER("green_share", &green, 0, 1, &has_green),
        JF_OPT_NUMBER("pue", &pue, 1.0, 3.0, &has_pue),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    json_t *errors = json_array();
    if (!(has_price || has_units || has_from || has_until || has_status || has_green || has_pue))
        http_error_add(errors, "", "name at least one field to change");
    if (has_from && has_until && util_rfc3339_us(from, &from_us) &&
        util_rfc3339_us(until, &until_us) && until_us <= from_us)
        http_error_add(errors, "available_until", "must be after available_from");
    char version[16];
    if (!http_errors_ok(r, P_VALIDATION, errors) || !http_if_match(r, "offer", true, version))
        return;
    char s_price[24], s_units[24], s_green[32], s_pue[32];
    snprintf(s_price, sizeof s_price, "%lld", (long long)price);
    snprintf(s_units, sizeof s_units, "%lld", (long long)units);
    decimal_text(green, s_green);
    decimal_text(pue, s_pue);
    const char *params[] = {api_actor(r),
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
}

static const char SQL_OFFER_WITHDRAW[] =
    "SELECT offer::text, version FROM offer_withdraw($1::jsonb, $2, $3)";

void api_offers_withdraw(struct http_req *r) {
    char version[16];
    if (!qf_decode(r, NULL) || !http_if_match(r, "offer", false, version))
        return;
    const char *params[] = {api_actor(r), r->params[0], version[0] ? version : NULL};
    reply_offer(r, 200, SQL_OFFER_WITHDRAW, 3, params, false);
}

/* ==== search ============================================================================== */

static const char *const sort_keys[] = {"price",       "-price",     "tflops_per_fen",
                                        "green_share", "created_at", NULL};
static const char *const statuses[] = {"active", "paused", "withdrawn", NULL};
#define CURSOR_MESSAGE "must be a next_cursor value from a previous page with the same sort"

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
    } else if (!util_is_decimal(v, 0, 1e12)) {
        return false;
    }
    snprintf(value, 64, "%s", v);
    snprintf(id, 37, "%s", bar2 + 1);
    return true;
}

static const char SQL_OFFER_SEARCH[] =
    "SELECT offer_search($1::jsonb, $2::jsonb, $3, $4, $5, $6)::text";
static const char SQL_OFFER_SEARCH_AS[] =
    "SELECT * FROM offer_search_as($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)";

/* The first column of an offer in a row of offer_search_as, after the principal's five; the
 * last column is the value the offer's cursor holds. Row 0 is the principal (its offer columns
 * NULL), each further row one offer (its principal columns NULL). */
enum { SEARCH_OFFER_COL = 5, SEARCH_MAX_COLS = 32 };

/* The OIDs of the column types that search_item renders (PostgreSQL's pg_type, fixed). */
enum { PG_OID_INT8 = 20, PG_OID_INT4 = 23, PG_OID_TIMESTAMPTZ = 1184, PG_OID_NUMERIC = 1700 };

/* Appends the n bytes of timestamptz t as ts() renders it: t is PostgreSQL's text in the ISO
 * DateStyle and UTC that migrate sets for the database ("2026-01-02 03:04:05.6789+00", the
 * fraction optional, without trailing zeros), the result "2026-01-02T03:04:05.678Z", the
 * fraction cut to milliseconds as to_char's MS does. False for any other form (another
 * DateStyle or time zone, a year past 9999, infinity): the usual path answers then. */
static bool search_ts(struct buf *b, const char *t, size_t n) {
    static const char shape[] = "dddd-dd-dd dd:dd:dd";
    size_t i;
    for (i = 0; i < sizeof shape - 1; i++)
        if (i >= n || (shape[i] == 'd' ? !isdigit((unsigned char)t[i]) : t[i] != shape[i]))
            return false;
    char ms[3] = {'0', '0', '0'};
    if (i < n && t[i] == '.') {
        size_t digits = 0;
        for (i++; i < n && isdigit((unsigned char)t[i]); i++, digits++)
            if (digits < 3)
                ms[digits] = t[i];
        if (digits == 0)
            return false;
    }
    if (n - i != 3 || memcmp(t + i, "+00", 3) != 0)
        return false;
    char out[] = "\"YYYY-MM-DDTHH:MM:SS.mmmZ\"";
    memcpy(out + 1, t, 10);
    memcpy(out + 12, t + 11, 8);
    memcpy(out + 21, ms, 3);
    buf_put(b, out, sizeof out - 1);
    return true;
}

/* How search_item renders one offer column: its member's key ("\"name\": ") and the form of
 * its value. */
struct search_col {
    char key[48];
    size_t key_len;
    enum { SC_STRING, SC_NUMBER, SC_TIME } kind;
    bool optional; /* free_units: NULL (the search has no window) leaves the member out */
};

/* The columns of result res from SEARCH_OFFER_COL to the cursor's value, read once a page
 * rather than once a field; their number, or -1 for a shape search_item does not know. */
static int search_cols(const PGresult *res, struct search_col *cols) {
    int n = PQnfields(res) - 1 - SEARCH_OFFER_COL;
    if (n < 1 || n > SEARCH_MAX_COLS)
        return -1;
    for (int k = 0; k < n; k++) {
        int c = SEARCH_OFFER_COL + k;
        const char *name = PQfname(res, c) + 2; /* without "r_" */
        int len = snprintf(cols[k].key, sizeof cols[k].key, "\"%s\": ", name);
        if (len < 0 || (size_t)len >= sizeof cols[k].key)
            return -1;
        cols[k].key_len = (size_t)len;
        Oid type = PQftype(res, c);
        cols[k].kind = type == PG_OID_INT4 || type == PG_OID_INT8 || type == PG_OID_NUMERIC
                           ? SC_NUMBER
                       : type == PG_OID_TIMESTAMPTZ ? SC_TIME
                                                    : SC_STRING;
        cols[k].optional = strcmp(name, "free_units") == 0;
    }
    return n;
}

/* Appends the offer of row i of offer_search_as's result res as offer_search renders it (jsonb's
 * text): each column from SEARCH_OFFER_COL to the cursor's value is a member named after the
 * column without its "r_", a number for the numeric types, a timestamp as ts() renders it,
 * otherwise a string; a NULL free_units (the search has no window) is left out. False when a
 * timestamp has a form search_ts does not know. */
static bool search_item(struct buf *b, const PGresult *res, int i, const struct search_col *cols,
                        int ncols) {
    buf_putc(b, '{');
    bool first = true;
    for (int k = 0; k < ncols; k++) {
        int c = SEARCH_OFFER_COL + k;
        bool null = PQgetisnull(res, i, c);
        if (null && cols[k].optional)
            continue;
        if (!first)
            buf_put(b, ", ", 2);
        first = false;
        buf_put(b, cols[k].key, cols[k].key_len);
        const char *v = PQgetvalue(res, i, c);
        size_t n = (size_t)PQgetlength(res, i, c);
        if (null)
            buf_put(b, "null", 4);
        else if (cols[k].kind == SC_NUMBER)
            buf_put(b, v, n);
        else if (cols[k].kind == SC_TIME) {
            if (!search_ts(b, v, n))
                return false;
        } else
            canon_emit_string(b, v, n);
    }
    buf_putc(b, '}');
    return true;
}

/* Appends the page of offer_search_as's result res (row 0 the principal, then the offers,
 * limit + 1 at most) for sort (NULL: by id) and limit, byte for byte as offer_search builds it:
 * {"items" : [...], "next_cursor" : ...}, the cursor the limit-th offer's when there is a next
 * page (offer_cursor: base64url of "<sort>|<value>|<id>"). False when an offer cannot be
 * rendered here (search_item). */
static bool search_page(struct buf *b, const PGresult *res, const char *sort, int limit) {
    struct search_col cols[SEARCH_MAX_COLS];
    int ncols = search_cols(res, cols);
    if (ncols < 0)
        return false;
    int offers = PQntuples(res) - 1;
    buf_reserve(b, (size_t)offers * 640 + 64); /* an offer renders to ~600 bytes */
    buf_put(b, "{\"items\" : [", 12);
    for (int i = 1; i <= offers && i <= limit; i++) {
        if (i > 1)
            buf_put(b, ", ", 2);
        if (!search_item(b, res, i, cols, ncols))
            return false;
    }
    buf_put(b, "], \"next_cursor\" : ", 19);
    if (offers <= limit) {
        buf_put(b, "null}", 5);
        return true;
    }
    char raw[192];
    int n = snprintf(raw, sizeof raw, "%s|%s|%s", sort ? sort : "id",
                     PQgetvalue(res, limit, PQnfields(res) - 1),
                     PQgetvalue(res, limit, SEARCH_OFFER_COL));
    if (n < 0 || (size_t)n >= sizeof raw)
        return false;
    char b64[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)raw, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    buf_printf(b, "\"%s\"}", b64);
    return true;
}

/* A search in one round trip (RF_ONE_TRIP, sql/functions/market/offer_search_as): the
 * credential's lookup and the search in one statement, a GET's cookie without X-CSRF-Token.
 * No row (no such credential) or a failure is left to the usual path, which authenticates
 * (401) and searches again: the statement is a read, so it may run twice. search holds the
 * filters, sort, after, after_id and limit of offer_search.
 *
 * It runs where the search runs, on the read replica when DATABASE_READ_URL is set:
 * db_exec_read sends a read there only once the replica has replayed all the primary had
 * flushed when the read began, so an API key revoked (or a session ended) before the request
 * arrived is revoked on the replica too, and a lagging replica is bypassed for the primary.
 *
 * The statement returns the page's offers as columns, and search_page renders them: the
 * database walks the index and the server, which scales out, builds the JSON (in PostgreSQL
 * the rendering cost several times the walk: README, Measurements). */
static void search_one_trip(struct http_req *r, const char *const search[5]) {
    struct auth_lookup who;
    if (!auth_lookup_args(r, false, &who))
        return;
    const char *params[] = {who.token_hash,    who.cookie ? "true" : "false",
                            r->own_request_id, r->client_ip,
                            search[0],         search[1],
                            search[2],         search[3],
                            search[4]};
    PGresult *res;
    int rc = db_exec_read(SQL_OFFER_SEARCH_AS, 9, params, &res);
    if (rc >= 1) { /* the principal's row, then the page's offers */
        auth_fill_row(&r->who, res, 0, who.cookie);
        struct buf page = {0};
        if (search_page(&page, res, search[1], atoi(search[4])) && !page.oom) {
            http_reply_take(r, 200, "application/json", page.p, page.len);
            r->one_trip_done = true;
        } else {
            buf_free(&page); /* the usual path answers */
        }
    }
    if (rc >= 0)
        PQclear(res);
}

/* The filters of a search as the jsonb offer_search reads: each given one by its name, as
 * text (numbers exactly as the client wrote them), region as an array. */
static json_t *search_filters(const struct query_field *query, size_t nfilters) {
    json_t *f = json_object();
    for (size_t i = 0; i < nfilters; i++) {
        const char *v = *query[i].dst;
        if (v == NULL)
            continue;
        if (strcmp(query[i].name, "region") != 0) {
            json_object_set_new(f, query[i].name, json_string(v));
            continue;
        }
        json_t *list = json_array();
        for (const char *p = v;; p++) {
            size_t n = strcspn(p, ",");
            json_array_append_new(list, json_stringn(p, n));
            p += n;
            if (*p == '\0')
                break;
        }
        json_object_set_new(f, "region", list);
    }
    return f;
}

/* GET /v1/offers. Called first before authentication (RF_ONE_TRIP: search_one_trip), then, if
 * that did not answer, as usual; a query it refuses is answered on the usual path (401 first). */
void api_offers_list(struct http_req *r) {
    static const char *const zones[] = {"east", "west", NULL};
    const char *cls, *accel, *region, *zone, *min_units, *min_tflops, *max_price, *min_green,
        *max_pue, *from, *until, *provider, *status, *sort, *limit, *cursor;
    enum { NFILTERS = 13 }; /* the filters come first: offer_search's jsonb names them so */
    const struct query_field query[] = {
        QF_ENUM("resource_class", &cls, market_classes),
        QF_STRING("accelerator", &accel, 1, 64, market_accelerator_ok,
                  "must be an accelerator name of 1 to 64 characters"),
        QF_LIST("region", &region, market_regions,
                "must be a comma-separated list of region codes (see GET /v1/regions)"),
        QF_ENUM("zone", &zone, zones),
        QF_INT("min_units", &min_units, 1, 1000000, NULL),
        QF_DECIMAL("min_tflops", &min_tflops, 0, 100000),
        QF_INT("max_price_fen", &max_price, 1, 10000000000LL, NULL),
        QF_DECIMAL("min_green_share", &min_green, 0, 1),
        QF_DECIMAL("max_pue", &max_pue, 1, 3),
        QF_TIME("available_from", &from),
        QF_TIME("available_until", &until),
        QF_UUID("provider_id", &provider),
        QF_ENUM("status", &status, statuses),
        QF_ENUM("sort", &sort, sort_keys),
        QF_INT("limit", &limit, 1, API_MAX_LIMIT, API_DEFAULT_LIMIT),
        QF_STRING("cursor", &cursor, 1, 200, NULL, CURSOR_MESSAGE),
        QF_END,
    };
    if (!qf_decode(r, query))
        return;
    /* each parameter is right; now how they go together */
    const char *bad = NULL, *why = NULL;
    char after[64] = "", after_id[37] = "";
    int64_t from_us, until_us;
    if ((from == NULL) != (until == NULL)) {
        bad = from ? "available_until" : "available_from";
        why = "available_from and available_until go together";
    } else if (from != NULL && util_rfc3339_us(from, &from_us) &&
               util_rfc3339_us(until, &until_us) && until_us <= from_us) {
        bad = "available_until";
        why = "must be after available_from";
    } else if (cursor != NULL && !market_cursor_decode(cursor, sort, after, after_id)) {
        bad = "cursor";
        why = CURSOR_MESSAGE;
    }
    if (bad != NULL) {
        http_problem_field(r, P_INVALID_QUERY, bad, why);
        return;
    }
    json_t *f = search_filters(query, NFILTERS);
    char *filters = http_req_own_str(r, json_dumps(f, JSON_COMPACT));
    json_decref(f);
    const char *search[] = {filters, sort, cursor && after[0] ? after : NULL,
                            cursor ? after_id : NULL, limit};
    if (r->one_trip) {
        search_one_trip(r, search);
        return;
    }
    const char *params[] = {api_actor(r), search[0], search[1], search[2], search[3], search[4]};
    api_reply_sql_read(r, 200, SQL_OFFER_SEARCH, 6, params, "no offers");
}
