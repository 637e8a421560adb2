/* webhook.h — delivery of the webhook outbox (sql/schema/007_notifications.sql): a thread of
 * its own, apart from the periodic runner (server/cron.h) so that a slow receiver never delays
 * the audit sealer, leases due deliveries (webhook_lease, SKIP LOCKED, so that every replica
 * may run one), sends them concurrently with libcurl's multi interface, signs each one
 *   Suanli-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 * and reports each attempt (webhook_result: delivered, or retried with backoff). Delivery is
 * at least once: a process killed mid-delivery leaves its lease to run out, and the delivery
 * is sent again; receivers drop repeats by the body's "id". */
#ifndef SUANLI_WEBHOOK_H
#define SUANLI_WEBHOOK_H

#include <stddef.h>

/* Starts the delivery thread when SUANLI_WEBHOOKS is on. 0 on success. */
int webhook_start(void);
/* Stops it: transfers in flight are abandoned (their leases run out). Safe when not started. */
void webhook_stop(void);

/* Why url may not be a webhook target (scheme other than http/https, user info, no host, an
 * address literal that is loopback, private, link-local or otherwise not public while
 * SUANLI_WEBHOOK_ALLOW_PRIVATE is 0), or NULL when it may. Host names are checked again, on
 * every delivery, against every address they resolve to. */
const char *webhook_url_refusal(const char *url);

/* The Suanli-Signature header value for body at unix time t, with secret, into out (at least
 * WEBHOOK_SIGNATURE_LEN bytes). */
#define WEBHOOK_SIGNATURE_LEN 96
void webhook_sign(const char *secret, long long t, const char *body, size_t body_len, char *out);

#endif
