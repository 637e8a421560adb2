/* applications.c — the voucher scheme of issue 13: institutes apply for vouchers, a city's
 * administrators approve (issuing the voucher in the same transaction), trim, waitlist or
 * reject; a programme's accredited providers; related parties. The rules live in
 * sql/functions/scheme (application_*, program_provider_*, related_party_*). */
#include "api.h"

#include "keys.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define APPLICATION_MAX_FEN INT64_C(1000000000000)
#define CONTRACT_MAX_FEN INT64_C(1000000000000000)
#define APPLICATION_MAX_ATTACHMENTS 20

static const char *const application_states[] = {"submitted", "waitlisted", "approved",
                                                 "rejected",  "withdrawn",  NULL};

/* ==== applications ======================================================================== */

static bool is_sha256_hex(const char *s) {
    if (s == NULL || strlen(s) != 64)
        return false;
    for (const char *c = s; *c; c++)
        if (!isxdigit((unsigned char)*c) || isupper((unsigned char)*c))
            return false;
    return true;
}

/* Each attachment is {name, sha256}: the name of a supporting document and the lower-case hex
 * SHA-256 of its content (the documents themselves stay with the institute). */
static bool attachments_ok(struct http_req *r, json_t *list) {
    json_t *errors = json_array(), *e;
    size_t i;
    json_array_foreach(list, i, e) {
        const char *name = NULL, *sha = NULL;
        const struct jf_field fields[] = {
            JF_REQ_STRING("name", &name, 1, 200),
            JF_REQ_STRING("sha256", &sha, 64, 64),
            JF_END,
        };
        char prefix[48];
        snprintf(prefix, sizeof prefix, "attachments[%zu].", i);
        json_t *bad = json_is_object(e) ? jf_check(e, fields, prefix) : NULL;
        if (!json_is_object(e)) {
            char field[48];
            snprintf(field, sizeof field, "attachments[%zu]", i);
            http_error_add(errors, field, "must be an object {name, sha256}");
        } else if (bad != NULL) {
            json_array_extend(errors, bad);
            json_decref(bad);
        } else if (!is_sha256_hex(sha)) {
            char field[48];
            snprintf(field, sizeof field, "attachments[%zu].sha256", i);
            http_error_add(errors, field, "must be 64 lower-case hexadecimal digits");
        }
    }
    return http_errors_ok(r, P_VALIDATION, errors);
}

static const char SQL_APPLICATION_CREATE[] = "SELECT application_create($1::jsonb, $2::jsonb)";

/* POST /v1/applications (institutes). */
void api_applications_create(struct http_req *r) {
    const char *program = NULL, *purpose = NULL, *contract = NULL, *provider = NULL;
    int64_t requested = 0, value = 0;
    json_t *attachments = NULL;
    bool has_attachments;
    const struct jf_field fields[] = {
        JF_REQ_UUID("program_id", &program),
        JF_REQ_INT("requested_fen", &requested, 1, APPLICATION_MAX_FEN),
        JF_REQ_STRING("purpose", &purpose, 1, 2000),
        JF_REQ_STRING("contract_reference", &contract, 1, 200),
        JF_OPT_INT("contract_value_fen", &value, 1, CONTRACT_MAX_FEN, NULL),
        JF_OPT_UUID("provider_id", &provider, NULL),
        JF_OPT_ARRAY("attachments", &attachments, 0, APPLICATION_MAX_ATTACHMENTS, &has_attachments),
        JF_END,
    };
    if (!jf_decode_body(r, fields) || (has_attachments && !attachments_ok(r, attachments)))
        return;
    const char *params[] = {api_actor(r), r->body.p};
    PGresult *res;
    int rc = db_exec(SQL_APPLICATION_CREATE, 2, params, &res);
    if (rc != 1 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        http_db_fail(r, rc < 0 ? rc : DB_HARD_ERROR);
        return;
    }
    json_t *a = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    char location[80];
    snprintf(location, sizeof location, "/v1/applications/%s",
             json_string_value(json_object_get(a, "id")));
    http_add_header(r, "Location", location);
    http_reply_json(r, 201, a);
}

static const char SQL_APPLICATION_LIST[] = "SELECT application_list($1::jsonb, $2, $3, $4, $5)";

/* GET /v1/applications?status=&program_id=: an institute sees its own, city staff their
 * city's. */
void api_applications_list(struct http_req *r) {
    const char *limit, *cursor, *status, *program;
    const struct query_field query[] = {
        API_QF_PAGE(&limit, &cursor),
        QF_ENUM("status", &status, application_states),
        QF_UUID("program_id", &program),
        QF_END,
    };
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), status, program, cursor, limit};
    api_reply_sql(r, 200, SQL_APPLICATION_LIST, 5, params, "no applications");
}

static const char SQL_APPLICATION_GET[] = "SELECT application_get($1::jsonb, $2)";

void api_applications_get(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    char detail[80];
    snprintf(detail, sizeof detail, "no application %s", r->params[0]);
    api_reply_sql(r, 200, SQL_APPLICATION_GET, 2, params, detail);
}

static const char SQL_APPLICATION_APPROVE[] =
    "SELECT application_approve($1::jsonb, $2, $3, $4::bigint, $5)";

/* POST /v1/applications/{id}/approve {amount_fen?, note?}: approved with its voucher, or
 * waitlisted when the budget cannot cover it (both 200; the answer's status says which). */
void api_applications_approve(struct http_req *r) {
    const char *note = NULL;
    int64_t amount = 0;
    bool has_amount = false;
    const struct jf_field fields[] = {
        JF_OPT_INT("amount_fen", &amount, 1, APPLICATION_MAX_FEN, &has_amount),
        JF_OPT_STRING("note", &note, 1, 2000, NULL),
        JF_END,
    };
    if (r->body.len > 0 && !jf_decode_body(r, fields))
        return;
    char amount_text[24];
    snprintf(amount_text, sizeof amount_text, "%lld", (long long)amount);
    const char *params[] = {api_actor(r), r->params[0], keys_current()->kid,
                            has_amount ? amount_text : NULL, note};
    api_reply_sql(r, 200, SQL_APPLICATION_APPROVE, 5, params, "no application");
}

static const char SQL_APPLICATION_REJECT[] = "SELECT application_reject($1::jsonb, $2, $3)";

/* POST /v1/applications/{id}/reject {reason}. */
void api_applications_reject(struct http_req *r) {
    const char *reason = NULL;
    const struct jf_field fields[] = {
        JF_REQ_STRING("reason", &reason, 1, 2000),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    const char *params[] = {api_actor(r), r->params[0], reason};
    api_reply_sql(r, 200, SQL_APPLICATION_REJECT, 3, params, "no application");
}

static const char SQL_APPLICATION_WITHDRAW[] = "SELECT application_withdraw($1::jsonb, $2)";

/* POST /v1/applications/{id}/withdraw (the institute that applied; no body). */
void api_applications_withdraw(struct http_req *r) {
    const struct jf_field fields[] = {JF_END};
    if (r->body.len > 0 && !jf_decode_body(r, fields))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    api_reply_sql(r, 200, SQL_APPLICATION_WITHDRAW, 2, params, "no application");
}

/* ==== accredited providers ================================================================ */

static const char *const accreditation_states[] = {"pending", "accredited", "suspended", NULL};

static const char SQL_PROVIDER_SET[] =
    "SELECT entry, created FROM program_provider_set($1::jsonb, $2, $3, $4, $5)";

/* PUT /v1/programs/{id}/providers/{provider_id} {status?, note?}: 201 when the provider is new
 * on the list, else 200. status defaults to accredited. */
void api_program_providers_put(struct http_req *r) {
    const char *status = NULL, *note = NULL;
    const struct jf_field fields[] = {
        JF_OPT_ENUM("status", &status, accreditation_states, NULL),
        JF_OPT_STRING("note", &note, 1, 500, NULL),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    const char *params[] = {api_actor(r), r->params[0], r->params[1],
                            status ? status : "accredited", note};
    PGresult *res;
    int rc = db_exec(SQL_PROVIDER_SET, 5, params, &res);
    if (rc != 1 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        http_db_fail(r, rc < 0 ? rc : DB_HARD_ERROR);
        return;
    }
    bool created = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    http_reply_raw(r, created ? 201 : 200, "application/json", PQgetvalue(res, 0, 0),
                   (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
}

static const char SQL_PROVIDER_REMOVE[] = "SELECT program_provider_remove($1::jsonb, $2, $3)";

void api_program_providers_delete(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    const char *params[] = {api_actor(r), r->params[0], r->params[1]};
    int rc = db_exec(SQL_PROVIDER_REMOVE, 3, params, NULL);
    if (rc < 0)
        http_db_fail(r, rc);
    else
        http_reply_empty(r, 204);
}

static const char SQL_PROVIDER_LIST[] = "SELECT program_provider_list($1::jsonb, $2, $3, $4)";

/* GET /v1/programs/{id}/providers?status=: the list with open_to_all_providers. */
void api_program_providers_list(struct http_req *r) {
    const char *status;
    const struct query_field query[] = {QF_ENUM("status", &status, accreditation_states), QF_END};
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), r->params[0], NULL, status};
    char detail[80];
    snprintf(detail, sizeof detail, "no programme %s", r->params[0]);
    api_reply_sql(r, 200, SQL_PROVIDER_LIST, 4, params, detail);
}

/* GET /v1/programs/{id}/providers/{provider_id}: one entry of the list. */
void api_program_providers_get(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    const char *params[] = {api_actor(r), r->params[0], r->params[1], NULL};
    char detail[128];
    snprintf(detail, sizeof detail, "provider %s is not on the list of programme %s", r->params[1],
             r->params[0]);
    api_reply_sql(r, 200, SQL_PROVIDER_LIST, 4, params, detail);
}

/* ==== related parties ===================================================================== */

static const char SQL_RELATED_CREATE[] = "SELECT related_party_create($1::jsonb, $2::jsonb)";

void api_related_parties_create(struct http_req *r) {
    const char *provider = NULL, *institute = NULL, *note = NULL;
    const struct jf_field fields[] = {
        JF_REQ_UUID("provider_id", &provider),
        JF_REQ_UUID("institute_id", &institute),
        JF_OPT_STRING("note", &note, 1, 500, NULL),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    const char *params[] = {api_actor(r), r->body.p};
    api_reply_sql(r, 201, SQL_RELATED_CREATE, 2, params, "not created");
}

static const char SQL_RELATED_LIST[] = "SELECT related_party_list($1::jsonb, $2, $3, $4, $5)";

void api_related_parties_list(struct http_req *r) {
    const char *limit, *cursor, *provider, *institute;
    const struct query_field query[] = {
        API_QF_PAGE(&limit, &cursor),
        QF_UUID("provider_id", &provider),
        QF_UUID("institute_id", &institute),
        QF_END,
    };
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), provider, institute, cursor, limit};
    api_reply_sql(r, 200, SQL_RELATED_LIST, 5, params, "no related parties");
}

static const char SQL_RELATED_DELETE[] = "SELECT related_party_delete($1::jsonb, $2)";

void api_related_parties_delete(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    int rc = db_exec(SQL_RELATED_DELETE, 2, params, NULL);
    if (rc < 0)
        http_db_fail(r, rc);
    else
        http_reply_empty(r, 204);
}
