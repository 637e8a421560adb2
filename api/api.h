/* api.h — handlers, one file per resource group, and the helpers they share. */
#ifndef SUANLI_API_H
#define SUANLI_API_H

#include "buf.h"
#include "db.h"
#include "http.h"
#include "json.h"
#include "query.h"
#include "vtoken.h"

#define API_MAX_LIMIT 200
#define API_DEFAULT_LIMIT "50"

/* The route table (api/routes.c) and the static web UI for GETs no route matches (api/web.c):
 * what main.c hands to http_start. */
extern const struct route api_routes[];
extern const size_t api_routes_len;
void api_web_static(struct http_req *r);

/* Keyset pagination: ?limit= (1..API_MAX_LIMIT, default 50) and ?cursor= (a next_cursor, the
 * UUID of the last item of the previous page), as two query_field entries. */
#define API_QF_PAGE(limit, cursor)                                                                 \
    QF_INT("limit", limit, 1, API_MAX_LIMIT, API_DEFAULT_LIMIT),                                   \
        QF_UUID_MSG("cursor", cursor, "must be a next_cursor value from a previous page")

/* Start-up and shutdown of the API layer (readiness bookkeeping and the like). */
int api_init(void);
void api_cleanup(void);

/* The caller as the jsonb p_actor every state-changing SQL function takes; owned by the
 * request. */
const char *api_actor(struct http_req *r);

/* Runs sql, whose single column is a jsonb answer, and replies it with status. No row or a
 * NULL answer replies 404 with not_found_detail. Database errors reply their problem. */
void api_reply_sql(struct http_req *r, unsigned status, const char *sql, int n,
                   const char *const *params, const char *not_found_detail);
/* The same on the read replica (for read-only endpoints). */
void api_reply_sql_read(struct http_req *r, unsigned status, const char *sql, int n,
                        const char *const *params, const char *not_found_detail);

/* For endpoints that take no body: true when there is none or it is an empty object; else the
 * request has been answered with the problem. */
bool api_no_body(struct http_req *r);

/* The problem of a voucher token vtoken refused: voucher-key-unknown or voucher-token-invalid. */
enum problem api_token_refusal(enum vtoken_status st);
/* Replies the problem for a voucher token vtoken refused (voucher-key-unknown or
 * voucher-token-invalid), naming field with why. */
void api_token_problem(struct http_req *r, enum vtoken_status st, const char *field,
                       const char *why);

/* Checks the vouchers array of one order (api/orders.c); field names get prefix. */
void api_order_vouchers_check(json_t *vouchers, const char *prefix, json_t *errors);

/* --- handlers ------------------------------------------------------------------------------ */
void api_system_healthz(struct http_req *r);
void api_system_readyz(struct http_req *r);
void api_system_metrics(struct http_req *r);
/* Appends the password hashers' metrics (api/identity.c) to /metrics. */
void api_identity_metrics(struct buf *b);
void api_system_openapi(struct http_req *r);
void api_system_docs(struct http_req *r);

void api_identity_login(struct http_req *r);
void api_identity_logout(struct http_req *r);
void api_identity_me(struct http_req *r);
void api_identity_key_create(struct http_req *r);
void api_identity_key_list(struct http_req *r);
void api_identity_key_revoke(struct http_req *r);
void api_identity_org_create(struct http_req *r);
void api_identity_org_list(struct http_req *r);
void api_identity_org_get(struct http_req *r);
void api_identity_user_create(struct http_req *r);

void api_regions_list(struct http_req *r);
void api_offers_create(struct http_req *r);
void api_offers_list(struct http_req *r);
void api_offers_get(struct http_req *r);
void api_offers_update(struct http_req *r);
void api_offers_withdraw(struct http_req *r);
void api_match(struct http_req *r);
void api_orders_create(struct http_req *r);
void api_orders_list(struct http_req *r);
void api_orders_get(struct http_req *r);
void api_orders_cancel(struct http_req *r);
void api_orders_complete(struct http_req *r);
void api_plans_create(struct http_req *r);
void api_quotes_create(struct http_req *r);

/* vouchers: programmes, vouchers, keys, redemptions (api/programs.c, vouchers.c,
 * redemptions.c, maintenance.c) */
void api_programs_create(struct http_req *r);
void api_programs_list(struct http_req *r);
void api_programs_get(struct http_req *r);
void api_programs_update(struct http_req *r);
void api_vouchers_issue(struct http_req *r);
void api_vouchers_list(struct http_req *r);
void api_vouchers_get(struct http_req *r);
void api_vouchers_revoke(struct http_req *r);
void api_vouchers_verify(struct http_req *r);
void api_vouchers_keys(struct http_req *r);
void api_redemptions_create(struct http_req *r);
void api_redemptions_list(struct http_req *r);

/* Registers this server's public signing keys in the database; false if it could not yet. */
bool api_vouchers_sync_keys(void);
/* The background upkeep thread (api/maintenance.c); sync_keys: retry key registration. */
int api_maintenance_start(bool sync_keys);
void api_maintenance_stop(void);

/* the voucher scheme: applications, accredited providers, related parties (api/applications.c) */
void api_applications_create(struct http_req *r);
void api_applications_list(struct http_req *r);
void api_applications_get(struct http_req *r);
void api_applications_approve(struct http_req *r);
void api_applications_reject(struct http_req *r);
void api_applications_withdraw(struct http_req *r);
void api_program_providers_list(struct http_req *r);
void api_program_providers_get(struct http_req *r);
void api_program_providers_put(struct http_req *r);
void api_program_providers_delete(struct http_req *r);
void api_related_parties_create(struct http_req *r);
void api_related_parties_list(struct http_req *r);
void api_related_parties_delete(struct http_req *r);

/* delivery and usage-based billing, the buyer's payments (api/usage.c) */
void api_usage_report(struct http_req *r);
void api_usage_list(struct http_req *r);
void api_usage_accept(struct http_req *r);
void api_usage_dispute(struct http_req *r);
void api_payments_create(struct http_req *r);
void api_payments_list(struct http_req *r);

/* audit: events, checkpoints, verification, export (api/audit.c) */
void api_audit_events(struct http_req *r);
void api_audit_checkpoints(struct http_req *r);
void api_audit_verify(struct http_req *r);
void api_audit_export(struct http_req *r);

/* reports: subsidies, anomaly flags and performance (api/reports.c) */
void api_reports_subsidies(struct http_req *r);
void api_reports_anomalies(struct http_req *r);
void api_reports_performance(struct http_req *r);
/* The representation Accept asks for: 0 JSON, 1 CSV, -1 none we have (api/reports.c). */
int api_report_format(struct http_req *r);
/* rows (an array of objects) as RFC 4180 CSV: a header row of cols (NULL-ended), then each
 * row's members of those names; malloc'd, NULL when out of memory. */
char *api_csv_rows(json_t *rows, const char *const *cols, size_t *len);

/* settlement: statements, payouts (兑付), recoveries (追回) (api/settlement.c) */
void api_settlements_list(struct http_req *r);
void api_payouts_create(struct http_req *r);
void api_payouts_list(struct http_req *r);
void api_payouts_get(struct http_req *r);
void api_payouts_approve(struct http_req *r);
void api_payouts_paid(struct http_req *r);
void api_recoveries_create(struct http_req *r);
void api_recoveries_list(struct http_req *r);

/* notifications and webhooks (api/notifications.c); init adds the periodic notifications job */
int api_notifications_init(void);
void api_notifications_list(struct http_req *r);
void api_notifications_read(struct http_req *r);
void api_notifications_read_all(struct http_req *r);
void api_webhooks_create(struct http_req *r);
void api_webhooks_list(struct http_req *r);
void api_webhooks_delete(struct http_req *r);
void api_webhooks_deliveries(struct http_req *r);

#endif
