/* fuzz_endpoints — every route of api_routes[] that takes a JSON body (POST, PUT, PATCH), through
 * its own handler: the decoding of its own field spec and every check the handler makes before
 * its one database call (times, accelerator names, voucher arrays, tokens, batches, …).
 *
 * Why the real handlers in-process, and not a decode function split out of each handler for
 * the fuzzer: the handlers stay as they are, reading like their endpoint's documentation, and
 * the fuzzer runs exactly the code a request runs, with nothing to keep in step. A handler
 * needs little from outside:
 *  - the request context, built here as the dispatcher fills it after authentication, with a
 *    fixed caller of a role the route admits (server/http.c: dispatch, req_new, on_request);
 *  - its headers (Content-Type, If-Match), read through libmicrohttpd's connection-value
 *    lookup: this file defines those two functions over a fake connection, and the linker binds
 *    the server objects to them rather than to the library's;
 *  - the database, which this target's link replaces by tests/fuzz/db_stub.c: every statement
 *    answers "unavailable" at once, so a handler that got past its checks replies 503 and what
 *    comes after the database does not run;
 *  - the password hash of POST /v1/users, libsodium's Argon2id (~0.3 s and 64 MiB a call), which
 *    this file replaces by a cheap one: it is not decoding, and each valid body would otherwise
 *    cost as much as thousands of others.
 *
 * Input: "<METHOD> <pattern>\n<body>", the first line naming a route as api_routes[] spells it,
 * so that seeds and crash files are readable and keep their meaning when routes are added. A
 * first line that names no body-taking route picks one by the input's first byte (and the body
 * is what follows the line), so that every input is spent on some endpoint.
 *
 * A new endpoint cannot escape: the routes come from api_routes[] itself, and at start the
 * target aborts unless every body-taking route answers an unknown field with 400
 * validation-failed naming it (so its handler reached its own jf_decode_body under this
 * harness), and, when SUANLI_FUZZ_SEEDS names the seed directory (tests/fuzz/check-fuzz sets
 * it), unless every such route has a seed there.
 *
 * Every reply is checked: there is one, it is not a 500, JSON replies parse, a problem carries
 * its type and status, and a 400 for a bad field or parameter lists {field, message} errors.
 * And a body that reached the database (503) holds no key that no field spec could declare:
 * every field name of the API is snake_case ASCII, so any other key got past a handler's
 * refusal of unknown fields (mass assignment). */
#include "api.h"

#include "auth.h"
#include "config.h"
#include "keys.h"
#include "log.h"

#include <dirent.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_ID "0193a1b2-7c4e-7d21-9a4b-3f1e2d5c6b7a"
#define FUZZ_MAX_ROUTES 64

/* ==== the connection: fixed request headers =============================================== */

/* Every request carries these; a write has no query string (the dispatcher refuses one). */
static const char *const request_headers[][2] = {
    {"Content-Type", "application/json"},
    {"If-Match", "\"1\""},
};

struct MHD_Connection {
    int unused;
};

static struct MHD_Connection connection;

const char *MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind,
                                        const char *key) {
    (void)c;
    if (kind != MHD_HEADER_KIND)
        return NULL;
    for (size_t i = 0; i < sizeof request_headers / sizeof request_headers[0]; i++)
        if (strcasecmp(request_headers[i][0], key) == 0)
            return request_headers[i][1];
    return NULL;
}

int MHD_get_connection_values(struct MHD_Connection *c, enum MHD_ValueKind kind,
                              MHD_KeyValueIterator iterator, void *iterator_cls) {
    (void)c;
    int n = 0;
    if (kind != MHD_HEADER_KIND)
        return 0;
    for (size_t i = 0; i < sizeof request_headers / sizeof request_headers[0]; i++) {
        n++;
        if (iterator != NULL &&
            iterator(iterator_cls, kind, request_headers[i][0], request_headers[i][1]) != MHD_YES)
            break;
    }
    return n;
}

/* ==== the password hash =================================================================== */

int crypto_pwhash_str(char out[crypto_pwhash_STRBYTES], const char *const passwd,
                      unsigned long long passwdlen, unsigned long long opslimit, size_t memlimit) {
    (void)opslimit;
    (void)memlimit;
    unsigned char h[16];
    crypto_generichash(h, sizeof h, (const unsigned char *)passwd, passwdlen, NULL, 0);
    memcpy(out, "$fuzz$", 6);
    util_hex(h, sizeof h, out + 6);
    return 0;
}

/* ==== requests ============================================================================ */

static bool takes_body(const struct route *rt) {
    return strcmp(rt->method, "POST") == 0 || strcmp(rt->method, "PUT") == 0 ||
           strcmp(rt->method, "PATCH") == 0;
}

static const struct route *body_routes[FUZZ_MAX_ROUTES];
static size_t nbody_routes;

/* The body-taking route whose "<METHOD> <pattern>" is line[0, len), or NULL. */
static const struct route *route_named(const uint8_t *line, size_t len) {
    for (size_t i = 0; i < nbody_routes; i++) {
        const struct route *rt = body_routes[i];
        size_t m = strlen(rt->method), p = strlen(rt->pattern);
        if (len == m + 1 + p && memcmp(line, rt->method, m) == 0 && line[m] == ' ' &&
            memcmp(line + m + 1, rt->pattern, p) == 0)
            return rt;
    }
    return NULL;
}

/* Fills r as the dispatcher would for rt and runs the handler; the reply stays in r. */
static void request_run(struct http_req *r, const struct route *rt, const uint8_t *body,
                        size_t len) {
    memset(r, 0, sizeof *r);
    r->conn = &connection;
    r->method = rt->method;
    r->url = rt->pattern;
    r->route = rt;
    r->route_index = (int)(rt - api_routes);
    int np = 0;
    for (const char *p = strchr(rt->pattern, '{'); p && np < HTTP_MAX_PARAMS;
         p = strchr(p + 1, '{'))
        r->params[np++] = strdup(FUZZ_ID);
    if (len > 0) { /* as on_request: no body is NULL, a body is NUL-terminated */
        buf_put(&r->body, body, len);
    }
    snprintf(r->request_id, sizeof r->request_id, "fuzz");
    snprintf(r->client_ip, sizeof r->client_ip, "127.0.0.1");
    if (rt->roles != ROLES_PUBLIC) {
        r->who.authenticated = true;
        r->who.role = (enum role)(rt->roles & -rt->roles); /* the first role admitted */
        snprintf(r->who.user_id, sizeof r->who.user_id, FUZZ_ID);
        snprintf(r->who.org_id, sizeof r->who.org_id, FUZZ_ID);
        snprintf(r->who.city_id, sizeof r->who.city_id, FUZZ_ID);
        snprintf(r->who.api_key_id, sizeof r->who.api_key_id, FUZZ_ID);
    }
    rt->handler(r);
}

/* Frees what the request holds, as on_completed does. */
static void request_free(struct http_req *r) {
    http_req_release(r);
}

static void fail(const struct http_req *r, const char *why) {
    fprintf(stderr, "fuzz_endpoints: %s %s: %s\n  status %u, reply %.*s\n", r->method,
            r->route->pattern, why, r->status, (int)(r->resp_len > 2000 ? 2000 : r->resp_len),
            r->resp_body ? r->resp_body : "");
    abort();
}

/* What every reply must be, whatever the body was. Writes the problem type ("" if none). */
static void reply_check(const struct http_req *r, char type[96]) {
    type[0] = '\0';
    if (r->status == 0)
        fail(r, "the handler sent no reply");
    if (r->status >= 500 && r->status != 503)
        fail(r, "a 5xx reply other than the database's 503");
    const char *ct = r->content_type ? r->content_type : "";
    bool problem = strcmp(ct, "application/problem+json") == 0;
    if (!problem && strcmp(ct, "application/json") != 0)
        return;
    json_t *j = json_loadb(r->resp_body ? r->resp_body : "", r->resp_len, 0, NULL);
    if (!json_is_object(j))
        fail(r, "the reply is not a JSON object");
    if (problem) {
        const char *t = json_string_value(json_object_get(j, "type"));
        if (t == NULL || strncmp(t, "/problems/", 10) != 0 ||
            json_integer_value(json_object_get(j, "status")) != r->status)
            fail(r, "a problem without its type or status");
        snprintf(type, 96, "%s", t);
        json_t *errors = json_object_get(j, "errors");
        if (strcmp(t, "/problems/validation-failed") == 0 ||
            strcmp(t, "/problems/invalid-query") == 0) {
            if (json_array_size(errors) == 0)
                fail(r, "a validation problem without errors");
            size_t i;
            json_t *e;
            json_array_foreach(errors, i, e) {
                if (!json_is_string(json_object_get(e, "field")) ||
                    !json_is_string(json_object_get(e, "message")))
                    fail(r, "an error without field or message");
            }
        }
    } else if (r->status >= 400) {
        fail(r, "an error reply that is not a problem");
    }
    json_decref(j);
}

/* True when every object key in j, at any depth, could be a field name: 1 to 64 of [a-z0-9_]. */
static bool keys_are_field_names(json_t *j) {
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            if (!keys_are_field_names(v))
                return false;
        }
        return true;
    }
    json_object_foreach(j, key, v) {
        size_t n = strlen(key);
        if (n == 0 || n > 64 || strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") != n ||
            !keys_are_field_names(v))
            return false;
    }
    return true;
}

/* ==== start-up ============================================================================ */

/* The process state a server has before it serves (server/main.c: cmd_serve), with a signing
 * key made from a fixed seed so that seeds may carry valid voucher tokens. */
static void server_init(void) {
    if (sodium_init() < 0 || config_load() != 0)
        abort();
    log_set_level(LOG_ERROR); /* api_init's "cannot register the keys" is expected here */
    unsigned char seed[crypto_sign_SEEDBYTES] = {8};
    keyring.keys = calloc(1, sizeof *keyring.keys);
    keyring.nkeys = 1;
    crypto_sign_seed_keypair(keyring.keys[0].pk, keyring.keys[0].sk, seed);
    paserk_k4_pid(keyring.keys[0].pk, keyring.keys[0].kid);
    snprintf(keyring.keys[0].created_at, sizeof keyring.keys[0].created_at, "2026-01-01T00:00:00Z");
    auth_set_hash_key(keyring.hash_key);
    if (api_init() != 0)
        abort();
    api_maintenance_stop(); /* no upkeep without a database */
}

/* Every body-taking route must answer an unknown field with 400 validation-failed naming it:
 * proof that its own decoding runs under this harness. */
static void routes_probe(void) {
    static const char probe[] = "{\"fuzz-probe\": true}";
    for (size_t i = 0; i < api_routes_len; i++) {
        if (!takes_body(&api_routes[i]))
            continue;
        if (nbody_routes == FUZZ_MAX_ROUTES) {
            fprintf(stderr, "fuzz_endpoints: raise FUZZ_MAX_ROUTES\n");
            abort();
        }
        body_routes[nbody_routes++] = &api_routes[i];
        struct http_req r;
        char type[96];
        request_run(&r, &api_routes[i], (const uint8_t *)probe, sizeof probe - 1);
        reply_check(&r, type);
        json_t *j = json_loads(r.resp_body ? r.resp_body : "", 0, NULL);
        const char *field = json_string_value(
            json_object_get(json_array_get(json_object_get(j, "errors"), 0), "field"));
        bool decoded = r.status == 400 && strcmp(type, "/problems/validation-failed") == 0 &&
                       field != NULL && strcmp(field, "fuzz-probe") == 0;
        json_decref(j);
        if (!decoded)
            fail(&r, "did not refuse an unknown body field: this harness does not reach the "
                     "handler's decoding (see the top of tests/fuzz/fuzz_endpoints.c)");
        request_free(&r);
    }
}

/* With SUANLI_FUZZ_SEEDS=<dir>: every body-taking route has a seed there (a file whose first
 * line names it). */
static void seeds_check(void) {
    const char *dir = getenv("SUANLI_FUZZ_SEEDS");
    if (dir == NULL)
        return;
    bool seeded[FUZZ_MAX_ROUTES] = {false};
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "fuzz_endpoints: SUANLI_FUZZ_SEEDS=%s: cannot open\n", dir);
        abort();
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[4096], line[256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        if (fgets(line, sizeof line, f) != NULL) {
            size_t n = strcspn(line, "\n");
            const struct route *rt = route_named((const uint8_t *)line, n);
            for (size_t i = 0; rt != NULL && i < nbody_routes; i++)
                seeded[i] = seeded[i] || body_routes[i] == rt;
        }
        fclose(f);
    }
    closedir(d);
    bool ok = true;
    for (size_t i = 0; i < nbody_routes; i++) {
        if (!seeded[i]) {
            fprintf(stderr, "fuzz_endpoints: no seed in %s for %s %s\n", dir,
                    body_routes[i]->method, body_routes[i]->pattern);
            ok = false;
        }
    }
    if (!ok)
        abort();
}

/* ==== the boundary-value mutator ========================================================== */

/* Half of the mutations are libFuzzer's own (bytes); the other half parse the body as JSON and
 * put a well-formed value at a boundary in place of one value (or array item) at any depth:
 * dates at the ends of the calendar and of the offsets, impossible days, integers at and past
 * the int32/int64 limits, doubles at the ends of their range, empty, long and unusual Unicode
 * strings. Such bodies pass the JSON parser, so they reach each handler's value checks (and,
 * behind them, the database), which byte mutations rarely do. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static const char *const boundary_values[] = {
    /* dates */
    "\"0001-01-01T00:00:00Z\"", "\"0001-01-01T00:00:00+15:59\"", "\"9999-12-31T23:59:59Z\"",
    "\"9999-12-31T23:59:59-15:59\"", "\"9999-12-31T23:59:59.999999Z\"",
    "\"2000-02-29T00:00:00Z\"", "\"2100-02-29T00:00:00Z\"", "\"2023-02-29T00:00:00Z\"",
    "\"2030-04-31T00:00:00Z\"", "\"2030-01-01T00:00:00+16:00\"", "\"2030-01-01T00:00:00-23:59\"",
    "\"2030-12-31T23:59:60Z\"", "\"2030-01-01T24:00:00Z\"", "\"0000-01-01T00:00:00Z\"",
    "\"2030-01-01T00:00:00.1234567Z\"", "\"1970-01-01T00:00:00Z\"", "\"2038-01-19T03:14:08Z\"",
    /* integers */
    "0", "-1", "1", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967296",
    "9007199254740993", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
    "1000000000000", "10000000000", "65536", "1000000",
    /* numbers */
    "-0.0", "1e308", "-1e308", "1e-308", "5e-324", "1.7976931348623157e308", "0.1", "1.5",
    "2147483648.5", "3.0000000000000004",
    /* strings */
    "\"\"", "\" \"", "\"\\u0000\"", "\"\\ud83d\\ude00\"", "\"\\u202e\"", "\"\\ufeff\"",
    "\"\\u200b\"", "\"\\uffff\"", "\"\\udbff\\udfff\"", "\"e\\u0301\"", "\"\\u2028\"",
    "\"00000000-0000-0000-0000-000000000000\"", "\"FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF\"",
    /* others */
    "null", "true", "false", "[]", "{}", "[null]", "[{}]",
};
#define BOUNDARY_COUNT (sizeof boundary_values / sizeof boundary_values[0])

static uint32_t rng_next(uint32_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Counts the values in j (members and items, at any depth), or finds the n-th: its container
 * and key or index. */
struct slot {
    json_t *container;
    const char *key;
    size_t index;
};

static size_t slots_walk(json_t *j, size_t *n, struct slot *want) {
    size_t count = 0;
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_object(j)) {
        json_object_foreach(j, key, v) {
            if (want && *n == 0) {
                *want = (struct slot){j, key, 0};
                return count + 1;
            }
            if (want)
                (*n)--;
            count += 1 + slots_walk(v, n, want);
            if (want && want->container)
                return count;
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            if (want && *n == 0) {
                *want = (struct slot){j, NULL, i};
                return count + 1;
            }
            if (want)
                (*n)--;
            count += 1 + slots_walk(v, n, want);
            if (want && want->container)
                return count;
        }
    }
    return count;
}

static size_t boundary_mutate(uint8_t *data, size_t size, size_t max_size, uint32_t seed) {
    uint32_t x = seed | 1;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t head = nl ? (size_t)(nl - data) + 1 : 0;
    json_t *body = json_loadb((const char *)data + head, size - head, 0, NULL);
    if (!json_is_object(body) && !json_is_array(body)) {
        json_decref(body);
        return 0;
    }
    size_t none = 0, total = slots_walk(body, &none, NULL);
    size_t rounds = 1 + rng_next(&x) % 3;
    char *text = NULL;
    for (size_t k = 0; k < rounds; k++) {
        json_t *placeholder = json_string("\x01boundary\x01");
        if (total == 0) {
            if (json_is_object(body))
                json_object_set_new(body, "x", placeholder);
            else
                json_array_append_new(body, placeholder);
        } else {
            size_t n = rng_next(&x) % total;
            struct slot s = {0};
            slots_walk(body, &n, &s);
            if (s.container == NULL) {
                json_decref(placeholder);
                continue;
            }
            if (s.key != NULL)
                json_object_set_new(s.container, s.key, placeholder);
            else
                json_array_set_new(s.container, s.index, placeholder);
        }
        char *t = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (t == NULL)
            return 0;
        /* the placeholder becomes the boundary value's text */
        char *at = strstr(t, "\"\\u0001boundary\\u0001\"");
        const char *v = boundary_values[rng_next(&x) % BOUNDARY_COUNT];
        char *next = NULL;
        if (at == NULL || asprintf(&next, "%.*s%s%s", (int)(at - t), t, v, at + 22) < 0) {
            free(t);
            return 0;
        }
        free(t);
        free(text);
        text = next;
        body = json_loads(text, 0, NULL);
        if (body == NULL) /* e.g. a value past int64 (jansson refuses it): send it as it is */
            break;
        total = slots_walk(body, &none, NULL);
    }
    json_decref(body);
    size_t len = text ? strlen(text) : 0;
    if (text == NULL || head + len > max_size) {
        free(text);
        return 0;
    }
    memcpy(data + head, text, len);
    free(text);
    return head + len;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    if (seed % 2 == 0) {
        size_t n = boundary_mutate(data, size, max_size, seed);
        if (n > 0)
            return n;
    }
    return LLVMFuzzerMutate(data, size, max_size);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    server_init();
    routes_probe();
    seeds_check();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    size_t line = nl ? (size_t)(nl - data) : size;
    const struct route *rt = route_named(data, line);
    if (rt == NULL)
        rt = body_routes[size > 0 ? data[0] % nbody_routes : 0];
    const uint8_t *body = nl ? nl + 1 : data + size;
    size_t len = size - (size_t)(body - data);
    if (len > HTTP_MAX_BODY)
        return 0; /* the dispatcher answers 413 before any handler */
    struct http_req r;
    char type[96];
    request_run(&r, rt, body, len);
    reply_check(&r, type);
    if (r.status == 503 && r.json != NULL && !keys_are_field_names(r.json))
        fail(&r, "a body with an undeclared key reached the database");
    request_free(&r);
    return 0;
}
