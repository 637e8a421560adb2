/* load — a mixed concurrent workload against a Suanli endpoint (HAProxy in the scale test):
 * search, match, orders (with vouchers, Idempotency-Key, retried after 503 or a dropped
 * connection, sometimes replayed on purpose), redemptions, cancellations and voucher
 * issuance, using the demo world. Every 2xx answer is written to OUT (JSON Lines) so that the
 * database can be reconciled with what clients were told; a summary goes to stdout.
 *
 * usage: load BASE_URL SECONDS CLIENTS OUT */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum op { OP_SEARCH, OP_MATCH, OP_ORDER, OP_REDEEM, OP_CANCEL, OP_ISSUE, OP_LIST, OP_COUNT };
static const char *const op_names[] = {"search", "match", "order", "redeem",
                                       "cancel", "issue", "list"};
static const int op_weight[] = {30, 10, 25, 10, 10, 10, 5};

static const char *base;
static double deadline;
static char inst_key[128], admin_key[128], inst_id[40], program_id[40], voucher_id[40];
static char offer_ids[64][40];
static int noffers;
static FILE *out;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static atomic_long ok[OP_COUNT], refused[OP_COUNT], unavailable[OP_COUNT], server_errors[OP_COUNT];
static atomic_long unavailable_without_retry_after, replays, replay_mismatches, retried;
static double *latencies;
static atomic_long nlat;
#define MAX_LAT 2000000

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct resp {
    long status;
    char *body;
    size_t len;
    bool retry_after;
    char cookie[160]; /* the session cookie from Set-Cookie, "name=value" */
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
    struct resp *r = ud;
    char *nb = realloc(r->body, r->len + sz * n + 1);
    if (!nb)
        return 0;
    r->body = nb;
    memcpy(r->body + r->len, p, sz * n);
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
    struct resp *r = ud;
    if (sz * n >= 12 && strncasecmp(p, "Retry-After:", 12) == 0)
        r->retry_after = true;
    if (sz * n > 12 && strncasecmp(p, "Set-Cookie: ", 12) == 0)
        snprintf(r->cookie, sizeof r->cookie, "%.*s", (int)strcspn(p + 12, ";\r\n"), p + 12);
    return sz * n;
}

static struct resp call_h(CURL *c, const char *method, const char *path, const char *key,
                          const char *body, const char *idem, const char *const *extra) {
    struct resp r = {0};
    char url[512], auth[192], ik[128];
    snprintf(url, sizeof url, "%s%s", base, path);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        h = curl_slist_append(h, auth);
    }
    if (idem) {
        snprintf(ik, sizeof ik, "Idempotency-Key: %s", idem);
        h = curl_slist_append(h, ik);
    }
    for (const char *const *x = extra; x && *x; x++)
        h = curl_slist_append(h, *x);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    double t0 = now_s();
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    long i = atomic_fetch_add(&nlat, 1);
    if (i < MAX_LAT)
        latencies[i] = now_s() - t0;
    curl_slist_free_all(h);
    if (!r.body)
        r.body = strdup("");
    return r;
}

static struct resp call(CURL *c, const char *method, const char *path, const char *key,
                        const char *body, const char *idem) {
    return call_h(c, method, path, key, body, idem, NULL);
}

static void record(const char *op, const char *id, const char *extra) {
    pthread_mutex_lock(&out_lock);
    fprintf(out, "{\"op\":\"%s\",\"id\":\"%s\"%s}\n", op, id, extra ? extra : "");
    pthread_mutex_unlock(&out_lock);
}

static const char *jstr(json_t *j, const char *k) {
    return json_string_value(json_object_get(j, k));
}

static void iso(char *buf, size_t n, time_t t) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:00:00Z", &tm);
}

/* Sends a state-changing request; after a 503 or a dropped connection it retries with the
 * same Idempotency-Key, as a client should. Returns the final answer. */
static struct resp send_retrying(CURL *c, enum op op, const char *path, const char *key,
                                 const char *body, const char *idem) {
    struct resp r = call(c, "POST", path, key, body, idem);
    for (int attempt = 0; attempt < 30 && (r.status == 503 || r.status == 0 || r.status == 502);
         attempt++) {
        atomic_fetch_add(&unavailable[op], 1);
        if (r.status == 503 && !r.retry_after && strstr(r.body, "problem") != NULL)
            atomic_fetch_add(&unavailable_without_retry_after, 1);
        atomic_fetch_add(&retried, 1);
        free(r.body);
        usleep(200000);
        r = call(c, "POST", path, key, body, idem);
    }
    return r;
}

static void classify(enum op op, const struct resp *r) {
    if (r->status >= 200 && r->status < 300)
        atomic_fetch_add(&ok[op], 1);
    else if (r->status == 503 || r->status == 0 || r->status == 502)
        atomic_fetch_add(&unavailable[op], 1);
    else if (r->status >= 500)
        atomic_fetch_add(&server_errors[op], 1);
    else
        atomic_fetch_add(&refused[op], 1);
}

struct worker {
    int n;
    unsigned seed;
    char orders[256][40];
    int norders;
};

static void *work(void *arg) {
    struct worker *w = arg;
    CURL *c = curl_easy_init();
    char body[1024], path[256], idem[64], start[32], end[32];
    int total = 0;
    for (int i = 0; i < OP_COUNT; i++)
        total += op_weight[i];
    while (now_s() < deadline) {
        int pick = (int)(rand_r(&w->seed) % (unsigned)total);
        enum op op = 0;
        while (pick >= op_weight[op])
            pick -= op_weight[op++];
        snprintf(idem, sizeof idem, "load-%d-%u-%u", w->n, rand_r(&w->seed), rand_r(&w->seed));
        struct resp r = {0};
        switch (op) {
        case OP_SEARCH:
            r = call(c, "GET", "/v1/offers?resource_class=gpu&sort=price&limit=20", inst_key, NULL,
                     NULL);
            break;
        case OP_MATCH: {
            time_t t = time(NULL);
            char a[32], b[32];
            iso(a, sizeof a, t + 86400);
            iso(b, sizeof b, t + 86400 * 60);
            snprintf(body, sizeof body,
                     "{\"resource_class\":\"gpu\",\"units\":1,\"duration_hours\":4,"
                     "\"earliest_start\":\"%s\",\"latest_end\":\"%s\",\"voucher_ids\":[\"%s\"]}",
                     a, b, voucher_id);
            r = call(c, "POST", "/v1/match", inst_key, body, NULL);
            break;
        }
        case OP_ORDER: {
            time_t t = time(NULL) + 86400 + (time_t)(rand_r(&w->seed) % 300) * 86400 +
                       (time_t)(rand_r(&w->seed) % 24) * 3600;
            iso(start, sizeof start, t);
            iso(end, sizeof end, t + 2 * 3600);
            const char *offer = offer_ids[rand_r(&w->seed) % (unsigned)noffers];
            if (rand_r(&w->seed) % 2)
                snprintf(body, sizeof body,
                         "{\"offer_id\":\"%s\",\"units\":1,\"start\":\"%s\",\"end\":\"%s\","
                         "\"vouchers\":[{\"voucher_id\":\"%s\",\"amount_fen\":100}]}",
                         offer, start, end, voucher_id);
            else
                snprintf(body, sizeof body,
                         "{\"offer_id\":\"%s\",\"units\":1,\"start\":\"%s\",\"end\":\"%s\"}", offer,
                         start, end);
            r = send_retrying(c, op, "/v1/orders", inst_key, body, idem);
            if (r.status == 201) {
                json_t *j = json_loads(r.body, 0, NULL);
                const char *id = jstr(j, "id");
                if (id) {
                    char extra[128];
                    snprintf(extra, sizeof extra, ",\"idem\":\"%s\",\"subsidy_fen\":%lld", idem,
                             (long long)json_integer_value(json_object_get(j, "subsidy_fen")));
                    record("order", id, extra);
                    if (w->norders < 256)
                        snprintf(w->orders[w->norders++], 40, "%s", id);
                }
                json_decref(j);
                if (rand_r(&w->seed) % 10 == 0) { /* replay on purpose: same key, same body */
                    struct resp again = send_retrying(c, op, "/v1/orders", inst_key, body, idem);
                    atomic_fetch_add(&replays, 1);
                    if (again.status != 201 || strcmp(again.body, r.body) != 0) {
                        atomic_fetch_add(&replay_mismatches, 1);
                        fprintf(stderr, "replay of %s answered %ld: %.300s\nfirst answer: %.300s\n",
                                idem, again.status, again.body, r.body);
                    }
                    free(again.body);
                }
            }
            break;
        }
        case OP_REDEEM:
        case OP_CANCEL: {
            if (w->norders == 0) {
                r = call(c, "GET", "/v1/orders?limit=5", inst_key, NULL, NULL);
                op = OP_LIST;
                break;
            }
            int k = (int)(rand_r(&w->seed) % (unsigned)w->norders);
            if (op == OP_REDEEM) {
                snprintf(body, sizeof body,
                         "{\"voucher_id\":\"%s\",\"order_id\":\"%s\",\"amount_fen\":50}",
                         voucher_id, w->orders[k]);
                r = send_retrying(c, op, "/v1/redemptions", inst_key, body, idem);
                if (r.status == 201) {
                    json_t *j = json_loads(r.body, 0, NULL);
                    if (jstr(j, "id"))
                        record("redeem", jstr(j, "id"), NULL);
                    json_decref(j);
                }
            } else {
                snprintf(path, sizeof path, "/v1/orders/%s/cancel", w->orders[k]);
                r = send_retrying(c, op, path, inst_key, "{}", idem);
                if (r.status == 200)
                    record("cancel", w->orders[k], NULL);
                memmove(w->orders[k], w->orders[w->norders - 1], 40);
                w->norders--;
            }
            break;
        }
        case OP_ISSUE: {
            char exp[32];
            iso(exp, sizeof exp, time(NULL) + 86400 * 30);
            snprintf(body, sizeof body,
                     "{\"institute_id\":\"%s\",\"face_value_fen\":10000,\"expires_at\":\"%s\"}",
                     inst_id, exp);
            snprintf(path, sizeof path, "/v1/programs/%s/vouchers", program_id);
            r = send_retrying(c, op, path, admin_key, body, idem);
            if (r.status == 201) {
                json_t *j = json_loads(r.body, 0, NULL);
                if (jstr(j, "id"))
                    record("issue", jstr(j, "id"), NULL);
                json_decref(j);
            }
            break;
        }
        case OP_LIST:
            r = call(c, "GET", "/v1/orders?limit=20", inst_key, NULL, NULL);
            break;
        case OP_COUNT:
            break;
        }
        classify(op, &r);
        free(r.body);
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* Signs in and creates an API key; exits on failure (the demo must be seeded). */
static void login(CURL *c, const char *email, char *key_out) {
    char body[256], cookie[200], csrf[160];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"suanli-demo\"}", email);
    struct resp r = call(c, "POST", "/v1/sessions", NULL, body, NULL);
    json_t *j = json_loads(r.body, 0, NULL);
    if (r.status != 201 || !jstr(j, "csrf_token") || !r.cookie[0]) {
        fprintf(stderr, "load: cannot sign in as %s: %ld %s\n", email, r.status, r.body);
        exit(2);
    }
    snprintf(cookie, sizeof cookie, "Cookie: %s", r.cookie);
    snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", jstr(j, "csrf_token"));
    const char *extra[] = {cookie, csrf, NULL};
    struct resp k = call_h(c, "POST", "/v1/api-keys", NULL, "{\"name\":\"load\"}", NULL, extra);
    json_t *jk = json_loads(k.body, 0, NULL);
    if (k.status != 201 || !jstr(jk, "key")) {
        fprintf(stderr, "load: no API key for %s: %ld %s\n", email, k.status, k.body);
        exit(2);
    }
    snprintf(key_out, 128, "%s", jstr(jk, "key"));
    json_decref(j);
    json_decref(jk);
    free(r.body);
    free(k.body);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: load BASE_URL SECONDS CLIENTS OUT\n");
        return 2;
    }
    base = argv[1];
    int seconds = atoi(argv[2]), clients = atoi(argv[3]);
    out = fopen(argv[4], "a");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    latencies = calloc(MAX_LAT, sizeof *latencies);
    CURL *c = curl_easy_init();
    login(c, "lab@scu.suanli.demo", inst_key);
    login(c, "admin@chengdu.suanli.demo", admin_key);
    struct resp r = call(c, "GET", "/v1/me", inst_key, NULL, NULL);
    json_t *j = json_loads(r.body, 0, NULL);
    snprintf(inst_id, sizeof inst_id, "%s", jstr(j, "organization_id"));
    json_decref(j);
    free(r.body);
    r = call(c, "GET", "/v1/programs?limit=1", admin_key, NULL, NULL);
    j = json_loads(r.body, 0, NULL);
    snprintf(program_id, sizeof program_id, "%s",
             jstr(json_array_get(json_object_get(j, "items"), 0), "id"));
    json_decref(j);
    free(r.body);
    r = call(c, "GET", "/v1/vouchers?limit=1", inst_key, NULL, NULL);
    j = json_loads(r.body, 0, NULL);
    snprintf(voucher_id, sizeof voucher_id, "%s",
             jstr(json_array_get(json_object_get(j, "items"), 0), "id"));
    json_decref(j);
    free(r.body);
    r = call(c, "GET", "/v1/offers?resource_class=gpu&limit=50", inst_key, NULL, NULL);
    j = json_loads(r.body, 0, NULL);
    json_t *items = json_object_get(j, "items");
    for (size_t i = 0; i < json_array_size(items) && noffers < 64; i++)
        snprintf(offer_ids[noffers++], 40, "%s", jstr(json_array_get(items, i), "id"));
    json_decref(j);
    free(r.body);
    curl_easy_cleanup(c);
    if (noffers == 0 || strlen(program_id) != 36 || strlen(voucher_id) != 36) {
        fprintf(stderr,
                "load: the demo world is incomplete (offers %d, programme '%s', voucher '%s')\n",
                noffers, program_id, voucher_id);
        return 2;
    }

    double t0 = now_s();
    deadline = t0 + seconds;
    pthread_t *t = calloc((size_t)clients, sizeof *t);
    struct worker *w = calloc((size_t)clients, sizeof *w);
    for (int i = 0; i < clients; i++) {
        w[i].n = i;
        w[i].seed = (unsigned)(time(NULL) ^ (i * 7919));
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < clients; i++)
        pthread_join(t[i], NULL);
    double elapsed = now_s() - t0;
    long n = atomic_load(&nlat) < MAX_LAT ? atomic_load(&nlat) : MAX_LAT;
    qsort(latencies, (size_t)n, sizeof *latencies, cmp_double);
    long done = 0, errs = 0;
    printf("ops:");
    for (int i = 0; i < OP_COUNT; i++) {
        printf(" %s %ld/%ld/%ld/%ld", op_names[i], atomic_load(&ok[i]), atomic_load(&refused[i]),
               atomic_load(&unavailable[i]), atomic_load(&server_errors[i]));
        done += atomic_load(&ok[i]) + atomic_load(&refused[i]);
        errs += atomic_load(&server_errors[i]);
    }
    printf("  (ok/refused/unavailable/5xx)\n");
    printf("throughput %.0f req/s over %.1f s with %d clients; latency p50 %.1f ms p99 %.1f ms\n",
           n / elapsed, elapsed, clients, n ? latencies[n / 2] * 1e3 : 0,
           n ? latencies[n * 99 / 100] * 1e3 : 0);
    printf("answered %ld, retried %ld, replays %ld (mismatched %ld), 503 without Retry-After %ld, "
           "server errors %ld\n",
           done, atomic_load(&retried), atomic_load(&replays), atomic_load(&replay_mismatches),
           atomic_load(&unavailable_without_retry_after), errs);
    fclose(out);
    free(t);
    free(w);
    free(latencies);
    curl_global_cleanup();
    return (atomic_load(&replay_mismatches) || errs ||
            atomic_load(&unavailable_without_retry_after))
               ? 1
               : 0;
}
