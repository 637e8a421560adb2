/* harness.h — integration test support: fresh databases on the test PostgreSQL, real suanlid
 * processes, HTTP through libcurl, and fixtures built through the public API. */
#ifndef SUANLI_HARNESS_H
#define SUANLI_HARNESS_H

#include <check.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct th_server {
    pid_t pid;
    int port;
    char base[64];      /* http://127.0.0.1:port */
    char log[PATH_MAX]; /* its stderr */
    char dburl[512];    /* the superuser's: fixtures and tampering, and migrate (the owner) */
    char appurl[600];   /* the runtime role's (suanli_app), which the server serves as */
};

/* How a request authenticates: an API key, or a session cookie with its CSRF token. */
struct th_auth {
    char key[128];
    char cookie[128];
    char csrf[128];
    char user_id[40];
    char org_id[40];
};

struct th_resp {
    long status;
    char *body;
    json_t *json;  /* parsed body, NULL if not JSON */
    char *headers; /* raw header block */
};

/* A new empty database on the test cluster (SUANLI_TEST_PG); its conninfo, malloc'd. */
char *th_db_create(const char *label);
/* Runs one SQL statement as superuser on dburl; returns the first value (malloc'd) or NULL. */
char *th_sql(const char *dburl, const char *sql);

/* Starts build/test/suanlid serve --migrate against dburl (NULL: embedded); extra_env "K=V"
 * entries, NULL-ended. It migrates as dburl's user (SUANLI_MIGRATE_URL) and serves as the
 * runtime role suanli_app (DATABASE_URL = appurl), as a deployment does. Waits until /healthz
 * answers; fails the test if it does not within 90 s. */
void th_server_start(struct th_server *s, const char *dburl, const char *const *extra_env);
/* SIGTERM, wait, return the exit status (0 = clean, no leaks under LeakSanitizer). */
int th_server_stop(struct th_server *s);
/* Kills with SIGKILL (fault tests). */
void th_server_kill(struct th_server *s);

/* How long a request waits for its answer (60 s): a guard against a hung server, not a
 * measure of speed. A case whose request is long by design (a 10 000-voucher batch, which the
 * server itself allows its request timeout plus 3 ms a voucher in SQL, then signs) raises it
 * for that request, so that a loaded machine does not pass for a transport failure. */
extern long th_answer_timeout_s;

/* One HTTP request. body may be NULL; extra headers "Name: value", NULL-ended, may be NULL.
 * A request that gets no HTTP answer (connection refused or reset, timeout) fails the test:
 * no assertion can mistake a transport failure for an answer. */
struct th_resp th_req(const struct th_server *s, const char *method, const char *path,
                      const struct th_auth *auth, const char *body, const char *const *headers);
/* Raw-body request (content type given, size given), for oversized and odd bodies. */
struct th_resp th_req_raw(const struct th_server *s, const char *method, const char *path,
                          const struct th_auth *auth, const char *ctype, const char *body,
                          size_t len, const char *const *headers);
void th_resp_free(struct th_resp *r);
/* The value of a response header (case-insensitive), malloc'd, or NULL. */
char *th_header(const struct th_resp *r, const char *name);
/* String member of the JSON body (dotted path "user.id"), or NULL. */
const char *th_str(const struct th_resp *r, const char *path);
long long th_int(const struct th_resp *r, const char *path);

/* The value of series (a name with its labels, e.g. suanli_group_commits_total or
 * suanli_http_one_trip_total{outcome="answered"}) in s's /metrics; fails the test if absent. */
long long th_metric(const struct th_server *s, const char *series);

/* Asserts status, application/problem+json, type "/problems/<slug>" and a detail. */
void th_assert_problem(const struct th_resp *r, long status, const char *slug);
#define th_assert_status(r, st)                                                                    \
    ck_assert_msg((r)->status == (st), "expected HTTP %d, got %ld: %s", (int)(st), (r)->status,    \
                  (r)->body ? (r)->body : "")

/* Fixtures through the API. The operator is bootstrapped with `suanlid create-user`. */
void th_operator(const struct th_server *s, struct th_auth *op);
/* Signs in with email/password: fills cookie, csrf, user_id, org_id. Returns the status. */
long th_login(const struct th_server *s, const char *email, const char *password,
              struct th_auth *a);
/* Creates an organization; returns its id (static buffer per call site is not used: malloc'd). */
char *th_org(const struct th_server *s, const struct th_auth *by, const char *type,
             const char *name, const char *city_id);
/* Creates a user of role in org with a password, signs in and creates an API key for it. */
void th_user(const struct th_server *s, const struct th_auth *by, const char *role,
             const char *org_id, const char *email, struct th_auth *out);

/* Runs fn(i, ctx) on n threads at once (released together) and joins them. */
void th_parallel(int n, void (*fn)(int i, void *ctx), void *ctx);

/* Paths of the binaries under test. */
const char *th_suanlid(void);

/* Waits until ready(ctx) holds, asking every step_ms, for at most timeout_ms; true if it
 * did. Every wait for something (a server up, a sealer round, the clock passing a moment) is
 * this poll with a deadline, never a fixed sleep. */
bool th_wait_until(bool (*ready)(void *ctx), void *ctx, long timeout_ms, long step_ms);
/* Waits until the database's clock (now()) is past the RFC 3339 moment at, for at most
 * timeout_ms; fails the test if it is not. */
void th_wait_past(const char *dburl, const char *at, long timeout_ms);

/* Waits until the SQL query's first value (as text) is want, for at most timeout_ms; true if
 * it became so. */
bool th_sql_wait(const char *dburl, const char *sql, const char *want, long timeout_ms);

/* Test cases. Each test function is its own test case, named after it, so that one can run
 * alone (CK_RUN_CASE, `make test ONLY=check_x CASE=<name>`). Suites whose cases share one
 * world register it with th_shared: up builds it the first time a case runs, down (after the
 * last) stops it and returns 0 if every server exited cleanly. setup and teardown (may be
 * NULL) run around each test in its own process. */
void th_shared(void (*up)(void), int (*down)(void));
void th_case(Suite *s, const TTest *test, int timeout, void (*setup)(void), void (*teardown)(void));

/* A Check runner main for suites built by make_suite; stops the shared world after the run. */
int th_run(Suite *s);

#endif
