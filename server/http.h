/* http.h — the libmicrohttpd glue: route table, per-request context, limits, problem replies,
 * authentication and idempotency. Handlers see only struct http_req and the helpers below. */
#ifndef SUANLI_HTTP_H
#define SUANLI_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "util.h"

#define HTTP_MAX_BODY (1024 * 1024)
/* A problem lists at most this many field errors (the first ones found): a 1 MiB body of
 * unknown keys must not become a 1 MiB answer. */
#define HTTP_MAX_ERRORS 20
#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_JSON_DEPTH 32
#define HTTP_MAX_HEADERS 12

/* Roles, as bits so that a route names every role it admits. */
enum role {
    ROLE_OPERATOR = 1 << 0,
    ROLE_CITY_ADMIN = 1 << 1,
    ROLE_AUDITOR = 1 << 2,
    ROLE_PROVIDER = 1 << 3,
    ROLE_INSTITUTE = 1 << 4,
};
#define ROLES_PUBLIC 0u
#define ROLES_ANY 0x1fu

const char *role_name(enum role r);
int role_parse(const char *s); /* -1 if unknown */

/* Every kind of error has one entry: its status, a stable type slug and a title. */
enum problem {
#define PROBLEM(id, status, slug, title) id,
#include "problems.def"
#undef PROBLEM
    PROBLEM_COUNT
};

/* The authenticated caller. */
struct principal {
    bool authenticated;
    bool via_cookie;
    enum role role;
    char user_id[UUID_STR_LEN];
    char org_id[UUID_STR_LEN];
    char city_id[UUID_STR_LEN]; /* the organisation's city; "" for operator and national auditors */
    char session_id[UUID_STR_LEN];
    char api_key_id[UUID_STR_LEN];
    char csrf_hash[65]; /* of the session, compared in constant time */
};

struct http_req;
typedef void (*http_handler)(struct http_req *r);

enum route_flags {
    RF_IDEMPOTENT = 1 << 0, /* honours Idempotency-Key */
    RF_NO_CSRF = 1 << 1,    /* may be called with a cookie without X-CSRF-Token (login) */
    /* The handler is offered the request first, before authentication, with r->one_trip set:
     * it may answer the plain case in one statement that authenticates (auth_lookup_args),
     * claims the Idempotency-Key (http_idem_args) and changes, setting r->one_trip_done;
     * otherwise its reply is dropped and the request takes the usual path, where the handler
     * runs again (authenticated, inside the idempotency transaction when a key was sent). */
    RF_ONE_TRIP = 1 << 2,
};

struct route {
    const char *method;
    const char *pattern; /* "/v1/offers/{id}"; a {param} segment must be a UUID */
    http_handler handler;
    unsigned roles; /* ROLES_PUBLIC, or the roles admitted */
    unsigned flags;
    const char *summary; /* one line, for the route listing */
};

/* What the server serves, given by its caller (server/main.c passes api/'s table): the routes,
 * and the handler of a GET outside /v1/ that no route matches (the static web UI), or NULL. */
struct http_api {
    const struct route *routes;
    size_t nroutes;
    http_handler fallback;
};

/* Frees what a request owns (http_req_own). */
typedef void (*http_free_fn)(void *p);
struct http_owned {
    void *p;
    http_free_fn free_fn;
};

/* Fills buf with up to max bytes of a streamed reply: the count, 0 at the end, -1 on error. */
typedef ssize_t (*http_stream_fill)(void *cls, char *buf, size_t max);

struct http_header {
    char *name;
    char *value;
};

/* Per-request context: allocated on the first call of the access handler, freed in the
 * completion callback, owned by the dispatcher. Handlers only fill the response part. */
struct http_req {
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    const struct route *route;
    int route_index;               /* index in the route table, -1 when none matched */
    char *params[HTTP_MAX_PARAMS]; /* path parameters in pattern order */
    struct buf body; /* as received: body.p NULL when there is none, else NUL-terminated */
    bool body_too_large;
    json_t *json; /* the parsed body, once http_body_object succeeded */
    struct principal who;
    char request_id[65];     /* echoed in X-Request-Id: the client's token if safe, else own_id */
    char own_request_id[33]; /* always the server's own; what audit rows and log lines carry */
    char client_ip[64];
    bool secure; /* served over https: SUANLI_PUBLIC_URL is https, or X-Forwarded-Proto: https */
    int64_t started_us;
    bool retry;               /* a handler saw DB_RETRY inside the idempotency transaction */
    bool one_trip;            /* RF_ONE_TRIP: the handler's first call, before authentication */
    bool one_trip_done;       /* ... and it answered the request */
    struct http_owned *owned; /* freed with the request (http_req_own) */
    size_t nowned, cap_owned;

    /* the response */
    unsigned status;
    char *resp_body; /* malloc'd */
    size_t resp_len;
    const char *content_type;
    struct http_header headers[HTTP_MAX_HEADERS];
    int nheaders;
    void *stream; /* the struct MHD_Response * of http_reply_stream; replaces resp_body */

    /* the worker pool (http.c): a received request waits in one queue, oldest first */
    struct http_req *next_queued;
    int64_t queued_us;
    _Atomic bool answered; /* a worker ran it; the network thread sends the reply */
};

/* --- server lifecycle --------------------------------------------------------------------- */

/* Starts libmicrohttpd on host:port serving api (kept by reference): SUANLI_IO_THREADS network
 * threads read requests and write replies; a received request is suspended and queued, and
 * SUANLI_THREADS workers, each with its own PostgreSQL connection, run the queue oldest first
 * (fair between connections: no request waits behind another connection's requests for long).
 * 0 on success. http_stop lets the workers finish the queue, then stops libmicrohttpd. */
int http_start(const char *host, int port, const struct http_api *api);
void http_stop(void);

/* --- what a request owns ------------------------------------------------------------------ */

/* Hands p to the request: free_fn(p) runs when the request completes (whatever the reply), so
 * that a handler allocates per request without pairing a free on every path. Returns p; when
 * p is NULL, or the list cannot grow (p is then freed at once), returns NULL. */
void *http_req_own(struct http_req *r, void *p, http_free_fn free_fn);
/* The same for malloc'd memory (a string from json_dumps and the like). */
char *http_req_own_str(struct http_req *r, char *s);
/* Frees everything the request holds; called by the completion callback (and the fuzzer). */
void http_req_release(struct http_req *r);

/* --- request accessors -------------------------------------------------------------------- */

const char *http_header(struct http_req *r, const char *name);
const char *http_query(struct http_req *r, const char *name);
/* The first query parameter for which known(cls, name) is false, or NULL (see query.h, which
 * decodes query strings). */
const char *http_query_unknown(struct http_req *r, bool (*known)(void *cls, const char *name),
                               void *cls);
/* Reads If-Match, a strong ETag "<version>" of the object named what ("offer"), into version.
 * Absent: version is "" and the answer true, unless required (then 428). Any other value can
 * never match the current version and answers 412, as a stale one would. */
bool http_if_match(struct http_req *r, const char *what, bool required, char version[16]);

/* Parses the body as one JSON object (depth and size bounded). On failure replies 400/415 and
 * returns NULL; the object belongs to the request. */
json_t *http_body_object(struct http_req *r);

/* --- replies ------------------------------------------------------------------------------ */

void http_reply_json(struct http_req *r, unsigned status, json_t *body); /* steals body */
/* Replies with a JSON text (e.g. built by PostgreSQL) as it is; copies it. */
void http_reply_raw(struct http_req *r, unsigned status, const char *ctype, const char *text,
                    size_t len);
/* The same with a malloc'd text, which the request takes instead of copying. */
void http_reply_take(struct http_req *r, unsigned status, const char *ctype, char *text,
                     size_t len);
void http_reply_empty(struct http_req *r, unsigned status);
void http_add_header(struct http_req *r, const char *name, const char *value);
/* Streams the reply: fill(cls, …) is called until it ends; done(cls) runs afterwards in any
 * case, also when this fails (false, after replying 500). */
bool http_reply_stream(struct http_req *r, unsigned status, const char *ctype,
                       http_stream_fill fill, void (*done)(void *cls), void *cls);

/* Replies with the problem's status, type and title, and a printf-style detail. */
void http_problem(struct http_req *r, enum problem p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with an "errors" array of {field, message}; steals errors. */
void http_problem_errors(struct http_req *r, enum problem p, json_t *errors, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Appends {field, message} to an errors array. */
void http_error_add(json_t *errors, const char *field, const char *message);
/* The one way to answer a list of errors: true (and errors freed) when errors is NULL or
 * empty; else replies problem p with errors (stolen) and the first one as detail, false. */
bool http_errors_ok(struct http_req *r, enum problem p, json_t *errors);
/* Replies problem p with one error {field, message}, detail "<field> <message>". */
void http_problem_field(struct http_req *r, enum problem p, const char *field, const char *message);
/* For a one-round-trip handler (RF_ONE_TRIP): the request's Idempotency-Key (*key NULL when it
 * sent none) and the hash of the request it stands for. False when the key is invalid (the
 * usual path answers 400). */
bool http_idem_args(struct http_req *r, const char **key, char request_hash_out[65]);

/* Replies for a failed db_exec status (503, 409, domain problem from SQL, 500). */
void http_db_fail(struct http_req *r, int db_status);

/* Looks up a problem by its slug (as raised by SQL functions); PROBLEM_COUNT if unknown. */
enum problem problem_by_slug(const char *slug);
unsigned problem_status(enum problem p);
const char *problem_slug(enum problem p);

/* --- metrics ------------------------------------------------------------------------------ */

/* Appends the Prometheus exposition of the HTTP, database and process metrics to out. */
void http_metrics_render(struct buf *out);

#endif
