/* programs.c — a city's subsidy programmes: create, list, read, update (If-Match). Every
 * answer carries the balances issued_fen, redeemed_fen, released_fen and available_fen. */
#include "api.h"

#include "market.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRAM_MAX_BUDGET_FEN INT64_C(1000000000000000)

/* Who the payouts pay a programme's subsidies to (issue 14). */
static const char *const program_payees[] = {"provider", "institute", NULL};

/* Runs sql, whose row is (program jsonb, version integer), and replies the programme with its
 * version as a strong ETag. No row is 404. */
static void reply_program(struct http_req *r, unsigned status, const char *sql, int n,
                          const char *const *params, const char *id) {
    PGresult *res;
    int rc = db_exec(sql, n, params, &res);
    if (rc < 0) {
        http_db_fail(r, rc);
        return;
    }
    if (rc == 0 || PQgetisnull(res, 0, 0)) {
        http_problem(r, P_NOT_FOUND, "no programme %s", id);
    } else {
        char etag[24];
        snprintf(etag, sizeof etag, "\"%s\"", PQgetvalue(res, 0, 1));
        http_add_header(r, "ETag", etag);
        if (status == 201) {
            json_t *p = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
            char location[64];
            snprintf(location, sizeof location, "/v1/programs/%s",
                     json_string_value(json_object_get(p, "id")));
            json_decref(p);
            http_add_header(r, "Location", location);
        }
        http_reply_raw(r, status, "application/json", PQgetvalue(res, 0, 0),
                       (size_t)PQgetlength(res, 0, 0));
    }
    PQclear(res);
}

/* Checks that every element of an array field is one of choices and that none repeats. */
static void list_check(json_t *errors, const char *field, json_t *list, const char *const *choices,
                       const char *message) {
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        char name[48];
        snprintf(name, sizeof name, "%s[%zu]", field, i);
        const char *s = json_string_value(e);
        if (s == NULL || !market_one_of(s, choices)) {
            http_error_add(errors, name, message);
            continue;
        }
        for (size_t k = 0; k < i; k++)
            if (json_equal(json_array_get(list, k), e)) {
                http_error_add(errors, name, "is listed twice");
                break;
            }
    }
}

/* The rule fields shared by create and update. */
#define PROGRAM_RULE_FIELDS                                                                        \
    JF_OPT_TIME("starts_at", &starts, NULL),                                                       \
        JF_OPT_ARRAY("resource_classes", &classes, 1, 3, &has_classes),                            \
        JF_OPT_ARRAY("regions", &regions, 1, 8, &has_regions),                                     \
        JF_OPT_NUMBER("min_green_share", &green, 0, 1, NULL),                                      \
        JF_OPT_INT("per_institute_cap_fen", &cap, 1, PROGRAM_MAX_BUDGET_FEN, NULL),                \
        JF_OPT_INT("per_institute_year_cap_fen", &year_cap, 1, PROGRAM_MAX_BUDGET_FEN, NULL),      \
        JF_OPT_INT("per_contract_cap_bp", &contract_bp, 1, 10000, NULL),                           \
        JF_OPT_INT("domestic_subsidy_bp", &domestic_bp, 1, 10000, NULL),                           \
        JF_OPT_INT("west_subsidy_bp", &west_bp, 1, 10000, NULL),                                   \
        JF_OPT_BOOL("open_to_all_providers", &open_all, NULL),                                     \
        JF_OPT_ARRAY("funders", &funders, 0, 8, NULL),                                             \
        JF_OPT_INT("usage_dispute_days", &dispute_days, 1, 90, NULL),                              \
        JF_OPT_BOOL("settle_after_buyer_pays", &after_pay, NULL),                                  \
        JF_OPT_ENUM("payee", &payee, program_payees, NULL)

static bool rules_ok(struct http_req *r, json_t *classes, bool has_classes, json_t *regions,
                     bool has_regions) {
    json_t *errors = json_array();
    if (has_classes)
        list_check(errors, "resource_classes", classes, market_classes, "must be gpu, npu or cpu");
    if (has_regions)
        list_check(errors, "regions", regions, market_regions, "must be a hub region code");
    return http_errors_ok(r, P_VALIDATION, errors);
}

static const char SQL_PROGRAM_CREATE[] = "SELECT * FROM program_create($1::jsonb, $2::jsonb)";

/* POST /v1/programs. The validated body goes to SQL as it is, so that decimals such as
 * min_green_share reach numeric exactly as the client wrote them. */
void api_programs_create(struct http_req *r) {
    const char *city = NULL, *name = NULL, *starts = NULL, *ends = NULL;
    int64_t budget = 0, bp = 0, cap = 0, year_cap = 0, contract_bp = 0, domestic_bp = 0,
            west_bp = 0;
    bool open_all = true, after_pay = false;
    int64_t dispute_days = 0;
    const char *payee = NULL;
    json_t *funders = NULL;
    double green = 0;
    json_t *classes = NULL, *regions = NULL;
    bool has_classes, has_regions;
    const struct jf_field fields[] = {
        JF_OPT_UUID("city_id", &city, NULL),
        JF_REQ_STRING("name", &name, 1, 200),
        JF_REQ_INT("budget_fen", &budget, 0, PROGRAM_MAX_BUDGET_FEN),
        JF_REQ_TIME("ends_at", &ends),
        JF_REQ_INT("max_subsidy_bp", &bp, 1, 10000),
        PROGRAM_RULE_FIELDS,
        JF_END,
    };
    if (!jf_decode_body(r, fields) || !rules_ok(r, classes, has_classes, regions, has_regions))
        return;
    const char *params[] = {api_actor(r), r->body.p};
    reply_program(r, 201, SQL_PROGRAM_CREATE, 2, params, "");
}

static const char SQL_PROGRAM_LIST[] = "SELECT program_list($1::jsonb, $2, $3, $4)";

void api_programs_list(struct http_req *r) {
    const char *limit, *cursor, *city;
    const struct query_field query[] = {API_QF_PAGE(&limit, &cursor), QF_UUID("city_id", &city),
                                        QF_END};
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), city, cursor, limit};
    api_reply_sql(r, 200, SQL_PROGRAM_LIST, 4, params, "no programmes");
}

static const char SQL_PROGRAM_GET[] = "SELECT * FROM program_get($1::jsonb, $2)";

void api_programs_get(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    reply_program(r, 200, SQL_PROGRAM_GET, 2, params, r->params[0]);
}

static const char SQL_PROGRAM_UPDATE[] =
    "SELECT * FROM program_update($1::jsonb, $2, $3, $4::jsonb)";

/* PATCH /v1/programs/{id}: any of the rule fields, the budget (never below what is issued
 * and not released), the window, and status active or suspended. The caps and tiers
 * (per_institute_cap_fen, per_institute_year_cap_fen, per_contract_cap_bp, domestic_subsidy_bp,
 * west_subsidy_bp): null removes the rule. */
void api_programs_update(struct http_req *r) {
    static const char *const statuses[] = {"active", "suspended", NULL};
    const char *name = NULL, *starts = NULL, *ends = NULL, *status = NULL;
    int64_t budget = 0, bp = 0, cap = 0, year_cap = 0, contract_bp = 0, domestic_bp = 0,
            west_bp = 0;
    bool open_all = true, after_pay = false;
    int64_t dispute_days = 0;
    const char *payee = NULL;
    json_t *funders = NULL;
    double green = 0;
    json_t *classes = NULL, *regions = NULL;
    bool has_classes, has_regions;
    const struct jf_field fields[] = {
        JF_OPT_STRING("name", &name, 1, 200, NULL),
        JF_OPT_INT("budget_fen", &budget, 0, PROGRAM_MAX_BUDGET_FEN, NULL),
        JF_OPT_TIME("ends_at", &ends, NULL),
        JF_OPT_INT("max_subsidy_bp", &bp, 1, 10000, NULL),
        JF_OPT_ENUM("status", &status, statuses, NULL),
        PROGRAM_RULE_FIELDS,
        JF_END,
    };
    char version[16];
    if (!http_if_match(r, "programme", true, version) || !jf_decode_body(r, fields) ||
        !rules_ok(r, classes, has_classes, regions, has_regions))
        return;
    const char *params[] = {api_actor(r), r->params[0], version, r->body.p};
    reply_program(r, 200, SQL_PROGRAM_UPDATE, 4, params, r->params[0]);
}
