/* usage.c — delivery and usage-based billing (issue 14): the provider of a completed order
 * reports the unit-hours it delivered with evidence, the institute accepts or disputes the
 * report within the programme's window (silence accepts it: usage_accept_due in the
 * maintenance tick), acceptance re-bills the order, and the institute records its payments of
 * the net amount. The rules live in sql/functions/usage, one call per request. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE_MAX_UNIT_HOURS 1e15
#define USAGE_MAX_EVIDENCE 20
#define PAYMENT_MAX_FEN INT64_C(1000000000000000)

/* True when s is 64 lowercase hexadecimal digits (a SHA-256 as sha256sum prints it). */
static bool sha256_hex(const char *s) {
    size_t n = strlen(s);
    if (n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Checks each evidence item {name, sha256}; adds {field, message} errors. */
static void evidence_check(json_t *evidence, json_t *errors) {
    size_t i;
    json_t *e;
    json_array_foreach(evidence, i, e) {
        const char *name = NULL, *sha = NULL;
        const struct jf_field fields[] = {
            JF_REQ_STRING("name", &name, 1, 200),
            JF_REQ_STRING("sha256", &sha, 64, 64),
            JF_END,
        };
        char at[32];
        snprintf(at, sizeof at, "evidence[%zu].", i);
        json_t *bad = jf_check(e, fields, at);
        if (bad != NULL) {
            json_array_extend(errors, bad);
            json_decref(bad);
        } else if (!sha256_hex(sha)) {
            char field[40];
            snprintf(field, sizeof field, "evidence[%zu].sha256", i);
            http_error_add(errors, field, "must be 64 lowercase hexadecimal digits");
        }
    }
}

static const char SQL_USAGE_REPORT[] = "SELECT usage_report($1::jsonb, $2, $3::jsonb)";

/* POST /v1/orders/{id}/usage {unit_hours, availability, evidence}. The validated body goes
 * to SQL as it is, so that unit_hours reaches numeric exactly as the client wrote it. */
void api_usage_report(struct http_req *r) {
    double hours = 0, availability = 0;
    json_t *evidence = NULL;
    const struct jf_field fields[] = {
        JF_REQ_NUMBER("unit_hours", &hours, 0, USAGE_MAX_UNIT_HOURS),
        JF_REQ_NUMBER("availability", &availability, 0, 1),
        JF_REQ_ARRAY("evidence", &evidence, 1, USAGE_MAX_EVIDENCE),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    json_t *errors = json_array();
    if (!(hours > 0))
        http_error_add(errors, "unit_hours", "must be more than 0");
    evidence_check(evidence, errors);
    if (!http_errors_ok(r, P_VALIDATION, errors))
        return;
    const char *params[] = {api_actor(r), r->params[0], r->body.p};
    api_reply_sql(r, 201, SQL_USAGE_REPORT, 3, params, "no such order");
}

static const char SQL_USAGE_LIST[] = "SELECT usage_list($1::jsonb, $2)";

void api_usage_list(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    char detail[80];
    snprintf(detail, sizeof detail, "no order %s", r->params[0]);
    api_reply_sql_read(r, 200, SQL_USAGE_LIST, 2, params, detail);
}

static const char SQL_USAGE_ACCEPT[] = "SELECT usage_accept($1::jsonb, $2)";

/* POST /v1/orders/{id}/usage/accept: answers the re-billed order. */
void api_usage_accept(struct http_req *r) {
    if (!api_no_body(r))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    api_reply_sql(r, 200, SQL_USAGE_ACCEPT, 2, params, "no such order");
}

static const char SQL_USAGE_DISPUTE[] = "SELECT usage_dispute($1::jsonb, $2, $3)";

/* POST /v1/orders/{id}/usage/dispute {reason}: answers the disputed report. */
void api_usage_dispute(struct http_req *r) {
    const char *reason = NULL;
    const struct jf_field fields[] = {
        JF_REQ_STRING("reason", &reason, 1, 2000),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    const char *params[] = {api_actor(r), r->params[0], reason};
    api_reply_sql(r, 200, SQL_USAGE_DISPUTE, 3, params, "no such order");
}

static const char SQL_PAYMENT_CREATE[] = "SELECT payment_create($1::jsonb, $2, $3, $4)";

/* POST /v1/orders/{id}/payments {amount_fen, reference}. */
void api_payments_create(struct http_req *r) {
    int64_t amount = 0;
    const char *reference = NULL;
    const struct jf_field fields[] = {
        JF_REQ_INT("amount_fen", &amount, 1, PAYMENT_MAX_FEN),
        JF_REQ_STRING("reference", &reference, 1, 200),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    char s_amount[24];
    snprintf(s_amount, sizeof s_amount, "%lld", (long long)amount);
    const char *params[] = {api_actor(r), r->params[0], s_amount, reference};
    api_reply_sql(r, 201, SQL_PAYMENT_CREATE, 4, params, "no such order");
}

static const char SQL_PAYMENT_LIST[] = "SELECT payment_list($1::jsonb, $2)";

void api_payments_list(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    char detail[80];
    snprintf(detail, sizeof detail, "no order %s", r->params[0]);
    api_reply_sql_read(r, 200, SQL_PAYMENT_LIST, 2, params, detail);
}
