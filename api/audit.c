/* audit.c — the audit log for operators, city administrators and auditors: events, signed
 * checkpoints, verification of the whole chain, and the JSON Lines export (server/audit.c does
 * the cryptography; sql/004_audit.sql the scoping and paging). */
#include "api.h"

#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== query parameters ==================================================================== */

static const char *const orders[] = {"asc", "desc", NULL};

/* A short printable text (an action or subject type such as "voucher.revoke"). */
static bool word_ok(const char *s) {
    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f)
            return false;
    return true;
}

#define AUDIT_WORD(n, d)                                                                           \
    QF_STRING(n, d, 1, 100, word_ok, "must be 1 to 100 printable characters without spaces")
/* ?limit= and ?cursor= (a next_cursor: a sequence number or checkpoint size) and ?order=. */
#define AUDIT_PAGE(limit, cursor, order)                                                           \
    QF_INT("limit", limit, 1, API_MAX_LIMIT, API_DEFAULT_LIMIT),                                   \
        QF_INT_MSG("cursor", cursor, 0, INT64_MAX,                                                 \
                   "must be a next_cursor value from a previous page"),                            \
        QF_ENUM("order", order, orders)

static const char *desc_flag(const char *order) {
    return order != NULL && strcmp(order, "desc") == 0 ? "t" : "f";
}

/* ==== events and checkpoints ============================================================== */

static const char SQL_EVENT_LIST[] =
    "SELECT audit_event_list($1::jsonb, $2::timestamptz, $3::timestamptz, $4::uuid, $5, $6, "
    "$7::uuid, $8::uuid, $9::uuid, $10::boolean, $11::bigint, $12::int)";
static const char SQL_CHECKPOINT_LIST[] =
    "SELECT audit_checkpoint_list($1::jsonb, $2::boolean, $3::bigint, $4::int)";

void api_audit_events(struct http_req *r) {
    const char *limit, *cursor, *order, *from, *to, *actor_id, *action, *subject_type, *subject_id,
        *program_id, *city_id;
    const struct query_field query[] = {
        AUDIT_PAGE(&limit, &cursor, &order),
        QF_TIME("from", &from),
        QF_TIME("to", &to),
        QF_UUID("actor_id", &actor_id),
        AUDIT_WORD("action", &action),
        AUDIT_WORD("subject_type", &subject_type),
        QF_UUID("subject_id", &subject_id),
        QF_UUID("program_id", &program_id),
        QF_UUID("city_id", &city_id),
        QF_END,
    };
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), from,       to,         actor_id, action,
                            subject_type, subject_id, program_id, city_id,  desc_flag(order),
                            cursor,       limit};
    api_reply_sql_read(r, 200, SQL_EVENT_LIST, 12, params, "no events");
}

void api_audit_checkpoints(struct http_req *r) {
    const char *limit, *cursor, *order;
    const struct query_field query[] = {AUDIT_PAGE(&limit, &cursor, &order), QF_END};
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), desc_flag(order), cursor, limit};
    api_reply_sql_read(r, 200, SQL_CHECKPOINT_LIST, 4, params, "no checkpoints");
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
    if (!qf_decode(r, NULL))
        return;
    json_t *report;
    int rc = audit_verify_db(&report);
    if (rc < 0) {
        reply_audit_fail(r, rc);
        return;
    }
    http_reply_json(r, 200, report);
}

static ssize_t export_fill(void *x, char *buf, size_t max) {
    return audit_export_fill(x, buf, max);
}

static void export_close(void *x) {
    audit_export_close(x);
}

/* Streams the export; a city's administrators and auditors get their city's events and the
 * leaves of all others, so that their export verifies end to end without disclosing them. */
void api_audit_export(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    struct audit_export *x;
    int rc = audit_export_open(r->who.city_id, &x);
    if (rc < 0) {
        reply_audit_fail(r, rc);
        return;
    }
    if (http_reply_stream(r, 200, "application/jsonl; charset=utf-8", export_fill, export_close, x))
        http_add_header(r, "Content-Disposition",
                        "attachment; filename=\"suanli-audit-export.jsonl\"");
}
