/* audit.c — the audit log for operators, city administrators and auditors: events, signed
 * checkpoints, verification of the whole chain, and the JSON Lines export (server/audit.c does
 * the cryptography; sql/004_audit.sql the scoping and paging). */
#include "api.h"

#include "audit.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== query parameters ==================================================================== */

static bool bad_query(struct http_req *r, const char *field, const char *message) {
    http_problem_errors(r, P_INVALID_QUERY,
                        json_pack("[{s:s, s:s}]", "field", field, "message", message), "%s %s",
                        field, message);
    return false;
}

static bool query_uuid(struct http_req *r, const char *name, const char **out) {
    *out = http_query(r, name);
    return *out == NULL || util_is_uuid(*out) || bad_query(r, name, "must be a UUID");
}

static bool query_time(struct http_req *r, const char *name, const char **out) {
    *out = http_query(r, name);
    return *out == NULL || util_is_rfc3339(*out) ||
           bad_query(r, name, "must be an RFC 3339 date-time with an offset");
}

/* A short printable text (an action or subject type such as "voucher.revoke"). */
static bool query_word(struct http_req *r, const char *name, const char **out) {
    *out = http_query(r, name);
    if (*out == NULL)
        return true;
    size_t n = strlen(*out);
    bool ok = n >= 1 && n <= 100;
    for (size_t i = 0; ok && i < n; i++)
        ok = (*out)[i] > 0x20 && (*out)[i] < 0x7f;
    return ok || bad_query(r, name, "must be 1 to 100 printable characters without spaces");
}

static bool query_order(struct http_req *r, bool *desc) {
    const char *v = http_query(r, "order");
    *desc = v != NULL && strcmp(v, "desc") == 0;
    return v == NULL || *desc || strcmp(v, "asc") == 0 ||
           bad_query(r, "order", "must be asc or desc");
}

/* ?limit= and ?cursor= (a next_cursor: a sequence number or checkpoint size). */
static bool query_page(struct http_req *r, char limit[8], char cursor[24], bool *has_cursor) {
    int64_t n, c;
    if (!http_query_int(r, "limit", 1, API_MAX_LIMIT, API_DEFAULT_LIMIT, &n))
        return false;
    snprintf(limit, 8, "%d", (int)n);
    const char *v = http_query(r, "cursor");
    *has_cursor = v != NULL;
    if (v == NULL)
        return true;
    if (!util_parse_int64(v, 0, INT64_MAX, &c))
        return bad_query(r, "cursor", "must be a next_cursor value from a previous page");
    snprintf(cursor, 24, "%lld", (long long)c);
    return true;
}

/* ==== events and checkpoints ============================================================== */

static const char SQL_EVENT_LIST[] =
    "SELECT audit_event_list($1::jsonb, $2::timestamptz, $3::timestamptz, $4::uuid, $5, $6, "
    "$7::uuid, $8::uuid, $9::uuid, $10::boolean, $11::bigint, $12::int)";
static const char SQL_CHECKPOINT_LIST[] =
    "SELECT audit_checkpoint_list($1::jsonb, $2::boolean, $3::bigint, $4::int)";

void api_audit_events(struct http_req *r) {
    static const char *const allowed[] = {"limit",      "cursor",     "order",   "from",
                                          "to",         "actor_id",   "action",  "subject_type",
                                          "subject_id", "program_id", "city_id", NULL};
    char limit[8], cursor[24];
    bool has_cursor, desc;
    const char *from, *to, *actor_id, *action, *subject_type, *subject_id, *program_id, *city_id;
    if (!http_query_only(r, allowed) || !query_page(r, limit, cursor, &has_cursor) ||
        !query_order(r, &desc) || !query_time(r, "from", &from) || !query_time(r, "to", &to) ||
        !query_uuid(r, "actor_id", &actor_id) || !query_word(r, "action", &action) ||
        !query_word(r, "subject_type", &subject_type) ||
        !query_uuid(r, "subject_id", &subject_id) || !query_uuid(r, "program_id", &program_id) ||
        !query_uuid(r, "city_id", &city_id))
        return;
    char *actor = api_actor(r);
    const char *params[] = {actor,
                            from,
                            to,
                            actor_id,
                            action,
                            subject_type,
                            subject_id,
                            program_id,
                            city_id,
                            desc ? "t" : "f",
                            has_cursor ? cursor : NULL,
                            limit};
    api_reply_sql_read(r, 200, SQL_EVENT_LIST, 12, params, "no events");
    free(actor);
}

void api_audit_checkpoints(struct http_req *r) {
    static const char *const allowed[] = {"limit", "cursor", "order", NULL};
    char limit[8], cursor[24];
    bool has_cursor, desc;
    if (!http_query_only(r, allowed) || !query_page(r, limit, cursor, &has_cursor) ||
        !query_order(r, &desc))
        return;
    char *actor = api_actor(r);
    const char *params[] = {actor, desc ? "t" : "f", has_cursor ? cursor : NULL, limit};
    api_reply_sql_read(r, 200, SQL_CHECKPOINT_LIST, 4, params, "no checkpoints");
    free(actor);
}

/* ==== verification and export ============================================================= */

static void reply_audit_fail(struct http_req *r, int rc) {
    if (rc == AUDIT_TOO_MANY)
        http_problem(r, P_BUSY, "too many audit verifications and exports are running; retry");
    else
        http_db_fail(r, rc);
}

/* Verifies the whole chain, whatever the caller's city: the report names positions and reasons
 * only, never an event's content. */
void api_audit_verify(struct http_req *r) {
    static const char *const allowed[] = {NULL};
    if (!http_query_only(r, allowed))
        return;
    json_t *report;
    int rc = audit_verify_db(&report);
    if (rc < 0) {
        reply_audit_fail(r, rc);
        return;
    }
    http_reply_json(r, 200, report);
}

static ssize_t export_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    ssize_t n = audit_export_fill(cls, buf, max);
    if (n > 0)
        return n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void export_free(void *cls) {
    audit_export_close(cls);
}

/* Streams the export; a city's administrators and auditors get their city's events and the
 * leaves of all others, so that their export verifies end to end without disclosing them. */
void api_audit_export(struct http_req *r) {
    static const char *const allowed[] = {NULL};
    if (!http_query_only(r, allowed))
        return;
    struct audit_export *x;
    int rc = audit_export_open(r->who.city_id, &x);
    if (rc < 0) {
        reply_audit_fail(r, rc);
        return;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, export_read, x, export_free);
    if (resp == NULL) {
        audit_export_close(x);
        http_problem(r, P_INTERNAL, "could not start the export");
        return;
    }
    MHD_add_response_header(resp, "Content-Type", "application/jsonl; charset=utf-8");
    MHD_add_response_header(resp, "Content-Disposition",
                            "attachment; filename=\"suanli-audit-export.jsonl\"");
    r->stream = resp;
    r->status = 200;
    r->content_type = "application/jsonl";
}
