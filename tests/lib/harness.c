/* harness.c — see harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *th_suanlid(void) {
    const char *b = getenv("SUANLI_TEST_BIN");
    return b ? b : "build/test/suanlid";
}

/* ==== databases =========================================================================== */

static PGconn *admin_connect(const char *conninfo) {
    PGconn *pg = PQconnectdb(conninfo);
    ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "cannot connect to the test database (%s): %s",
                  conninfo, PQerrorMessage(pg));
    return pg;
}

char *th_db_create(const char *label) {
    const char *base = getenv("SUANLI_TEST_PG");
    ck_assert_msg(base != NULL, "SUANLI_TEST_PG is not set (run the tests through make test)");
    char admin[512], name[96], sql[160], *url;
    snprintf(admin, sizeof admin, "%s dbname=postgres", base);
    snprintf(name, sizeof name, "t_%s_%d_%ld", label, (int)getpid(), (long)(time(NULL) % 100000));
    PGconn *pg = admin_connect(admin);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    PGresult *r = PQexec(pg, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "CREATE DATABASE: %s", PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
    ck_assert(asprintf(&url, "%s dbname=%s", base, name) > 0);
    return url;
}

char *th_sql(const char *dburl, const char *sql) {
    PGconn *pg = admin_connect(dburl);
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    ck_assert_msg(st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK, "SQL %s: %s", sql,
                  PQerrorMessage(pg));
    char *v = NULL;
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(pg);
    return v;
}

/* ==== servers ============================================================================= */

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static bool healthy(const struct th_server *s) {
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "%s/healthz", s->base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return rc == CURLE_OK && status == 200;
}

/* A server that is starting: healthy, or exited (which fails the test at once). */
struct starting {
    struct th_server *s;
    int status;
};

static bool up_or_gone(void *ctx) {
    struct starting *st = ctx;
    if (waitpid(st->s->pid, &st->status, WNOHANG) == st->s->pid) {
        st->s->pid = 0;
        ck_abort_msg("suanlid exited during start (status %d); see %s", st->status, st->s->log);
    }
    return healthy(st->s);
}

void th_server_start(struct th_server *s, const char *dburl, const char *const *extra_env) {
    memset(s, 0, sizeof *s);
    s->port = free_port();
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    snprintf(s->dburl, sizeof s->dburl, "%s", dburl ? dburl : "");
    /* in a conninfo string the last user= wins (and the last host= and port=: with
     * SUANLI_TEST_POOLER, tests/pgbouncer, the runtime role goes through PgBouncer) */
    const char *pooler = dburl ? getenv("SUANLI_TEST_POOLER") : NULL;
    snprintf(s->appurl, sizeof s->appurl, "%s%s%s%s", dburl ? dburl : "",
             dburl ? " user=suanli_app" : "", pooler ? " " : "", pooler ? pooler : "");
    const char *logdir = getenv("SUANLI_TEST_LOGS");
    snprintf(s->log, sizeof s->log, "%s/suanlid-%d.log", logdir ? logdir : "/tmp", s->port);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        char listen[64];
        snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
        setenv("SUANLI_LISTEN", listen, 1);
        if (dburl) {
            setenv("DATABASE_URL", s->appurl, 1);
            setenv("SUANLI_MIGRATE_URL", dburl, 1);
        } else {
            unsetenv("DATABASE_URL");
            unsetenv("SUANLI_MIGRATE_URL");
        }
        unsetenv("SUANLI_DB_RUNTIME_ROLE");
        /* the server itself is checked for leaks: it must exit 0 */
        setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0", 1);
        if (getenv("SUANLI_THREADS") == NULL)
            setenv("SUANLI_THREADS", "4", 1);
        for (const char *const *e = extra_env; e && *e; e++)
            putenv(strdup(*e));
        FILE *f = freopen(s->log, "a", stderr);
        (void)f;
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        execl(th_suanlid(), "suanlid", "serve", "--migrate", (char *)NULL);
        perror("exec suanlid");
        _exit(127);
    }
    s->pid = pid;
    /* generous: a first start may run initdb, and the machine is shared */
    struct starting st = {s, -1};
    if (th_wait_until(up_or_gone, &st, 90000, 100))
        return;
    ck_abort_msg("suanlid did not become healthy within 90 s; see %s", s->log);
}

struct stopping {
    pid_t pid;
    int status;
};

static bool exited_now(void *ctx) {
    struct stopping *st = ctx;
    return waitpid(st->pid, &st->status, WNOHANG) == st->pid;
}

int th_server_stop(struct th_server *s) {
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    struct stopping st = {s->pid, 0};
    bool exited = th_wait_until(exited_now, &st, 30000, 50);
    if (!exited) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &st.status, 0);
    }
    s->pid = 0;
    if (!exited)
        return -2;
    return WIFEXITED(st.status) ? WEXITSTATUS(st.status) : 128 + WTERMSIG(st.status);
}

void th_server_kill(struct th_server *s) {
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    int status;
    waitpid(s->pid, &status, 0);
    s->pid = 0;
}

/* ==== HTTP ================================================================================ */

struct buf {
    char *data;
    size_t len;
};

static size_t collect(char *ptr, size_t size, size_t n, void *ud) {
    struct buf *b = ud;
    size_t add = size * n;
    char *nd = realloc(b->data, b->len + add + 1);
    if (nd == NULL)
        return 0;
    b->data = nd;
    memcpy(b->data + b->len, ptr, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

long th_answer_timeout_s = 60;

static void record(const char *method, const char *path, const struct th_resp *r);

/* One request; status is -(CURLcode) when no HTTP answer came. */
static struct th_resp request(const struct th_server *s, const char *method, const char *path,
                              const struct th_auth *auth, const char *ctype, const char *body,
                              size_t len, const char *const *headers) {
    struct th_resp out = {0};
    struct buf b = {0}, h = {0};
    CURL *c = curl_easy_init();
    char url[2048], line[512];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, th_answer_timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    struct curl_slist *hl = NULL;
    hl = curl_slist_append(hl, "Expect:");
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        hl = curl_slist_append(hl, line);
    }
    if (auth != NULL && auth->key[0]) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", auth->key);
        hl = curl_slist_append(hl, line);
    } else if (auth != NULL && auth->cookie[0]) {
        snprintf(line, sizeof line, "Cookie: suanli_session=%s", auth->cookie);
        hl = curl_slist_append(hl, line);
        if (auth->csrf[0]) {
            snprintf(line, sizeof line, "X-CSRF-Token: %s", auth->csrf);
            hl = curl_slist_append(hl, line);
        }
    }
    for (const char *const *x = headers; x && *x; x++)
        hl = curl_slist_append(hl, *x);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
    else
        out.status = -(long)rc;
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    out.body = b.data ? b.data : strdup("");
    out.headers = h.data ? h.data : strdup("");
    out.json = json_loads(out.body, JSON_DECODE_ANY, NULL);
    record(method, path, &out);
    return out;
}

struct th_resp th_req_raw(const struct th_server *s, const char *method, const char *path,
                          const struct th_auth *auth, const char *ctype, const char *body,
                          size_t len, const char *const *headers) {
    struct th_resp r = request(s, method, path, auth, ctype, body, len, headers);
    ck_assert_msg(r.status >= 100 && r.status <= 599, "%s %s%s: no HTTP answer (%s)", method,
                  s->base, path,
                  r.status < 0 ? curl_easy_strerror((CURLcode)-r.status) : "no status line");
    return r;
}

struct th_resp th_req(const struct th_server *s, const char *method, const char *path,
                      const struct th_auth *auth, const char *body, const char *const *headers) {
    return th_req_raw(s, method, path, auth, "application/json", body, body ? strlen(body) : 0,
                      headers);
}

/* Every response the integration suites receive is appended to SUANLI_TEST_RESPONSES (JSON
 * Lines) so that tests/contract/validate.mjs can check each against openapi.yaml. */
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;

static void record(const char *method, const char *path, const struct th_resp *r) {
    const char *file = getenv("SUANLI_TEST_RESPONSES");
    if (file == NULL || r->status <= 0)
        return;
    char *ct = th_header(r, "Content-Type");
    json_t *line =
        json_pack("{s:s, s:s%, s:i, s:s}", "method", method, "path", path, strcspn(path, "?"),
                  "status", (int)r->status, "content_type", ct ? ct : "");
    const char *q = strchr(path, '?');
    if (q)
        json_object_set_new(line, "query", json_string(q + 1));
    if (r->json)
        json_object_set(line, "body", r->json);
    else
        json_object_set_new(line, "text", json_string(r->body));
    free(ct);
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (text == NULL)
        return;
    pthread_mutex_lock(&record_lock);
    FILE *f = fopen(file, "a");
    if (f) {
        fprintf(f, "%s\n", text);
        fclose(f);
    }
    pthread_mutex_unlock(&record_lock);
    free(text);
}

void th_resp_free(struct th_resp *r) {
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

char *th_header(const struct th_resp *r, const char *name) {
    size_t n = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            return strndup(v, len - (size_t)(v - p));
        }
        if (eol == NULL)
            break;
        p = eol + 2;
    }
    return NULL;
}

static json_t *lookup(const struct th_resp *r, const char *path) {
    json_t *cur = r->json;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *part = strtok_r(buf, ".", &save); part && cur; part = strtok_r(NULL, ".", &save)) {
        if (json_is_array(cur))
            cur = json_array_get(cur, (size_t)atoi(part));
        else
            cur = json_object_get(cur, part);
    }
    return cur;
}

const char *th_str(const struct th_resp *r, const char *path) {
    return json_string_value(lookup(r, path));
}

long long th_int(const struct th_resp *r, const char *path) {
    json_t *v = lookup(r, path);
    ck_assert_msg(json_is_integer(v), "%s is not an integer in %s", path, r->body);
    return json_integer_value(v);
}

long long th_metric(const struct th_server *s, const char *series) {
    struct th_resp r = th_req(s, "GET", "/metrics", NULL, NULL, NULL);
    th_assert_status(&r, 200);
    char line[256];
    snprintf(line, sizeof line, "\n%s ", series);
    const char *at = strstr(r.body, line);
    ck_assert_msg(at != NULL, "/metrics has no %s: %s", series, r.body);
    long long v = atoll(at + strlen(line));
    th_resp_free(&r);
    return v;
}

void th_assert_problem(const struct th_resp *r, long status, const char *slug) {
    ck_assert_msg(r->status == status, "expected HTTP %ld (%s), got %ld: %s", status, slug,
                  r->status, r->body);
    char *ct = th_header(r, "Content-Type");
    ck_assert_msg(ct && strcmp(ct, "application/problem+json") == 0, "problem content type: %s",
                  ct ? ct : "(none)");
    free(ct);
    char type[128];
    snprintf(type, sizeof type, "/problems/%s", slug);
    ck_assert_msg(th_str(r, "type") && strcmp(th_str(r, "type"), type) == 0,
                  "expected type %s in %s", type, r->body);
    ck_assert_msg(th_str(r, "detail") && strlen(th_str(r, "detail")) > 0, "no detail: %s", r->body);
    ck_assert_int_eq(th_int(r, "status"), status);
}

/* ==== fixtures ============================================================================ */

long th_login(const struct th_server *s, const char *email, const char *password,
              struct th_auth *a) {
    char body[512];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    struct th_resp r = th_req(s, "POST", "/v1/sessions", NULL, body, NULL);
    long st = r.status;
    if (st == 201) {
        memset(a, 0, sizeof *a);
        char *cookie = th_header(&r, "Set-Cookie");
        ck_assert(cookie != NULL);
        const char *eq = strchr(cookie, '=');
        const char *semi = strchr(cookie, ';');
        snprintf(a->cookie, sizeof a->cookie, "%.*s", (int)(semi - eq - 1), eq + 1);
        free(cookie);
        snprintf(a->csrf, sizeof a->csrf, "%s", th_str(&r, "csrf_token"));
        snprintf(a->user_id, sizeof a->user_id, "%s", th_str(&r, "user.id"));
        snprintf(a->org_id, sizeof a->org_id, "%s", th_str(&r, "user.organization_id"));
    }
    th_resp_free(&r);
    return st;
}

static void add_api_key(const struct th_server *s, struct th_auth *a) {
    struct th_resp r = th_req(s, "POST", "/v1/api-keys", a, "{\"name\":\"tests\"}", NULL);
    th_assert_status(&r, 201);
    snprintf(a->key, sizeof a->key, "%s", th_str(&r, "key"));
    th_resp_free(&r);
}

void th_operator(const struct th_server *s, struct th_auth *op) {
    static int counter;
    char email[128], cmd[1024];
    snprintf(email, sizeof email, "op%d-%d@suanli.test", (int)getpid(), ++counter);
    snprintf(cmd, sizeof cmd,
             "SUANLI_PASSWORD=operator-password DATABASE_URL='%s' %s create-user --email %s "
             ">/dev/null 2>>%s",
             s->dburl, th_suanlid(), email, s->log);
    ck_assert_msg(system(cmd) == 0, "suanlid create-user failed; see %s", s->log);
    ck_assert_int_eq(th_login(s, email, "operator-password", op), 201);
    add_api_key(s, op);
}

char *th_org(const struct th_server *s, const struct th_auth *by, const char *type,
             const char *name, const char *city_id) {
    char body[512];
    if (city_id)
        snprintf(body, sizeof body, "{\"type\":\"%s\",\"name\":\"%s\",\"city_id\":\"%s\"}", type,
                 name, city_id);
    else
        snprintf(body, sizeof body, "{\"type\":\"%s\",\"name\":\"%s\"}", type, name);
    struct th_resp r = th_req(s, "POST", "/v1/organizations", by, body, NULL);
    th_assert_status(&r, 201);
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    return id;
}

void th_user(const struct th_server *s, const struct th_auth *by, const char *role,
             const char *org_id, const char *email, struct th_auth *out) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"email\":\"%s\",\"password\":\"password-%s\",\"role\":\"%s\","
             "\"organization_id\":\"%s\"}",
             email, role, role, org_id);
    struct th_resp r = th_req(s, "POST", "/v1/users", by, body, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    char pw[64];
    snprintf(pw, sizeof pw, "password-%s", role);
    ck_assert_int_eq(th_login(s, email, pw, out), 201);
    add_api_key(s, out);
}

/* ==== concurrency ========================================================================= */

struct par {
    void (*fn)(int, void *);
    void *ctx;
    int i;
    pthread_barrier_t *barrier;
};

static void *par_main(void *arg) {
    struct par *p = arg;
    pthread_barrier_wait(p->barrier);
    p->fn(p->i, p->ctx);
    return NULL;
}

void th_parallel(int n, void (*fn)(int i, void *ctx), void *ctx) {
    pthread_t *t = calloc((size_t)n, sizeof *t);
    struct par *p = calloc((size_t)n, sizeof *p);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        p[i] = (struct par){fn, ctx, i, &barrier};
        ck_assert(pthread_create(&t[i], NULL, par_main, &p[i]) == 0);
    }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&barrier);
    free(t);
    free(p);
}

/* ==== waiting ============================================================================= */

bool th_wait_until(bool (*ready)(void *ctx), void *ctx, long timeout_ms, long step_ms) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (ready(ctx))
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= timeout_ms)
            return false;
        struct timespec step = {step_ms / 1000, (step_ms % 1000) * 1000000};
        nanosleep(&step, NULL);
    }
}

struct past {
    const char *dburl;
    char sql[160];
};

static bool clock_past(void *ctx) {
    struct past *p = ctx;
    char *v = th_sql(p->dburl, p->sql);
    bool past = v && strcmp(v, "t") == 0;
    free(v);
    return past;
}

void th_wait_past(const char *dburl, const char *at, long timeout_ms) {
    struct past p = {dburl, ""};
    snprintf(p.sql, sizeof p.sql, "SELECT clock_timestamp() > '%s'::timestamptz", at);
    ck_assert_msg(th_wait_until(clock_past, &p, timeout_ms, 50),
                  "the database clock did not pass %s within %ld ms", at, timeout_ms);
}

struct sql_want {
    const char *dburl, *sql, *want;
};

static bool sql_is(void *ctx) {
    struct sql_want *q = ctx;
    char *v = th_sql(q->dburl, q->sql);
    bool is = v && strcmp(v, q->want) == 0;
    free(v);
    return is;
}

bool th_sql_wait(const char *dburl, const char *sql, const char *want, long timeout_ms) {
    struct sql_want q = {dburl, sql, want};
    return th_wait_until(sql_is, &q, timeout_ms, 50);
}

/* ==== test cases and the run ============================================================== */

static void (*shared_up)(void);
static int (*shared_down)(void);
static bool shared_tried, shared_built;

void th_shared(void (*up)(void), int (*down)(void)) {
    shared_up = up;
    shared_down = down;
}

/* The unchecked fixture of every case of a suite with a shared world: builds it once, in the
 * runner's process, the first time a case runs. */
static void shared_fixture(void) {
    if (shared_built)
        return;
    ck_assert_msg(!shared_tried, "the suite's world could not be built (see the first case)");
    shared_tried = true;
    shared_up();
    shared_built = true;
}

void th_case(Suite *s, const TTest *test, int timeout, void (*setup)(void),
             void (*teardown)(void)) {
    TCase *tc = tcase_create(test->name);
    if (shared_up)
        tcase_add_unchecked_fixture(tc, shared_fixture, NULL);
    if (setup || teardown)
        tcase_add_checked_fixture(tc, setup, teardown);
    if (timeout > 0)
        tcase_set_timeout(tc, timeout);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

int th_run(Suite *s) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    if (shared_tried && shared_down && shared_down() != 0) {
        /* run-all counts a suite that exits non-zero with no failed case as broken */
        fprintf(stderr, "the suite's servers did not exit cleanly (leaks?): see %s\n",
                getenv("SUANLI_TEST_LOGS") ? getenv("SUANLI_TEST_LOGS") : "their logs");
        failed++;
    }
    srunner_free(sr);
    curl_global_cleanup();
    return failed == 0 ? 0 : 1;
}
