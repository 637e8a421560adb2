/* http.c — the libmicrohttpd glue.
 *
 * One dispatcher owns everything a handler should not have to think about: URL splitting and
 * path parameters, 404/405, the body cap, authentication, role checks, CSRF, the
 * Idempotency-Key transaction, the reply, the access log and the metrics (after the GNU Taler
 * exchange's route table). Handlers decode, authorise per object, call the database, reply. */
#include "http.h"

#include "auth.h"
#include "config.h"
#include "db.h"
#include "group.h"
#include "json.h"
#include "log.h"
#include "query.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* ==== roles and problems ================================================================== */

static const char *const role_names[] = {"operator", "city_admin", "auditor", "provider",
                                         "institute"};

const char *role_name(enum role r) {
    for (int i = 0; i < 5; i++)
        if (r == (enum role)(1 << i))
            return role_names[i];
    return "unknown";
}

int role_parse(const char *s) {
    for (int i = 0; i < 5; i++)
        if (strcmp(s, role_names[i]) == 0)
            return 1 << i;
    return -1;
}

static const struct {
    unsigned status;
    const char *slug;
    const char *title;
} problems[] = {
#define PROBLEM(id, status, slug, title) {status, slug, title},
#include "problems.def"
#undef PROBLEM
};

enum problem problem_by_slug(const char *slug) {
    for (int i = 0; i < PROBLEM_COUNT; i++)
        if (strcmp(problems[i].slug, slug) == 0)
            return (enum problem)i;
    return PROBLEM_COUNT;
}

unsigned problem_status(enum problem p) {
    return problems[p].status;
}

const char *problem_slug(enum problem p) {
    return problems[p].slug;
}

/* ==== what a request owns ================================================================= */

static void reset_reply(struct http_req *r);

void *http_req_own(struct http_req *r, void *p, http_free_fn free_fn) {
    if (p == NULL)
        return NULL;
    if (r->nowned == r->cap_owned) {
        size_t cap = r->cap_owned ? 2 * r->cap_owned : 8;
        struct http_owned *o = realloc(r->owned, cap * sizeof *o);
        if (o == NULL) {
            free_fn(p);
            return NULL;
        }
        r->owned = o;
        r->cap_owned = cap;
    }
    r->owned[r->nowned++] = (struct http_owned){p, free_fn};
    return p;
}

char *http_req_own_str(struct http_req *r, char *s) {
    return http_req_own(r, s, free);
}

void http_req_release(struct http_req *r) {
    reset_reply(r);
    while (r->nowned > 0) { /* the last first, as a stack unwinds */
        struct http_owned *o = &r->owned[--r->nowned];
        o->free_fn(o->p);
    }
    free(r->owned);
    r->owned = NULL;
    r->cap_owned = 0;
    for (int i = 0; i < HTTP_MAX_PARAMS; i++) {
        free(r->params[i]);
        r->params[i] = NULL;
    }
    buf_free(&r->body);
    json_decref(r->json);
    r->json = NULL;
    if (r->stream)
        MHD_destroy_response(r->stream);
    r->stream = NULL;
}

/* ==== replies ============================================================================= */

static void reset_reply(struct http_req *r) {
    free(r->resp_body);
    r->resp_body = NULL;
    r->resp_len = 0;
    for (int i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    r->nheaders = 0;
}

void http_add_header(struct http_req *r, const char *name, const char *value) {
    for (int i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0) {
            free(r->headers[i].value);
            r->headers[i].value = strdup(value);
            return;
        }
    }
    if (r->nheaders == HTTP_MAX_HEADERS) {
        log_error("too many response headers; dropped %s", name);
        return;
    }
    r->headers[r->nheaders].name = strdup(name);
    r->headers[r->nheaders].value = strdup(value);
    r->nheaders++;
}

void http_reply_raw(struct http_req *r, unsigned status, const char *ctype, const char *text,
                    size_t len) {
    free(r->resp_body);
    r->resp_body = malloc(len + 1);
    if (r->resp_body == NULL) {
        r->status = 500;
        r->resp_len = 0;
        return;
    }
    memcpy(r->resp_body, text, len);
    r->resp_body[len] = '\0';
    r->resp_len = len;
    r->status = status;
    r->content_type = ctype;
}

void http_reply_take(struct http_req *r, unsigned status, const char *ctype, char *text,
                     size_t len) {
    free(r->resp_body);
    r->resp_body = text;
    r->resp_len = len;
    r->status = status;
    r->content_type = ctype;
}

void http_reply_json(struct http_req *r, unsigned status, json_t *body) {
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(body);
    free(r->resp_body);
    r->resp_body = text;
    r->resp_len = text ? strlen(text) : 0;
    r->status = text ? status : 500;
    r->content_type = "application/json";
}

void http_reply_empty(struct http_req *r, unsigned status) {
    free(r->resp_body);
    r->resp_body = NULL;
    r->resp_len = 0;
    r->status = status;
    r->content_type = NULL;
}

struct stream {
    http_stream_fill fill;
    void (*done)(void *cls);
    void *cls;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    struct stream *st = cls;
    ssize_t n = st->fill(st->cls, buf, max);
    if (n > 0)
        return n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls) {
    struct stream *st = cls;
    if (st->done != NULL)
        st->done(st->cls);
    free(st);
}

bool http_reply_stream(struct http_req *r, unsigned status, const char *ctype,
                       http_stream_fill fill, void (*done)(void *cls), void *cls) {
    struct stream *st = malloc(sizeof *st);
    struct MHD_Response *resp = NULL;
    if (st != NULL) {
        *st = (struct stream){fill, done, cls};
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, st,
                                                 stream_free);
    }
    if (resp == NULL) {
        if (st != NULL)
            stream_free(st);
        else if (done != NULL)
            done(cls);
        http_problem(r, P_INTERNAL, "could not start the reply");
        return false;
    }
    reset_reply(r);
    if (r->stream != NULL)
        MHD_destroy_response(r->stream);
    r->stream = resp;
    r->status = status;
    r->content_type = ctype;
    return true;
}

static void problem_v(struct http_req *r, enum problem p, json_t *errors, const char *fmt,
                      va_list ap) {
    char detail[1024];
    vsnprintf(detail, sizeof detail, fmt, ap);
    util_utf8_scrub(detail); /* it may quote the request, and may be cut short */
    char type[96];
    snprintf(type, sizeof type, "/problems/%s", problems[p].slug);
    json_t *body = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", problems[p].title,
                             "status", (int)problems[p].status, "detail", detail);
    if (errors != NULL)
        json_object_set_new(body, "errors", errors);
    json_object_set_new(body, "request_id", json_string(r->request_id));
    http_reply_json(r, problems[p].status, body);
    r->content_type = "application/problem+json";
    if (problems[p].status == 503)
        http_add_header(r, "Retry-After", "2");
}

void http_problem(struct http_req *r, enum problem p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    problem_v(r, p, NULL, fmt, ap);
    va_end(ap);
}

void http_problem_errors(struct http_req *r, enum problem p, json_t *errors, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    problem_v(r, p, errors, fmt, ap);
    va_end(ap);
}

void http_error_add(json_t *errors, const char *field, const char *message) {
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field, "message", message));
}

bool http_errors_ok(struct http_req *r, enum problem p, json_t *errors) {
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return true;
    }
    while (json_array_size(errors) > HTTP_MAX_ERRORS)
        json_array_remove(errors, json_array_size(errors) - 1);
    json_t *first = json_array_get(errors, 0);
    http_problem_errors(r, p, errors, "%s %s", json_string_value(json_object_get(first, "field")),
                        json_string_value(json_object_get(first, "message")));
    return false;
}

void http_problem_field(struct http_req *r, enum problem p, const char *field,
                        const char *message) {
    http_errors_ok(r, p, json_pack("[{s:s, s:s}]", "field", field, "message", message));
}

void http_db_fail(struct http_req *r, int db_status) {
    const struct db_error *e = db_last_error();
    switch (db_status) {
    case DB_RETRY:
        if (db_in_transaction()) {
            r->retry = true;
        }
        http_problem(r, P_BUSY, "the request conflicted with concurrent requests; retry it");
        return;
    case DB_UNAVAILABLE:
        if (e->outcome_unknown)
            http_problem(r, P_OUTCOME_UNKNOWN,
                         "the connection to the database was lost while the change was applied; "
                         "it may have taken effect: look before retrying, or retry with the "
                         "same Idempotency-Key");
        else
            http_problem(r, P_UNAVAILABLE, "the database is unavailable; retry later");
        return;
    case DB_APP_ERROR: {
        enum problem p = problem_by_slug(e->message);
        if (p == PROBLEM_COUNT) {
            log_error("SQL raised unknown problem slug '%s'", e->message);
            http_problem(r, P_INTERNAL, "internal error");
            return;
        }
        if (e->field[0] != '\0') { /* problem_at: the field at fault, with errors[] */
            json_t *errors = json_pack("[{s:s, s:s}]", "field", e->field, "message", e->detail);
            http_problem_errors(r, p, errors, "%s: %s", e->field, e->detail);
            return;
        }
        http_problem(r, p, "%s", e->detail[0] ? e->detail : problems[p].title);
        return;
    }
    case DB_CONFLICT:
        if (strcmp(e->sqlstate, "23505") == 0)
            http_problem(r, P_DUPLICATE, "an object with these values exists already (%s)",
                         e->constraint);
        else
            http_problem(r, P_CONFLICT, "the change violates %s",
                         e->constraint[0] ? e->constraint : e->message);
        return;
    default:
        http_problem(r, P_INTERNAL, "internal error; request id %s", r->request_id);
        return;
    }
}

/* ==== request accessors =================================================================== */

const char *http_header(struct http_req *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_query(struct http_req *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct query_scan {
    bool (*known)(void *cls, const char *name);
    void *cls;
    const char *bad;
};

static enum MHD_Result query_scan_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
    (void)kind;
    (void)value;
    struct query_scan *qs = cls;
    if (qs->known != NULL && qs->known(qs->cls, key))
        return MHD_YES;
    qs->bad = key;
    return MHD_NO;
}

const char *http_query_unknown(struct http_req *r, bool (*known)(void *cls, const char *name),
                               void *cls) {
    struct query_scan qs = {known, cls, NULL};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_scan_cb, &qs);
    return qs.bad;
}

bool http_if_match(struct http_req *r, const char *what, bool required, char version[16]) {
    const char *h = http_header(r, "If-Match");
    version[0] = '\0';
    if (h == NULL && required)
        http_problem(r, P_PRECONDITION_REQUIRED, "send If-Match with the %s's ETag from GET %s",
                     what, r->url);
    if (h == NULL)
        return !required;
    size_t n = strlen(h);
    int64_t v;
    char digits[16];
    if (n >= 3 && n < sizeof digits && h[0] == '"' && h[n - 1] == '"') {
        memcpy(digits, h + 1, n - 2);
        digits[n - 2] = '\0';
        if (digits[0] >= '1' && digits[0] <= '9' && util_parse_int64(digits, 1, INT32_MAX, &v)) {
            snprintf(version, 16, "%lld", (long long)v);
            return true;
        }
    }
    http_problem(r, P_PRECONDITION_FAILED,
                 "If-Match must be the %s's current ETag, e.g. \"3\"; got %.64s", what, h);
    return false;
}

json_t *http_body_object(struct http_req *r) {
    if (r->json != NULL)
        return r->json;
    const char *ctype = http_header(r, "Content-Type");
    if (ctype == NULL || strncasecmp(ctype, "application/json", 16) != 0 ||
        (ctype[16] != '\0' && ctype[16] != ';' && ctype[16] != ' ')) {
        http_problem(r, P_UNSUPPORTED_MEDIA_TYPE,
                     "send the body as Content-Type: application/json");
        return NULL;
    }
    char why[256];
    json_t *j = jf_parse_object(r->body.p, r->body.len, why, sizeof why);
    if (j == NULL) {
        http_problem(r, P_INVALID_JSON, "%s", why);
        return NULL;
    }
    r->json = j;
    return j;
}

/* ==== metrics ============================================================================= */

/* The Prometheus exposition follows its naming conventions: counters end in _total, times are
 * in seconds and sizes in bytes, every family has HELP and TYPE. Label values come from the
 * route table only, never from the request, so none needs escaping. */

static const unsigned metric_codes[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 406, 409,
                                        412, 413, 415, 422, 428, 429, 431, 500, 503, 0};
#define NCODES (sizeof metric_codes / sizeof metric_codes[0]) /* the last counts the rest */
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,   0.25,   0.5,   1,    2.5,   5};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

/* Each observation increments one slot (the first bucket that holds it, or the last slot for
 * longer ones); the exposition sums them, so that a scrape racing with observations still sees
 * cumulative counts that never decrease and a +Inf bucket equal to _count. */
struct route_metrics {
    _Atomic uint64_t by_code[NCODES];
    _Atomic uint64_t slots[NBUCKETS + 1];
    _Atomic uint64_t sum_us;
};

static const struct http_api *served; /* the routes and fallback of http_start */
static struct route_metrics *metrics; /* served->nroutes + 1 (the last: no route matched) */
static _Atomic int64_t in_flight;
static _Atomic int64_t queued_now;           /* requests waiting for a worker (the pool) */
static _Atomic uint64_t queue_wait_us_total; /* the waits of those a worker took, summed */
static _Atomic uint64_t queue_taken_total;
static _Atomic uint64_t one_trip_answered; /* RF_ONE_TRIP: answered in the one round trip */
static _Atomic uint64_t one_trip_usual;    /* left to the usual path */
static _Atomic uint64_t server_errors;
static int64_t started_ms; /* wall clock at http_start, for process_start_time_seconds */

static void metrics_observe(int route, unsigned status, int64_t us) {
    struct route_metrics *m = &metrics[route < 0 ? (int)served->nroutes : route];
    size_t c = 0;
    while (metric_codes[c] != 0 && metric_codes[c] != status)
        c++;
    atomic_fetch_add(&m->by_code[c], 1);
    double secs = (double)us / 1e6;
    size_t b = 0;
    while (b < NBUCKETS && secs > buckets[b])
        b++;
    atomic_fetch_add(&m->slots[b], 1);
    atomic_fetch_add(&m->sum_us, (uint64_t)us);
    if (status >= 500)
        atomic_fetch_add(&server_errors, 1);
}

/* Resident set size in bytes from /proc/self/statm; 0 where there is none. */
static unsigned long long resident_bytes(void) {
    unsigned long long pages_total = 0, pages_resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &pages_total, &pages_resident) != 2)
        pages_resident = 0;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return pages_resident * (unsigned long long)(page > 0 ? page : 4096);
}

static void render_requests(struct buf *out) {
    buf_printf(out,
               "# HELP suanli_http_requests_total HTTP requests answered, by route and status.\n"
               "# TYPE suanli_http_requests_total counter\n");
    for (size_t i = 0; i <= served->nroutes; i++) {
        const char *method = i < served->nroutes ? served->routes[i].method : "any";
        const char *route = i < served->nroutes ? served->routes[i].pattern : "unmatched";
        for (size_t c = 0; c < NCODES; c++) {
            uint64_t v = atomic_load(&metrics[i].by_code[c]);
            if (v == 0)
                continue;
            char status[16];
            if (metric_codes[c])
                snprintf(status, sizeof status, "%u", metric_codes[c]);
            else
                snprintf(status, sizeof status, "other");
            buf_printf(out,
                       "suanli_http_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} "
                       "%llu\n",
                       method, route, status, (unsigned long long)v);
        }
    }
}

static void render_durations(struct buf *out) {
    buf_printf(out, "# HELP suanli_http_request_duration_seconds Time from the first byte of a "
                    "request to its reply, by route.\n"
                    "# TYPE suanli_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= served->nroutes; i++) {
        uint64_t slot[NBUCKETS + 1], count = 0;
        for (size_t b = 0; b <= NBUCKETS; b++) {
            slot[b] = atomic_load(&metrics[i].slots[b]);
            count += slot[b];
        }
        if (count == 0)
            continue;
        const char *method = i < served->nroutes ? served->routes[i].method : "any";
        const char *route = i < served->nroutes ? served->routes[i].pattern : "unmatched";
        uint64_t cumulative = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cumulative += slot[b];
            buf_printf(out,
                       "suanli_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
                       "le=\"%g\"} %llu\n",
                       method, route, buckets[b], (unsigned long long)cumulative);
        }
        buf_printf(out,
                   "suanli_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+"
                   "Inf\"} %llu\n"
                   "suanli_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n"
                   "suanli_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
                   method, route, (unsigned long long)count, method, route,
                   (double)atomic_load(&metrics[i].sum_us) / 1e6, method, route,
                   (unsigned long long)count);
    }
}

void http_metrics_render(struct buf *out) {
    unsigned long long replica_reads, primary_reads;
    db_read_stats(&replica_reads, &primary_reads);
    struct rusage ru;
    double cpu_s = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu_s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    render_requests(out);
    render_durations(out);
    buf_printf(out,
               "# HELP suanli_http_requests_in_flight Requests being handled now.\n"
               "# TYPE suanli_http_requests_in_flight gauge\n"
               "suanli_http_requests_in_flight %lld\n"
               "# HELP suanli_http_server_errors_total Requests answered with a 5xx status.\n"
               "# TYPE suanli_http_server_errors_total counter\n"
               "suanli_http_server_errors_total %llu\n"
               "# HELP suanli_db_reads_total Read-only queries, by the server that answered them.\n"
               "# TYPE suanli_db_reads_total counter\n"
               "suanli_db_reads_total{target=\"replica\"} %llu\n"
               "suanli_db_reads_total{target=\"primary\"} %llu\n"
               "# HELP suanli_db_connections Open PostgreSQL connections of this process.\n"
               "# TYPE suanli_db_connections gauge\n"
               "suanli_db_connections %d\n"
               "# HELP process_start_time_seconds Start time of the process since the Unix "
               "epoch.\n"
               "# TYPE process_start_time_seconds gauge\n"
               "process_start_time_seconds %.3f\n"
               "# HELP process_cpu_seconds_total User and system CPU time the process spent.\n"
               "# TYPE process_cpu_seconds_total counter\n"
               "process_cpu_seconds_total %.6f\n"
               "# HELP process_resident_memory_bytes Resident memory size of the process.\n"
               "# TYPE process_resident_memory_bytes gauge\n"
               "process_resident_memory_bytes %llu\n",
               (long long)atomic_load(&in_flight), (unsigned long long)atomic_load(&server_errors),
               replica_reads, primary_reads, db_open_connections(), (double)started_ms / 1e3, cpu_s,
               resident_bytes());
    unsigned long long groups, grouped, peak;
    group_stats(&groups, &grouped, &peak);
    buf_printf(
        out,
        "# HELP suanli_group_commits_total Groups of requests committed together "
        "(SUANLI_GROUP_COMMIT).\n"
        "# TYPE suanli_group_commits_total counter\n"
        "suanli_group_commits_total %llu\n"
        "# HELP suanli_group_commit_requests_total Requests those groups carried.\n"
        "# TYPE suanli_group_commit_requests_total counter\n"
        "suanli_group_commit_requests_total %llu\n"
        "# HELP suanli_group_commit_lanes_busy_max Most groups in flight at once since start "
        "(at most SUANLI_GROUP_COMMIT_LANES).\n"
        "# TYPE suanli_group_commit_lanes_busy_max gauge\n"
        "suanli_group_commit_lanes_busy_max %llu\n",
        groups, grouped, peak);
    buf_printf(out,
               "# HELP suanli_http_requests_queued Received requests waiting for a worker thread.\n"
               "# TYPE suanli_http_requests_queued gauge\n"
               "suanli_http_requests_queued %lld\n"
               "# HELP suanli_http_queue_wait_seconds_total Time requests waited for a worker.\n"
               "# TYPE suanli_http_queue_wait_seconds_total counter\n"
               "suanli_http_queue_wait_seconds_total %.6f\n"
               "# HELP suanli_http_queue_taken_total Requests a worker thread took from the "
               "queue.\n"
               "# TYPE suanli_http_queue_taken_total counter\n"
               "suanli_http_queue_taken_total %llu\n"
               "# HELP suanli_http_one_trip_total Requests of the one-round-trip routes (search, "
               "redemption) answered in that round trip, or left to the usual path.\n"
               "# TYPE suanli_http_one_trip_total counter\n"
               "suanli_http_one_trip_total{outcome=\"answered\"} %llu\n"
               "suanli_http_one_trip_total{outcome=\"usual_path\"} %llu\n",
               (long long)atomic_load(&queued_now), (double)atomic_load(&queue_wait_us_total) / 1e6,
               (unsigned long long)atomic_load(&queue_taken_total),
               (unsigned long long)atomic_load(&one_trip_answered),
               (unsigned long long)atomic_load(&one_trip_usual));
}

/* ==== routing ============================================================================= */

/* Matches path against pattern; on success fills params (malloc'd) and returns true. A
 * {param} segment accepts only a UUID, so a malformed id is simply not found. */
static bool route_match(const char *pattern, const char *path, char **params) {
    int np = 0;
    const char *p = pattern, *u = path;
    while (*p && *u) {
        if (*p == '{') {
            const char *pend = strchr(p, '}');
            const char *uend = strchr(u, '/');
            size_t ulen = uend ? (size_t)(uend - u) : strlen(u);
            char seg[64];
            if (ulen >= sizeof seg || np >= HTTP_MAX_PARAMS)
                goto fail;
            memcpy(seg, u, ulen);
            seg[ulen] = '\0';
            if (!util_is_uuid(seg))
                goto fail;
            params[np++] = strdup(seg);
            p = pend + 1;
            u += ulen;
            continue;
        }
        if (*p != *u)
            goto fail;
        p++;
        u++;
    }
    if (*p == '\0' && *u == '\0')
        return true;
fail:
    for (int i = 0; i < np; i++) {
        free(params[i]);
        params[i] = NULL;
    }
    return false;
}

static bool method_is(const char *a, const char *b) {
    return strcmp(a, b) == 0 || (strcmp(a, "HEAD") == 0 && strcmp(b, "GET") == 0);
}

/* Finds the route; sets r->route or replies 404/405 (with Allow). */
static void route_find(struct http_req *r) {
    char allow[128] = "";
    r->route_index = -1;
    for (size_t i = 0; i < served->nroutes; i++) {
        char *params[HTTP_MAX_PARAMS] = {0};
        if (!route_match(served->routes[i].pattern, r->url, params))
            continue;
        if (method_is(r->method, served->routes[i].method) && r->route == NULL) {
            r->route = &served->routes[i];
            r->route_index = (int)i;
            memcpy(r->params, params, sizeof params);
            continue;
        }
        for (int k = 0; k < HTTP_MAX_PARAMS; k++)
            free(params[k]);
        if (strlen(allow) + strlen(served->routes[i].method) + 3 < sizeof allow) {
            if (allow[0])
                strcat(allow, ", ");
            strcat(allow, served->routes[i].method);
        }
    }
    if (r->route != NULL)
        return;
    if (allow[0]) {
        http_add_header(r, "Allow", allow);
        http_problem(r, P_METHOD_NOT_ALLOWED, "%s is not allowed on %s; allowed: %s", r->method,
                     r->url, allow);
    } else {
        http_problem(r, P_ROUTE_NOT_FOUND, "no endpoint %s %s", r->method, r->url);
    }
}

/* ==== idempotency ========================================================================= */

static const char SQL_IDEM_CLAIM[] =
    "INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3) "
    "ON CONFLICT (user_id, key) DO NOTHING";
static const char SQL_IDEM_GET[] =
    "SELECT request_hash, status, content_type, body, headers::text FROM idempotency_keys "
    "WHERE user_id = $1 AND key = $2";
static const char SQL_IDEM_STORE[] =
    "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5, headers = $6::jsonb "
    "WHERE user_id = $1 AND key = $2";

static void request_hash(struct http_req *r, char out[65]) {
    crypto_generichash_state st;
    unsigned char h[32];
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)r->method, strlen(r->method) + 1);
    crypto_generichash_update(&st, (const unsigned char *)r->url, strlen(r->url) + 1);
    if (r->body.len)
        crypto_generichash_update(&st, (const unsigned char *)r->body.p, r->body.len);
    crypto_generichash_final(&st, h, sizeof h);
    util_hex(h, sizeof h, out);
}

static bool idem_key_valid(const char *key) {
    size_t n = strlen(key);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isprint((unsigned char)key[i]))
            return false;
    return true;
}

bool http_idem_args(struct http_req *r, const char **key, char request_hash_out[65]) {
    *key = http_header(r, "Idempotency-Key");
    request_hash_out[0] = '\0';
    if (*key == NULL)
        return true;
    if (!idem_key_valid(*key))
        return false;
    request_hash(r, request_hash_out);
    return true;
}

/* Replays the stored reply of res row 0 if it is for the same request. */
static void idem_replay(struct http_req *r, PGresult *res, const char *hash) {
    if (strcmp(PQgetvalue(res, 0, 0), hash) != 0) {
        http_problem(r, P_IDEMPOTENCY_REUSED,
                     "this Idempotency-Key was first used with a different request");
        return;
    }
    if (PQgetisnull(res, 0, 1)) {
        http_problem(r, P_CONFLICT, "a request with this Idempotency-Key is still in progress");
        return;
    }
    const char *ctype = PQgetvalue(res, 0, 2);
    /* The stored content type is one of the literals the handlers use; map it back. */
    const char *ct = strcmp(ctype, "application/problem+json") == 0 ? "application/problem+json"
                                                                    : "application/json";
    http_reply_raw(r, (unsigned)atoi(PQgetvalue(res, 0, 1)), ct, PQgetvalue(res, 0, 3),
                   (size_t)PQgetlength(res, 0, 3));
    json_t *hdrs = json_loads(PQgetvalue(res, 0, 4), 0, NULL);
    const char *name;
    json_t *value;
    json_object_foreach(hdrs, name, value) http_add_header(r, name, json_string_value(value));
    json_decref(hdrs);
    http_add_header(r, "Idempotent-Replayed", "true");
}

static bool idem_store(struct http_req *r, const char *key) {
    json_t *hdrs = json_object();
    for (int i = 0; i < r->nheaders; i++)
        json_object_set_new(hdrs, r->headers[i].name, json_string(r->headers[i].value));
    char *htext = json_dumps(hdrs, JSON_COMPACT);
    json_decref(hdrs);
    char status[8];
    snprintf(status, sizeof status, "%u", r->status);
    const char *params[] = {r->who.user_id,
                            key,
                            status,
                            r->content_type ? r->content_type : "application/json",
                            r->resp_body ? r->resp_body : "",
                            htext};
    int rc = db_exec(SQL_IDEM_STORE, 6, params, NULL);
    free(htext);
    return rc == 1;
}

/* Runs the handler inside one transaction that also claims the key, so that the effect and
 * the stored reply commit together or not at all. A concurrent request with the same key
 * waits on the claimed row and then replays the committed reply. 5xx replies are not stored:
 * the client may retry them. */
static void run_idempotent(struct http_req *r, const char *key) {
    char hash[65];
    request_hash(r, hash);
    for (int attempt = 0; attempt < 5; attempt++) {
        reset_reply(r);
        r->retry = false;
        int rc = db_begin();
        if (rc < 0) {
            http_db_fail(r, rc);
            return;
        }
        const char *claim[] = {r->who.user_id, key, hash};
        rc = db_exec(SQL_IDEM_CLAIM, 3, claim, NULL);
        if (rc == 0) {
            PGresult *res;
            rc = db_exec(SQL_IDEM_GET, 2, claim, &res);
            db_rollback();
            if (rc == 1)
                idem_replay(r, res, hash);
            else if (rc == DB_RETRY)
                continue;
            else
                http_db_fail(r, rc < 0 ? rc : DB_HARD_ERROR);
            PQclear(res);
            return;
        }
        if (rc < 0) {
            db_rollback();
            if (rc == DB_RETRY)
                continue;
            http_db_fail(r, rc);
            return;
        }
        rc = db_savepoint();
        if (rc < 0) {
            db_rollback();
            http_db_fail(r, rc);
            return;
        }
        r->route->handler(r);
        if (r->retry) {
            db_rollback();
            continue;
        }
        if (r->status >= 500 || !db_in_transaction()) {
            db_rollback();
            return;
        }
        /* A refusal (4xx) may have left the transaction aborted: undo the handler's part and
         * keep the claim, so that the refusal itself is what the key replays. */
        if (r->status >= 400 && db_rollback_to_savepoint() < 0) {
            db_rollback();
            reset_reply(r);
            http_problem(r, P_UNAVAILABLE, "could not record the Idempotency-Key");
            return;
        }
        if (!idem_store(r, key)) {
            db_rollback();
            reset_reply(r);
            http_problem(r, P_UNAVAILABLE, "could not record the Idempotency-Key");
            return;
        }
        rc = db_commit();
        if (rc == DB_RETRY)
            continue;
        if (rc < 0) {
            reset_reply(r);
            http_db_fail(r, rc);
        }
        return;
    }
    reset_reply(r);
    http_problem(r, P_BUSY, "the request conflicted with concurrent requests; retry it");
}

/* ==== dispatch ============================================================================ */

static void dispatch(struct http_req *r) {
    if (r->body_too_large) {
        http_problem(r, P_BODY_TOO_LARGE, "the body exceeds %d bytes", HTTP_MAX_BODY);
        return;
    }
    route_find(r);
    if (r->route == NULL) {
        if (r->status == 404 && method_is(r->method, "GET") && strncmp(r->url, "/v1/", 4) != 0 &&
            served->fallback != NULL) {
            reset_reply(r);
            served->fallback(r);
        }
        return;
    }
    reset_reply(r);
    /* Writes take their input from the body only; a query string there is a mistake. (GET
     * handlers name the parameters they accept with qf_decode.) */
    if (!method_is(r->method, "GET") && !qf_decode(r, NULL))
        return;
    if (r->route->flags & RF_ONE_TRIP) {
        r->one_trip = true;
        r->route->handler(r);
        r->one_trip = false;
        atomic_fetch_add(r->one_trip_done ? &one_trip_answered : &one_trip_usual, 1);
        if (r->one_trip_done)
            return;
        reset_reply(r);
        memset(&r->who, 0, sizeof r->who);
    }
    if (r->route->roles != ROLES_PUBLIC || strncmp(r->url, "/v1/", 4) == 0) {
        int rc = auth_resolve(r);
        if (rc == 1)
            return;
        if (rc < 0 && r->route->roles != ROLES_PUBLIC) {
            http_db_fail(r, rc);
            return;
        }
    }
    if (r->route->roles != ROLES_PUBLIC) {
        if (!r->who.authenticated) {
            http_add_header(r, "WWW-Authenticate", "Bearer");
            http_problem(r, P_UNAUTHENTICATED, "sign in or send Authorization: Bearer <api key>");
            return;
        }
        if ((r->route->roles & (unsigned)r->who.role) == 0) {
            http_problem(r, P_FORBIDDEN, "the %s role may not %s %s", role_name(r->who.role),
                         r->method, r->route->pattern);
            return;
        }
    }
    bool unsafe = !method_is(r->method, "GET");
    if (unsafe && r->who.via_cookie && !(r->route->flags & RF_NO_CSRF) && !auth_csrf_ok(r)) {
        http_problem(r, P_CSRF, "cookie-authenticated writes need the X-CSRF-Token from sign-in");
        return;
    }
    const char *key = http_header(r, "Idempotency-Key");
    if (key != NULL && (r->route->flags & RF_IDEMPOTENT) && r->who.authenticated) {
        if (!idem_key_valid(key)) {
            http_problem_errors(r, P_BAD_REQUEST,
                                json_pack("[{s:s, s:s}]", "field", "Idempotency-Key", "message",
                                          "1 to 255 printable characters"),
                                "the Idempotency-Key header is invalid");
            return;
        }
        run_idempotent(r, key);
        return;
    }
    r->route->handler(r);
    if (db_in_transaction()) {
        log_error("handler %s %s left a transaction open", r->method, r->route->pattern);
        db_rollback();
    }
}

/* ==== libmicrohttpd callbacks ============================================================= */

static struct MHD_Daemon *daemon_handle;

static bool request_id_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

/* Appends each value of a request header named name to the comma-joined list in ctx. */
struct header_join {
    const char *name;
    char text[2048];
    bool overflow;
};

static enum MHD_Result join_header(void *ctx, enum MHD_ValueKind kind, const char *key,
                                   const char *value) {
    (void)kind;
    struct header_join *j = ctx;
    if (key == NULL || value == NULL || strcasecmp(key, j->name) != 0)
        return MHD_YES;
    size_t used = strlen(j->text);
    int n = snprintf(j->text + used, sizeof j->text - used, "%s%s", used ? "," : "", value);
    if (n < 0 || (size_t)n >= sizeof j->text - used)
        j->overflow = true;
    return MHD_YES;
}

/* The address of one hop of X-Forwarded-For ("1.2.3.4", " ::1") or of a Forwarded element
 * ("for=1.2.3.4;proto=http", "for=\"[2001:db8::1]:4711\""), copied into out; false when the
 * hop names no IP address (obfuscated, "unknown", garbage). */
static bool hop_address(char *hop, bool forwarded, char *out, size_t outlen) {
    char *v = hop;
    if (forwarded) {
        v = NULL;
        char *save = NULL;
        for (char *pair = strtok_r(hop, ";", &save); pair != NULL;
             pair = strtok_r(NULL, ";", &save)) {
            while (isspace((unsigned char)*pair))
                pair++;
            if (strncasecmp(pair, "for=", 4) == 0)
                v = pair + 4;
        }
        if (v == NULL)
            return false;
    }
    while (isspace((unsigned char)*v))
        v++;
    char *end = v + strlen(v);
    while (end > v && isspace((unsigned char)end[-1]))
        *--end = '\0';
    if (*v == '"' && end - v >= 2 && end[-1] == '"') {
        v++;
        *--end = '\0';
    }
    if (*v == '[') { /* [v6]:port or [v6] */
        char *close = strchr(v, ']');
        if (close == NULL)
            return false;
        *close = '\0';
        v++;
    } else if (strchr(v, ':') != NULL && strchr(v, ':') == strrchr(v, ':')) {
        *strchr(v, ':') = '\0'; /* v4:port */
    }
    unsigned char bin[16];
    if (inet_pton(AF_INET, v, bin) == 1)
        return inet_ntop(AF_INET, bin, out, (socklen_t)outlen) != NULL;
    if (inet_pton(AF_INET6, v, bin) == 1)
        return inet_ntop(AF_INET6, bin, out, (socklen_t)outlen) != NULL;
    return false;
}

/* The client behind trusted proxies: walking the forwarding chain from the right, the first
 * hop that is not itself a trusted proxy. A hop that names no address ends the walk at the
 * last trusted one, so a client can never push its own claim past an honest proxy. */
static void forwarded_client(struct http_req *r) {
    bool forwarded = false;
    struct header_join j = {.name = "X-Forwarded-For"};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, join_header, &j);
    if (j.text[0] == '\0') {
        forwarded = true;
        j.name = "Forwarded";
        MHD_get_connection_values(r->conn, MHD_HEADER_KIND, join_header, &j);
    }
    if (j.text[0] == '\0' || j.overflow)
        return;
    for (;;) {
        char *comma = strrchr(j.text, ',');
        char *hop = comma != NULL ? comma + 1 : j.text;
        char ip[sizeof r->client_ip];
        if (!hop_address(hop, forwarded, ip, sizeof ip))
            return;
        snprintf(r->client_ip, sizeof r->client_ip, "%s", ip);
        if (comma == NULL || !cidr_list_match(&cfg.trusted_proxies, ip))
            return;
        *comma = '\0';
    }
}

/* The peer address of the connection, or, when the peer is a trusted proxy, the client it
 * forwards for. Throttling and the audit's client_ip use this. */
static void client_address(struct http_req *r) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    strcpy(r->client_ip, "unknown");
    if (ci == NULL || ci->client_addr == NULL)
        return;
    if (ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, r->client_ip,
                  sizeof r->client_ip);
    else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr,
                  r->client_ip, sizeof r->client_ip);
    if (cfg.trusted_proxies.n > 0 && cidr_list_match(&cfg.trusted_proxies, r->client_ip))
        forwarded_client(r);
}

static struct http_req *req_new(struct MHD_Connection *conn, const char *url, const char *method) {
    struct http_req *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->conn = conn;
    r->url = url;
    r->method = method;
    r->route_index = -1;
    r->started_us = util_mono_us();
    util_random_hex(r->own_request_id, 16);
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid != NULL && request_id_ok(rid))
        snprintf(r->request_id, sizeof r->request_id, "%s", rid);
    else
        strcpy(r->request_id, r->own_request_id);
    client_address(r);
    const char *proto = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
    r->secure = cfg.public_https || (proto != NULL && strcasecmp(proto, "https") == 0);
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    int64_t declared;
    if (cl != NULL && util_parse_int64(cl, 0, INT64_MAX, &declared) && declared > HTTP_MAX_BODY)
        r->body_too_large = true;
    atomic_fetch_add(&in_flight, 1);
    return r;
}

/* One policy for every reply, /docs included: Swagger UI, its viewer, needs no inline script or
 * style and nothing from another origin. */
static void add_security_headers(struct MHD_Response *resp, bool html, bool secure) {
    if (secure)
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cache-Control", html ? "no-cache" : "no-store");
    MHD_add_response_header(
        resp, "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'");
    MHD_add_response_header(resp, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
}

static enum MHD_Result send_reply(struct http_req *r) {
    struct MHD_Response *resp;
    if (r->stream != NULL) {
        resp = r->stream;
        r->stream = NULL;
    } else {
        if (r->status == 0) {
            log_error("handler %s %s sent no reply", r->method, r->url);
            http_problem(r, P_INTERNAL, "internal error; request id %s", r->request_id);
        }
        resp = MHD_create_response_from_buffer(r->resp_len, r->resp_body, MHD_RESPMEM_MUST_FREE);
        r->resp_body = NULL; /* now owned by resp */
    }
    if (r->content_type)
        MHD_add_response_header(resp, "Content-Type", r->content_type);
    add_security_headers(resp, r->content_type && strncmp(r->content_type, "text/html", 9) == 0,
                         r->secure);
    for (int i = 0; i < r->nheaders; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    enum MHD_Result ret = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ==== the worker pool ======================================================================
 *
 * The network threads (libmicrohttpd's, SUANLI_IO_THREADS) read a request, suspend its
 * connection and append it to one queue; SUANLI_THREADS workers, each with its own PostgreSQL
 * connection (db.c keeps it per thread), take the oldest, run the dispatcher and resume the
 * connection, whose network thread then sends the reply. One queue in arrival order is what
 * keeps the tail short: with a pool of network threads that also ran the handlers, a request
 * waited behind the other requests of whichever thread had accepted its connection, and the
 * kernel spreads connections over threads unevenly. The queue holds at most one request per
 * open connection (SUANLI_MAX_CONNECTIONS): a connection sends its next request only after
 * this one's reply. */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct http_req *head, *tail;
    int64_t length;
    bool stopping; /* http_stop: run the rest, queue nothing more */
    pthread_t *threads;
    int nthreads;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .ready = PTHREAD_COND_INITIALIZER};

static void serve(struct http_req *r) {
    log_set_request(r->own_request_id); /* every line logged for this request names it */
    dispatch(r);
    log_set_request(NULL);
}

/* Queues r and suspends its connection (from the access handler, as libmicrohttpd requires);
 * false once http_stop began, when the caller serves r itself. Suspending before queuing:
 * a worker may resume the connection before this handler returns, which libmicrohttpd allows. */
static bool pool_submit(struct http_req *r) {
    pthread_mutex_lock(&pool.lock);
    if (pool.stopping || pool.nthreads == 0) {
        pthread_mutex_unlock(&pool.lock);
        return false;
    }
    MHD_suspend_connection(r->conn);
    r->next_queued = NULL;
    r->queued_us = util_mono_us();
    if (pool.tail != NULL)
        pool.tail->next_queued = r;
    else
        pool.head = r;
    pool.tail = r;
    pool.length++;
    atomic_store(&queued_now, pool.length);
    pthread_cond_signal(&pool.ready);
    pthread_mutex_unlock(&pool.lock);
    return true;
}

static void *pool_worker(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        while (pool.head == NULL && !pool.stopping)
            pthread_cond_wait(&pool.ready, &pool.lock);
        struct http_req *r = pool.head;
        if (r == NULL) { /* stopping, and nothing left */
            pthread_mutex_unlock(&pool.lock);
            break;
        }
        pool.head = r->next_queued;
        if (pool.head == NULL)
            pool.tail = NULL;
        pool.length--;
        atomic_store(&queued_now, pool.length);
        pthread_mutex_unlock(&pool.lock);
        atomic_fetch_add(&queue_wait_us_total, (uint64_t)(util_mono_us() - r->queued_us));
        atomic_fetch_add(&queue_taken_total, 1);
        serve(r);
        struct MHD_Connection *conn = r->conn;
        atomic_store(&r->answered, true); /* r belongs to the network thread from here on */
        MHD_resume_connection(conn);
    }
    db_thread_cleanup();
    return NULL;
}

static int pool_start(int n) {
    pool.threads = calloc((size_t)n, sizeof *pool.threads);
    if (pool.threads == NULL)
        return -1;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&pool.threads[i], NULL, pool_worker, NULL) != 0) {
            log_error("cannot start worker thread %d of %d", i + 1, n);
            return -1;
        }
        pthread_mutex_lock(&pool.lock);
        pool.nthreads = i + 1;
        pthread_mutex_unlock(&pool.lock);
    }
    return 0;
}

/* Lets the workers run what is queued, then joins them. */
static void pool_stop(void) {
    pthread_mutex_lock(&pool.lock);
    pool.stopping = true;
    int n = pool.nthreads;
    pthread_cond_broadcast(&pool.ready);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < n; i++)
        pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    pool.nthreads = 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)cls;
    (void)version;
    struct http_req *r = *con_cls;
    if (r == NULL) {
        r = req_new(conn, url, method);
        if (r == NULL)
            return MHD_NO;
        *con_cls = r;
        /* A body announced as too large is answered at once, before it is read. */
        if (r->body_too_large) {
            http_problem(r, P_BODY_TOO_LARGE, "the body exceeds %d bytes", HTTP_MAX_BODY);
            return send_reply(r);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        /* Bytes beyond the cap are dropped: a chunked body cannot make us buffer more. */
        if (!r->body_too_large && r->body.len + *upload_data_size <= HTTP_MAX_BODY) {
            buf_put(&r->body, upload_data, *upload_data_size);
            if (r->body.oom)
                return MHD_NO;
        } else {
            r->body_too_large = true;
            buf_free(&r->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (atomic_load(&r->answered))
        return send_reply(r); /* a worker ran it and resumed the connection */
    if (r->status != 0 && r->body_too_large)
        return MHD_YES; /* already answered, before the body was read */
    if (pool_submit(r))
        return MHD_YES; /* suspended until a worker has run it */
    serve(r);           /* stopping: no workers left to queue for */
    return send_reply(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    struct http_req *r = *con_cls;
    if (r == NULL)
        return;
    int64_t us = util_mono_us() - r->started_us;
    metrics_observe(r->route_index, r->status, us);
    atomic_fetch_sub(&in_flight, 1);
    enum log_level level = r->status >= 500 ? LOG_WARN : LOG_INFO;
    if (!log_enabled(level)) { /* SUANLI_LOG_LEVEL=warn: no line to build */
        http_req_release(r);
        free(r);
        *con_cls = NULL;
        return;
    }
    /* The method and path are the client's bytes (%ff decodes to 0xff): scrubbed to UTF-8, or
     * json_pack would fail and the request would be missing from the log. */
    char method[32], *path = strdup(r->url);
    snprintf(method, sizeof method, "%s", r->method);
    util_utf8_scrub(method);
    if (path != NULL)
        util_utf8_scrub(path);
    json_t *line = json_pack("{s:s, s:s, s:s, s:i, s:f, s:s, s:s}", "msg", "request", "method",
                             method, "path", path ? path : "", "status", (int)r->status, "ms",
                             (double)us / 1000.0, "id", r->own_request_id, "client", r->client_ip);
    free(path);
    if (strcmp(r->request_id, r->own_request_id) != 0) /* the client's own, echoed to it */
        json_object_set_new(line, "client_request_id", json_string(r->request_id));
    if (r->who.authenticated)
        json_object_set_new(line, "user", json_string(r->who.user_id));
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        json_object_set_new(line, "aborted", json_integer(toe));
    log_json(level, line);
    http_req_release(r);
    free(r);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    log_warn("libmicrohttpd: %s", buf);
}

int http_start(const char *host, int port, const struct http_api *api) {
    served = api;
    metrics = calloc(served->nroutes + 1, sizeof *metrics);
    if (metrics == NULL)
        return -1;
    started_ms = util_now_ms();
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        log_error("SUANLI_LISTEN: '%s' is not an IP address", host);
        return -1;
    }
    if (pool_start((int)cfg.threads) != 0) {
        pool_stop();
        free(metrics);
        metrics = NULL;
        return -1;
    }
    daemon_handle = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        NULL, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg.io_threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg.per_ip_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg.connection_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg.connection_memory_kib * 1024,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
        MHD_OPTION_END);
    if (daemon_handle == NULL) {
        log_error("cannot listen on %s:%d", host, port);
        pool_stop();
        free(metrics);
        metrics = NULL;
        return -1;
    }
    return 0;
}

void http_stop(void) {
    pool_stop(); /* first: libmicrohttpd must not stop with a connection still suspended */
    if (daemon_handle != NULL)
        MHD_stop_daemon(daemon_handle);
    daemon_handle = NULL;
    free(metrics);
    metrics = NULL;
}
