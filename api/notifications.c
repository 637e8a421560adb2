/* notifications.c — in-app notifications of one's organisation (list, mark read) and the webhook
 * endpoints of providers and cities (register, list, delete, delivery log). What raises a
 * notification lives in sql/functions/notify (triggers in the transaction of the change, and
 * the periodic job below); delivery of webhooks is server/webhook.c. */
#include "api.h"

#include "config.h"
#include "cron.h"
#include "log.h"
#include "webhook.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* The kinds of notification, which are also the events a webhook subscribes to. */
static const char *const notify_kinds[] = {
    "application.decided", "voucher.issued",           "voucher.expiring", "order.created",
    "order.cancelled",     "program.budget_threshold", "anomaly.flagged",  NULL,
};

/* ==== the periodic job ==================================================================== */

static const char SQL_TICK[] = "SELECT notify_tick()";

/* Expiry notices due and new anomaly flags (notify_tick), on every replica. */
static enum cron_next notify_tick(void *unused) {
    (void)unused;
    int rc = db_exec(SQL_TICK, 0, NULL, NULL);
    if (rc < 0 && rc != DB_UNAVAILABLE)
        log_warn("notifications: %s (%s)", db_last_error()->message, db_last_error()->detail);
    return CRON_LATER;
}

int api_notifications_init(void) {
    return cron_add("notifications", cfg.notify_ms, cfg.notify_ms, notify_tick, NULL);
}

/* ==== notifications ======================================================================= */

static const char SQL_LIST[] = "SELECT notification_list($1::jsonb, $2, $3, $4)";

void api_notifications_list(struct http_req *r) {
    static const char *const booleans[] = {"true", "false", NULL};
    const char *limit, *cursor, *unread;
    const struct query_field query[] = {
        API_QF_PAGE(&limit, &cursor),
        QF_ENUM("unread", &unread, booleans),
        QF_END,
    };
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), unread, cursor, limit};
    api_reply_sql(r, 200, SQL_LIST, 4, params, "no notifications");
}

static const char SQL_READ[] = "SELECT notification_read($1::jsonb, $2)";

void api_notifications_read(struct http_req *r) {
    if (!api_no_body(r))
        return;
    const char *params[] = {api_actor(r), r->params[0]};
    char detail[80];
    snprintf(detail, sizeof detail, "no notification %s", r->params[0]);
    api_reply_sql(r, 200, SQL_READ, 2, params, detail);
}

static const char SQL_READ_ALL[] = "SELECT notification_read_all($1::jsonb)";

void api_notifications_read_all(struct http_req *r) {
    if (!api_no_body(r))
        return;
    const char *params[] = {api_actor(r)};
    api_reply_sql(r, 200, SQL_READ_ALL, 1, params, "no notifications");
}

/* ==== webhooks ============================================================================ */

static const char SQL_WEBHOOK_CREATE[] =
    "SELECT webhook_create($1::jsonb, $2, ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), $4)";

void api_webhooks_create(struct http_req *r) {
    const char *url = NULL;
    json_t *events = NULL;
    const struct jf_field fields[] = {
        JF_REQ_STRING("url", &url, 8, 2048),
        JF_REQ_ARRAY("events", &events, 1, 16),
        JF_END,
    };
    if (!jf_decode_body(r, fields))
        return;
    json_t *errors = json_array();
    const char *why = webhook_url_refusal(url);
    if (why != NULL)
        http_error_add(errors, "url", why);
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) {
        char name[32];
        snprintf(name, sizeof name, "events[%zu]", i);
        const char *s = json_string_value(e);
        bool known = false;
        for (int k = 0; s != NULL && notify_kinds[k] != NULL; k++)
            known = known || strcmp(s, notify_kinds[k]) == 0;
        if (!known) {
            http_error_add(errors, name,
                           "must be one of application.decided, voucher.issued, "
                           "voucher.expiring, order.created, order.cancelled, "
                           "program.budget_threshold, anomaly.flagged");
            continue;
        }
        for (size_t k = 0; k < i; k++)
            if (json_equal(json_array_get(events, k), e)) {
                http_error_add(errors, name, "is listed twice");
                break;
            }
    }
    if (!http_errors_ok(r, P_VALIDATION, errors))
        return;
    /* the signing secret: 32 random bytes, shown this once */
    unsigned char raw[32];
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    char secret[64];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(secret, sizeof secret, "whsec_%s", b64);
    const char *etext = http_req_own_str(r, json_dumps(events, JSON_COMPACT));
    const char *params[] = {api_actor(r), url, etext, secret};
    PGresult *res;
    int rc = db_exec(SQL_WEBHOOK_CREATE, 4, params, &res);
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(raw, sizeof raw);
    if (rc != 1) {
        PQclear(res);
        http_db_fail(r, rc < 0 ? rc : DB_HARD_ERROR);
        return;
    }
    json_t *hook = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    char location[80];
    snprintf(location, sizeof location, "/v1/webhooks/%s",
             json_string_value(json_object_get(hook, "id")));
    http_add_header(r, "Location", location);
    http_reply_json(r, 201, hook);
}

static const char SQL_WEBHOOK_LIST[] = "SELECT webhook_list($1::jsonb, $2, $3)";

void api_webhooks_list(struct http_req *r) {
    const char *limit, *cursor;
    const struct query_field query[] = {API_QF_PAGE(&limit, &cursor), QF_END};
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), cursor, limit};
    api_reply_sql(r, 200, SQL_WEBHOOK_LIST, 3, params, "no webhooks");
}

static const char SQL_WEBHOOK_DELETE[] = "SELECT webhook_delete($1::jsonb, $2)";

void api_webhooks_delete(struct http_req *r) {
    const char *params[] = {api_actor(r), r->params[0]};
    PGresult *res;
    int rc = db_exec(SQL_WEBHOOK_DELETE, 2, params, &res);
    if (rc < 0) {
        http_db_fail(r, rc);
        return;
    }
    bool deleted = rc == 1 && !PQgetisnull(res, 0, 0);
    PQclear(res);
    if (deleted)
        http_reply_empty(r, 204);
    else
        http_problem(r, P_NOT_FOUND, "no webhook %s", r->params[0]);
}

static const char SQL_DELIVERIES[] = "SELECT webhook_delivery_list($1::jsonb, $2, $3, $4)";

void api_webhooks_deliveries(struct http_req *r) {
    const char *limit, *cursor;
    const struct query_field query[] = {API_QF_PAGE(&limit, &cursor), QF_END};
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), r->params[0], cursor, limit};
    char detail[80];
    snprintf(detail, sizeof detail, "no webhook %s", r->params[0]);
    api_reply_sql(r, 200, SQL_DELIVERIES, 4, params, detail);
}
