/* witness.c — POSTs signed audit checkpoints to the witness URL (see witness.h). */
#include "witness.h"

#include "config.h"
#include "log.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WITNESS_TIMEOUT_MS 5000L /* one POST, connection included */
#define WITNESS_BACKOFF_MS 250   /* before the 2nd attempt; doubled before each next one */
#define WITNESS_BACKOFF_MAX_MS 8000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static pthread_t thread;
static bool running, stopping;
static char *queue[WITNESS_QUEUE];
static size_t queue_head, queue_len;

static atomic_ullong posted, failed_attempts, given_up, dropped_full;

static size_t discard(char *p, size_t size, size_t n, void *ctx) {
    (void)p;
    (void)ctx;
    return size * n;
}

/* One POST of body; true when the witness answered 2xx. */
static bool post_once(CURL *c, const char *body) {
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, cfg.audit_witness_url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, WITNESS_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    if (rc != CURLE_OK)
        log_warn("audit witness: POST %s failed: %s", cfg.audit_witness_url,
                 curl_easy_strerror(rc));
    else if (status < 200 || status > 299)
        log_warn("audit witness: POST %s answered %ld", cfg.audit_witness_url, status);
    return rc == CURLE_OK && status >= 200 && status <= 299;
}

/* Waits ms unless stopped first (mu held); true when stopping. */
static bool pause_ms(long ms) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    long long ns = until.tv_nsec + (ms % 1000) * 1000000LL;
    until.tv_sec += (time_t)(ms / 1000 + ns / 1000000000LL);
    until.tv_nsec = (long)(ns % 1000000000LL);
    while (!stopping && pthread_cond_timedwait(&cv, &mu, &until) != ETIMEDOUT) {
    }
    return stopping;
}

static void *deliver(void *unused) {
    (void)unused;
    CURL *c = curl_easy_init();
    pthread_mutex_lock(&mu);
    while (c != NULL) {
        while (!stopping && queue_len == 0)
            pthread_cond_wait(&cv, &mu);
        if (stopping)
            break;
        char *line = queue[queue_head]; /* stays queued (and counted) until done */
        bool ok = false;
        long backoff = WITNESS_BACKOFF_MS;
        for (int attempt = 1; !ok; attempt++) {
            pthread_mutex_unlock(&mu);
            ok = post_once(c, line);
            pthread_mutex_lock(&mu);
            if (ok)
                break;
            atomic_fetch_add(&failed_attempts, 1);
            if (attempt == WITNESS_ATTEMPTS || pause_ms(backoff))
                break;
            backoff = backoff * 2 > WITNESS_BACKOFF_MAX_MS ? WITNESS_BACKOFF_MAX_MS : backoff * 2;
        }
        if (ok) {
            atomic_fetch_add(&posted, 1);
        } else if (!stopping) {
            atomic_fetch_add(&given_up, 1);
            log_error("audit witness: gave up a checkpoint after %d POSTs to %s (it stays in the "
                      "database and the witness file)",
                      WITNESS_ATTEMPTS, cfg.audit_witness_url);
        }
        if (ok || !stopping) {
            free(line);
            queue_head = (queue_head + 1) % WITNESS_QUEUE;
            queue_len--;
        }
    }
    pthread_mutex_unlock(&mu);
    curl_easy_cleanup(c);
    return NULL;
}

int witness_url_start(void) {
    if (cfg.audit_witness_url == NULL || running)
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("audit witness: libcurl did not initialise");
        return -1;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &attr);
    pthread_condattr_destroy(&attr);
    stopping = false;
    if (pthread_create(&thread, NULL, deliver, NULL) != 0) {
        log_error("audit witness: cannot start the delivery thread");
        curl_global_cleanup();
        return -1;
    }
    running = true;
    log_info("audit witness: every signed checkpoint is also POSTed to %s", cfg.audit_witness_url);
    return 0;
}

void witness_url_post(const char *line, size_t len) {
    if (!running)
        return;
    while (len > 0 && line[len - 1] == '\n')
        len--;
    char *copy = strndup(line, len);
    pthread_mutex_lock(&mu);
    if (copy == NULL || queue_len == WITNESS_QUEUE) {
        free(copy);
        atomic_fetch_add(&dropped_full, 1);
        log_error("audit witness: the queue is full (%d checkpoints); one is not POSTed",
                  WITNESS_QUEUE);
    } else {
        queue[(queue_head + queue_len) % WITNESS_QUEUE] = copy;
        queue_len++;
        pthread_cond_signal(&cv);
    }
    pthread_mutex_unlock(&mu);
}

void witness_url_stop(void) {
    if (!running)
        return;
    pthread_mutex_lock(&mu);
    stopping = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    if (queue_len > 0)
        log_warn("audit witness: %zu checkpoints were not POSTed before the stop", queue_len);
    for (; queue_len > 0; queue_len--) {
        free(queue[queue_head]);
        queue_head = (queue_head + 1) % WITNESS_QUEUE;
        atomic_fetch_add(&given_up, 1);
    }
    pthread_cond_destroy(&cv);
    curl_global_cleanup();
    running = false;
}

void witness_url_metrics(struct buf *b) {
    pthread_mutex_lock(&mu);
    size_t waiting = queue_len;
    pthread_mutex_unlock(&mu);
    buf_printf(b,
               "# HELP suanli_audit_witness_posted_total Checkpoints POSTed to the witness URL.\n"
               "# TYPE suanli_audit_witness_posted_total counter\n"
               "suanli_audit_witness_posted_total %llu\n"
               "# HELP suanli_audit_witness_failures_total Failed POSTs to the witness URL "
               "(each retried).\n"
               "# TYPE suanli_audit_witness_failures_total counter\n"
               "suanli_audit_witness_failures_total %llu\n"
               "# HELP suanli_audit_witness_dropped_total Checkpoints never POSTed: retries "
               "exhausted, queue full or stopped.\n"
               "# TYPE suanli_audit_witness_dropped_total counter\n"
               "suanli_audit_witness_dropped_total %llu\n"
               "# HELP suanli_audit_witness_queue Checkpoints waiting to be POSTed.\n"
               "# TYPE suanli_audit_witness_queue gauge\n"
               "suanli_audit_witness_queue %zu\n",
               (unsigned long long)atomic_load(&posted),
               (unsigned long long)atomic_load(&failed_attempts),
               (unsigned long long)(atomic_load(&given_up) + atomic_load(&dropped_full)), waiting);
}
