/* webhook.c — see webhook.h. */
#include "webhook.h"

#include "config.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define WEBHOOK_MAX_INFLIGHT 16
#define WEBHOOK_IDLE_POLL_MS 1000
#define WEBHOOK_BUSY_POLL_MS 100

/* One delivery attempt in flight. */
struct transfer {
    CURL *easy;
    char id[40];
    int attempt;
    int64_t started_ms;
    char *body;
    struct curl_slist *headers, *resolve;
    char error[CURL_ERROR_SIZE];
    struct transfer *next; /* in the list of transfers in flight */
};

static struct {
    pthread_t thread;
    bool started;
    atomic_bool stopping;
    CURLM *multi;
    struct transfer *live; /* in flight, owned by the thread */
} wh;

/* ==== signing ============================================================================= */

void webhook_sign(const char *secret, long long t, const char *body, size_t body_len, char *out) {
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char ts[24], hex[2 * crypto_auth_hmacsha256_BYTES + 1];
    int tn = snprintf(ts, sizeof ts, "%lld", t);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)tn);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    util_hex(mac, sizeof mac, hex);
    snprintf(out, WEBHOOK_SIGNATURE_LEN, "t=%s,v1=%s", ts, hex);
}

/* ==== the SSRF guard ====================================================================== */

/* Whether an address is one a webhook must not reach: unspecified, loopback, private (RFC
 * 1918, unique local), link-local, carrier-grade NAT, multicast, reserved, or an IPv4 one
 * mapped into IPv6. */
static bool addr_private(int family, const unsigned char *a) {
    if (family == AF_INET6) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const unsigned char zero[16] = {0};
        if (memcmp(a, mapped, 12) == 0)
            return addr_private(AF_INET, a + 12);
        if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1)) /* :: and ::1 */
            return true;
        return (a[0] & 0xfe) == 0xfc ||                   /* fc00::/7 unique local */
               (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
               a[0] == 0xff ||                            /* multicast */
               (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) || /* docs */
               (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b);   /* NAT64 */
    }
    return a[0] == 0 || a[0] == 10 || a[0] == 127 ||  /* this net, private, loopback */
           (a[0] == 100 && (a[1] & 0xc0) == 64) ||    /* 100.64/10 carrier-grade NAT */
           (a[0] == 169 && a[1] == 254) ||            /* link-local, cloud metadata */
           (a[0] == 172 && (a[1] & 0xf0) == 16) ||    /* 172.16/12 */
           (a[0] == 192 && a[1] == 168) ||            /* 192.168/16 */
           (a[0] == 192 && a[1] == 0 && a[2] == 0) || /* IETF protocol assignments */
           (a[0] == 198 && (a[1] & 0xfe) == 18) ||    /* benchmarking */
           a[0] >= 224;                               /* multicast, reserved, broadcast */
}

/* The scheme, host and port of url, each malloc'd (the caller frees); false when it is not an
 * absolute http(s) URL with a host and without user info. */
static bool url_parts(const char *url, char **scheme, char **host, long *port) {
    CURLU *u = curl_url();
    char *user = NULL, *p = NULL;
    *scheme = *host = NULL;
    bool ok = u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER &&
              (strcmp(*scheme, "http") == 0 || strcmp(*scheme, "https") == 0) && **host != '\0';
    if (ok)
        *port = strtol(p, NULL, 10);
    curl_free(user);
    curl_free(p);
    curl_url_cleanup(u);
    if (!ok) {
        curl_free(*scheme);
        curl_free(*host);
        *scheme = *host = NULL;
    }
    return ok;
}

/* The host without the brackets of an IPv6 literal, into out. */
static void host_bare(const char *host, char *out, size_t cap) {
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
        snprintf(out, cap, "%.*s", (int)(n - 2), host + 1);
    else
        snprintf(out, cap, "%s", host);
}

const char *webhook_url_refusal(const char *url) {
    char *scheme, *host;
    long port;
    if (!url_parts(url, &scheme, &host, &port))
        return "must be an absolute http or https URL with a host and without user info";
    char bare[256];
    host_bare(host, bare, sizeof bare);
    unsigned char a[16];
    const char *why = NULL;
    if (!cfg.webhook_allow_private &&
        ((inet_pton(AF_INET, bare, a) == 1 && addr_private(AF_INET, a)) ||
         (inet_pton(AF_INET6, bare, a) == 1 && addr_private(AF_INET6, a)) ||
         strcasecmp(bare, "localhost") == 0))
        why = "must not point at a loopback, private or link-local address";
    curl_free(scheme);
    curl_free(host);
    return why;
}

/* Resolves url's host and checks every address it has; on success fills resolve with the
 * curl "host:port:address" entry that pins the connection to the checked address (so that a
 * second lookup cannot answer another one). NULL, or why the target is refused. */
static const char *target_check(const char *url, char *resolve, size_t cap) {
    char *scheme, *host;
    long port;
    if (!url_parts(url, &scheme, &host, &port))
        return "the URL is not an absolute http(s) URL";
    char bare[256], port_s[8];
    host_bare(host, bare, sizeof bare);
    snprintf(port_s, sizeof port_s, "%ld", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    const char *why = NULL;
    if (getaddrinfo(bare, port_s, &hints, &res) != 0 || res == NULL)
        why = "the host name does not resolve";
    char first[INET6_ADDRSTRLEN] = "";
    for (struct addrinfo *ai = res; why == NULL && ai != NULL; ai = ai->ai_next) {
        const unsigned char *a =
            ai->ai_family == AF_INET6
                ? (const unsigned char *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                : (const unsigned char *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
        if (!cfg.webhook_allow_private && addr_private(ai->ai_family, a))
            why = "the host resolves to a loopback, private or link-local address";
        else if (first[0] == '\0')
            inet_ntop(ai->ai_family, a, first, sizeof first);
    }
    if (why == NULL)
        snprintf(resolve, cap, "%s:%ld:%s%s%s", host, port, strchr(first, ':') ? "[" : "", first,
                 strchr(first, ':') ? "]" : "");
    if (res != NULL)
        freeaddrinfo(res);
    curl_free(scheme);
    curl_free(host);
    return why;
}

/* ==== the outbox ========================================================================== */

static const char SQL_LEASE[] = "SELECT webhook_lease($1, $2)";
static const char SQL_RESULT[] = "SELECT webhook_result($1, $2, $3, $4, $5)";

/* Reports one attempt: http_status 0 means no answer (error says why). */
static void report(const char *id, int attempt, long http_status, const char *error,
                   int64_t duration_ms) {
    char s_attempt[16], s_status[16], s_ms[24];
    snprintf(s_attempt, sizeof s_attempt, "%d", attempt);
    snprintf(s_status, sizeof s_status, "%ld", http_status);
    snprintf(s_ms, sizeof s_ms, "%lld", (long long)duration_ms);
    const char *params[] = {id, s_attempt, http_status > 0 ? s_status : NULL,
                            error != NULL && error[0] ? error : NULL, s_ms};
    int rc = db_exec(SQL_RESULT, 5, params, NULL);
    if (rc < 0)
        log_warn("webhook %s: the result of attempt %d was not recorded (%s); the delivery "
                 "is sent again once its lease runs out",
                 id, attempt, db_last_error()->message);
}

/* The receiver's answer is not kept: only its status counts. */
static size_t discard(char *data, size_t size, size_t n, void *unused) {
    (void)data;
    (void)unused;
    return size * n;
}

/* Takes t out of the list in flight (if it is there) and frees it. */
static void transfer_free(struct transfer *t) {
    if (t == NULL)
        return;
    for (struct transfer **p = &wh.live; *p != NULL; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    if (t->easy != NULL) {
        curl_multi_remove_handle(wh.multi, t->easy);
        curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->headers);
    curl_slist_free_all(t->resolve);
    free(t->body);
    free(t);
}

/* Starts one leased delivery {id, attempt, url, secret, body}; a target the guard refuses is
 * reported as a failed attempt at once. Returns whether a transfer is now in flight. */
static bool transfer_start(json_t *d) {
    const char *id = json_string_value(json_object_get(d, "id"));
    const char *url = json_string_value(json_object_get(d, "url"));
    const char *secret = json_string_value(json_object_get(d, "secret"));
    const char *body = json_string_value(json_object_get(d, "body"));
    int attempt = (int)json_integer_value(json_object_get(d, "attempt"));
    if (id == NULL || url == NULL || secret == NULL || body == NULL)
        return false;
    char resolve[512];
    const char *refused = target_check(url, resolve, sizeof resolve);
    if (refused != NULL) {
        report(id, attempt, 0, refused, 0);
        return false;
    }
    struct transfer *t = calloc(1, sizeof *t);
    if (t == NULL || (t->body = strdup(body)) == NULL || (t->easy = curl_easy_init()) == NULL) {
        transfer_free(t);
        return false;
    }
    snprintf(t->id, sizeof t->id, "%s", id);
    t->attempt = attempt;
    t->started_ms = util_now_ms();
    char sig[WEBHOOK_SIGNATURE_LEN], h_sig[WEBHOOK_SIGNATURE_LEN + 32], h_id[80];
    webhook_sign(secret, (long long)time(NULL), t->body, strlen(t->body), sig);
    snprintf(h_sig, sizeof h_sig, "Suanli-Signature: %s", sig);
    snprintf(h_id, sizeof h_id, "Suanli-Delivery: %s", id);
    t->headers = curl_slist_append(NULL, "Content-Type: application/json");
    t->headers = curl_slist_append(t->headers, "User-Agent: Suanli-Webhooks/1");
    t->headers = curl_slist_append(t->headers, h_sig);
    t->headers = curl_slist_append(t->headers, h_id);
    t->headers = curl_slist_append(t->headers, "Expect:");
    t->resolve = curl_slist_append(NULL, resolve);
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg.webhook_timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg.webhook_timeout_ms);
    curl_easy_setopt(e, CURLOPT_RESOLVE, t->resolve);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(t->body));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    if (curl_multi_add_handle(wh.multi, e) != CURLM_OK) {
        report(id, attempt, 0, "could not start the transfer", 0);
        curl_easy_cleanup(e);
        t->easy = NULL;
        transfer_free(t);
        return false;
    }
    t->next = wh.live;
    wh.live = t;
    return true;
}

/* Leases up to n due deliveries and starts them; the number started. */
static int lease(int n) {
    char s_n[16], s_lease[24];
    snprintf(s_n, sizeof s_n, "%d", n);
    /* the lease outlasts the attempt's timeout, so that it is not taken over while in flight */
    snprintf(s_lease, sizeof s_lease, "%lld", (long long)cfg.webhook_timeout_ms + 5000);
    const char *params[] = {s_n, s_lease};
    PGresult *res;
    if (db_exec(SQL_LEASE, 2, params, &res) != 1) {
        PQclear(res);
        return 0;
    }
    json_t *items = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    int started = 0;
    size_t i;
    json_t *d;
    json_array_foreach(items, i, d) started += transfer_start(d);
    json_decref(items);
    return started;
}

/* Reports every finished transfer; the number finished. */
static int collect(void) {
    int done = 0, left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(wh.multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct transfer *t = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        long status = 0;
        if (m->data.result == CURLE_OK)
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        const char *error = m->data.result == CURLE_OK
                                ? NULL
                                : (t->error[0] ? t->error : curl_easy_strerror(m->data.result));
        report(t->id, t->attempt, status, error, util_now_ms() - t->started_ms);
        transfer_free(t);
        done++;
    }
    return done;
}

/* ==== the thread ========================================================================== */

static void *webhook_main(void *unused) {
    (void)unused;
    int inflight = 0;
    while (!atomic_load(&wh.stopping)) {
        if (inflight < WEBHOOK_MAX_INFLIGHT)
            inflight += lease(WEBHOOK_MAX_INFLIGHT - inflight);
        int running;
        curl_multi_perform(wh.multi, &running);
        inflight -= collect();
        curl_multi_poll(wh.multi, NULL, 0,
                        inflight > 0 ? WEBHOOK_BUSY_POLL_MS : WEBHOOK_IDLE_POLL_MS, NULL);
    }
    while (wh.live != NULL) /* abandoned in flight: their leases run out */
        transfer_free(wh.live);
    db_thread_cleanup();
    return NULL;
}

int webhook_start(void) {
    if (!cfg.webhooks || wh.started)
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        (wh.multi = curl_multi_init()) == NULL) {
        log_error("webhooks: cannot initialise libcurl");
        return -1;
    }
    atomic_store(&wh.stopping, false);
    if (pthread_create(&wh.thread, NULL, webhook_main, NULL) != 0) {
        log_error("webhooks: cannot start the delivery thread");
        curl_multi_cleanup(wh.multi);
        return -1;
    }
    wh.started = true;
    return 0;
}

void webhook_stop(void) {
    if (!wh.started)
        return;
    atomic_store(&wh.stopping, true);
    curl_multi_wakeup(wh.multi);
    pthread_join(wh.thread, NULL);
    curl_multi_cleanup(wh.multi);
    curl_global_cleanup();
    wh.multi = NULL;
    wh.started = false;
}
