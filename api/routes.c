/* routes.c — every endpoint in one table: method, path, handler, roles admitted, flags.
 * openapi.yaml describes exactly these paths; tests/check_contract compares the two. */
#include "api.h"

#define ANY ROLES_ANY
#define OP ROLE_OPERATOR
#define CA ROLE_CITY_ADMIN
#define AU ROLE_AUDITOR
#define PR ROLE_PROVIDER
#define IN ROLE_INSTITUTE

const struct route api_routes[] = {
    /* operations */
    {"GET", "/healthz", api_system_healthz, ROLES_PUBLIC, 0, "process alive"},
    {"GET", "/readyz", api_system_readyz, ROLES_PUBLIC, 0,
     "database reachable, migrations current"},
    {"GET", "/metrics", api_system_metrics, ROLES_PUBLIC, 0, "Prometheus metrics"},
    {"GET", "/openapi.yaml", api_system_openapi, ROLES_PUBLIC, 0, "this API's description"},
    {"GET", "/docs", api_system_docs, ROLES_PUBLIC, 0, "API documentation page"},

    /* identity */
    {"POST", "/v1/sessions", api_identity_login, ROLES_PUBLIC, RF_NO_CSRF, "sign in"},
    {"DELETE", "/v1/sessions/current", api_identity_logout, ANY, 0, "sign out"},
    {"GET", "/v1/me", api_identity_me, ANY, 0, "the current user"},
    {"POST", "/v1/api-keys", api_identity_key_create, ANY, 0, "create an API key"},
    {"GET", "/v1/api-keys", api_identity_key_list, ANY, 0, "list own API keys"},
    {"DELETE", "/v1/api-keys/{id}", api_identity_key_revoke, ANY, 0, "revoke an API key"},
    {"POST", "/v1/organizations", api_identity_org_create, OP | CA, 0, "create an organization"},
    {"GET", "/v1/organizations", api_identity_org_list, ANY, 0, "list visible organizations"},
    {"GET", "/v1/organizations/{id}", api_identity_org_get, ANY, 0, "one organization"},
    {"POST", "/v1/users", api_identity_user_create, OP | CA, 0, "create a user"},

    /* marketplace: regions, offers, matching, orders */
    {"GET", "/v1/regions", api_regions_list, ANY, 0, "the eight hub regions"},
    {"POST", "/v1/offers", api_offers_create, PR, 0, "post an offer of capacity"},
    {"GET", "/v1/offers", api_offers_list, ANY, RF_ONE_TRIP, "search offers"},
    {"GET", "/v1/offers/{id}", api_offers_get, ANY, 0, "one offer"},
    {"PATCH", "/v1/offers/{id}", api_offers_update, PR, 0, "change own offer (If-Match)"},
    {"DELETE", "/v1/offers/{id}", api_offers_withdraw, PR, 0, "withdraw own offer"},
    {"POST", "/v1/match", api_match, ANY, 0, "ranked plans for a demand"},
    {"POST", "/v1/orders", api_orders_create, IN, RF_IDEMPOTENT, "reserve units of an offer"},
    {"GET", "/v1/orders", api_orders_list, ANY, 0, "list visible orders"},
    {"GET", "/v1/orders/{id}", api_orders_get, ANY, 0, "one order"},
    {"POST", "/v1/orders/{id}/cancel", api_orders_cancel, IN, RF_IDEMPOTENT, "cancel own order"},
    {"POST", "/v1/orders/{id}/complete", api_orders_complete, PR, 0,
     "complete an order on own offer"},
    {"POST", "/v1/plans", api_plans_create, IN, RF_IDEMPOTENT,
     "reserve every leg of a plan in one transaction"},
    {"POST", "/v1/quotes", api_quotes_create, IN, 0, "price a plan with vouchers (no change)"},

    /* vouchers: programmes, vouchers, keys, redemptions */
    {"POST", "/v1/programs", api_programs_create, OP | CA, 0, "create a subsidy programme"},
    {"GET", "/v1/programs", api_programs_list, OP | CA | AU | IN, 0,
     "list visible programmes (institutes: the open ones of their city)"},
    {"GET", "/v1/programs/{id}", api_programs_get, OP | CA | AU | IN, 0,
     "one programme with balances (institutes: without)"},
    {"PATCH", "/v1/programs/{id}", api_programs_update, OP | CA, 0,
     "change a programme (If-Match)"},
    {"POST", "/v1/programs/{id}/vouchers", api_vouchers_issue, OP | CA, RF_IDEMPOTENT,
     "issue one voucher or a batch of up to 10 000"},
    {"GET", "/v1/vouchers", api_vouchers_list, OP | CA | AU | IN, 0, "list visible vouchers"},
    {"GET", "/v1/vouchers/{id}", api_vouchers_get, OP | CA | AU | IN, 0,
     "one voucher with its token"},
    {"POST", "/v1/vouchers/{id}/revoke", api_vouchers_revoke, OP | CA, RF_IDEMPOTENT,
     "revoke a voucher, releasing its balance"},
    {"POST", "/v1/vouchers/verify", api_vouchers_verify, ANY, 0, "verify a voucher token"},
    {"GET", "/v1/keys", api_vouchers_keys, ROLES_PUBLIC, 0, "public keys that verify tokens"},
    {"POST", "/v1/redemptions", api_redemptions_create, IN, RF_IDEMPOTENT | RF_ONE_TRIP,
     "apply a voucher to an own order"},
    {"GET", "/v1/redemptions", api_redemptions_list, ANY, 0, "list visible redemptions"},

    /* the voucher scheme: applications, accredited providers, related parties
     * (api/applications.c) */
    {"POST", "/v1/applications", api_applications_create, IN, RF_IDEMPOTENT,
     "apply for a voucher of a programme"},
    {"GET", "/v1/applications", api_applications_list, OP | CA | AU | IN, 0,
     "list visible applications (the review queue: ?status=submitted)"},
    {"GET", "/v1/applications/{id}", api_applications_get, OP | CA | AU | IN, 0, "one application"},
    {"POST", "/v1/applications/{id}/approve", api_applications_approve, OP | CA, RF_IDEMPOTENT,
     "approve (issuing the voucher) or waitlist an application"},
    {"POST", "/v1/applications/{id}/reject", api_applications_reject, OP | CA, RF_IDEMPOTENT,
     "reject an application with a reason"},
    {"POST", "/v1/applications/{id}/withdraw", api_applications_withdraw, IN, RF_IDEMPOTENT,
     "withdraw own application"},
    {"GET", "/v1/programs/{id}/providers", api_program_providers_list, OP | CA | AU | IN, 0,
     "a programme's accreditation list"},
    {"GET", "/v1/programs/{id}/providers/{provider_id}", api_program_providers_get,
     OP | CA | AU | IN, 0, "one provider's accreditation"},
    {"PUT", "/v1/programs/{id}/providers/{provider_id}", api_program_providers_put, OP | CA, 0,
     "accredit, suspend or list as pending a provider"},
    {"DELETE", "/v1/programs/{id}/providers/{provider_id}", api_program_providers_delete, OP | CA,
     0, "take a provider off the list"},
    {"POST", "/v1/related-parties", api_related_parties_create, OP | CA, 0,
     "declare a provider and an institute related"},
    {"GET", "/v1/related-parties", api_related_parties_list, ANY, 0,
     "list visible related-party declarations"},
    {"DELETE", "/v1/related-parties/{id}", api_related_parties_delete, OP | CA, 0,
     "withdraw a related-party declaration"},

    /* delivery and usage-based billing, the buyer's payments (api/usage.c) */
    {"POST", "/v1/orders/{id}/usage", api_usage_report, PR, RF_IDEMPOTENT,
     "report the usage delivered on a completed order of own offer"},
    {"GET", "/v1/orders/{id}/usage", api_usage_list, ANY, 0, "an order's usage state and reports"},
    {"POST", "/v1/orders/{id}/usage/accept", api_usage_accept, IN, RF_IDEMPOTENT,
     "accept the pending usage report of own order (re-bills it)"},
    {"POST", "/v1/orders/{id}/usage/dispute", api_usage_dispute, IN, RF_IDEMPOTENT,
     "dispute the pending usage report of own order"},
    {"POST", "/v1/orders/{id}/payments", api_payments_create, IN, RF_IDEMPOTENT,
     "record own payment of an order's net amount"},
    {"GET", "/v1/orders/{id}/payments", api_payments_list, ANY, 0,
     "the buyer's payments of an order"},

    /* audit: the tamper-evident log (api/audit.c, server/audit.c) */
    {"GET", "/v1/audit/events", api_audit_events, OP | CA | AU, 0, "audit events in scope"},
    {"GET", "/v1/audit/checkpoints", api_audit_checkpoints, OP | CA | AU, 0,
     "signed checkpoints of the chain"},
    {"GET", "/v1/audit/verify", api_audit_verify, OP | CA | AU, 0,
     "verify the chain and every checkpoint"},
    {"GET", "/v1/audit/export", api_audit_export, OP | CA | AU, 0,
     "the log as JSON Lines, for offline verification"},

    /* reports: subsidies and anomaly flags (api/reports.c) */
    {"GET", "/v1/reports/subsidies", api_reports_subsidies, OP | CA | AU, 0,
     "subsidies grouped over a time range (JSON or CSV)"},
    {"GET", "/v1/reports/anomalies", api_reports_anomalies, OP | CA | AU, 0,
     "anomaly flags with their explanations"},
    {"GET", "/v1/reports/performance", api_reports_performance, OP | CA | AU, 0,
     "delivered compute, western and green shares, subsidy per PFLOP-day (JSON or CSV)"},

    /* settlement: statements, payouts (兑付) under the two-person rule, recoveries (追回)
     * (api/settlement.c) */
    {"GET", "/v1/settlements", api_settlements_list, OP | CA | AU | PR, 0,
     "settlement statement: accepted orders with subsidy, payment and payout (JSON or CSV)"},
    {"POST", "/v1/payouts", api_payouts_create, CA, RF_IDEMPOTENT,
     "propose payouts of due subsidies, one per payee"},
    {"GET", "/v1/payouts", api_payouts_list, ANY, 0, "list visible payouts"},
    {"GET", "/v1/payouts/{id}", api_payouts_get, ANY, 0, "one payout with its lines"},
    {"POST", "/v1/payouts/{id}/approve", api_payouts_approve, CA, RF_IDEMPOTENT,
     "approve a payout (another administrator than the proposer)"},
    {"POST", "/v1/payouts/{id}/paid", api_payouts_paid, CA, RF_IDEMPOTENT,
     "record the bank transfer of an approved payout"},
    {"POST", "/v1/recoveries", api_recoveries_create, CA, RF_IDEMPOTENT,
     "recover settled subsidy of an order"},
    {"GET", "/v1/recoveries", api_recoveries_list, ANY, 0, "list visible recoveries"},

    /* notifications and webhooks (api/notifications.c, server/webhook.c) */
    {"GET", "/v1/notifications", api_notifications_list, ANY, 0,
     "own organization's notifications, newest first"},
    {"POST", "/v1/notifications/read-all", api_notifications_read_all, ANY, 0,
     "mark every notification read"},
    {"POST", "/v1/notifications/{id}/read", api_notifications_read, ANY, 0,
     "mark one notification read"},
    {"POST", "/v1/webhooks", api_webhooks_create, PR | CA, 0,
     "register a webhook endpoint (secret shown once)"},
    {"GET", "/v1/webhooks", api_webhooks_list, PR | CA, 0, "own organization's webhooks"},
    {"DELETE", "/v1/webhooks/{id}", api_webhooks_delete, PR | CA, 0, "delete a webhook"},
    {"GET", "/v1/webhooks/{id}/deliveries", api_webhooks_deliveries, PR | CA, 0,
     "a webhook's delivery log"},
};

const size_t api_routes_len = sizeof api_routes / sizeof api_routes[0];
