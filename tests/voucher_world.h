/* voucher_world.h — the world the voucher suites (check_programs, check_vouchers,
 * check_redemptions) test in, built through the API: two cities, each with a city
 * administrator; an auditor, two institutes and a provider with an offer in Chengdu; an
 * institute in Hami. Helpers create programmes, vouchers and orders and check the ledger.
 * Header-only: each suite includes it once. */
#ifndef SUANLI_VOUCHER_WORLD_H
#define SUANLI_VOUCHER_WORLD_H

#include "harness.h"

#include "paseto.h"
#include "vtoken.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct vw {
    struct th_server srv, srv2; /* srv2 runs only when asked for (two processes, one DB) */
    bool two;
    char *dburl;
    struct th_auth op, admin, auditor, other_admin, inst, inst2, other_inst, prov;
    char *city, *other_city, *inst_org, *inst2_org, *other_inst_org, *prov_org;
    char *offer; /* gpu, guizhou (west), green share 0.8, 2000 fen per unit-hour */
};

static inline void vw_setup(struct vw *w, const char *label, bool two_servers) {
    memset(w, 0, sizeof *w);
    w->dburl = th_db_create(label);
    th_server_start(&w->srv, w->dburl, NULL);
    w->two = two_servers;
    if (two_servers)
        th_server_start(&w->srv2, w->dburl, NULL);
    th_operator(&w->srv, &w->op);
    w->city = th_org(&w->srv, &w->op, "city", "Chengdu", NULL);
    w->other_city = th_org(&w->srv, &w->op, "city", "Hami", NULL);
    w->inst_org = th_org(&w->srv, &w->op, "institute", "SCU AI Lab", w->city);
    w->inst2_org = th_org(&w->srv, &w->op, "institute", "UESTC Lab", w->city);
    w->other_inst_org = th_org(&w->srv, &w->op, "institute", "Hami Genomics", w->other_city);
    w->prov_org = th_org(&w->srv, &w->op, "provider", "West Cloud", w->city);
    th_user(&w->srv, &w->op, "city_admin", w->city, "admin@chengdu.test", &w->admin);
    th_user(&w->srv, &w->op, "auditor", w->city, "auditor@chengdu.test", &w->auditor);
    th_user(&w->srv, &w->op, "city_admin", w->other_city, "admin@hami.test", &w->other_admin);
    th_user(&w->srv, &w->op, "institute", w->inst_org, "lab@scu.test", &w->inst);
    th_user(&w->srv, &w->op, "institute", w->inst2_org, "lab@uestc.test", &w->inst2);
    th_user(&w->srv, &w->op, "institute", w->other_inst_org, "lab@hami.test", &w->other_inst);
    th_user(&w->srv, &w->op, "provider", w->prov_org, "ops@westcloud.test", &w->prov);
    struct th_resp r =
        th_req(&w->srv, "POST", "/v1/offers", &w->prov,
               "{\"resource_class\":\"gpu\",\"accelerator\":\"H100\",\"units\":100000,"
               "\"fp16_tflops_per_unit\":989,\"memory_gib_per_unit\":80,\"region\":\"guizhou\","
               "\"price_fen_per_unit_hour\":2000,\"available_from\":\"2020-01-01T00:00:00Z\","
               "\"available_until\":\"2031-01-01T00:00:00Z\",\"pue\":1.2,\"green_share\":0.8}",
               NULL);
    th_assert_status(&r, 201);
    w->offer = strdup(th_str(&r, "id"));
    th_resp_free(&r);
}

static inline void vw_teardown(struct vw *w) {
    if (w->two)
        ck_assert_int_eq(th_server_stop(&w->srv2), 0);
    ck_assert_int_eq(th_server_stop(&w->srv), 0);
    free(w->dburl);
    free(w->city);
    free(w->other_city);
    free(w->inst_org);
    free(w->inst2_org);
    free(w->other_inst_org);
    free(w->prov_org);
    free(w->offer);
}

/* now + secs as RFC 3339 (UTC, whole seconds) into out. */
static inline const char *vw_time(char out[32], long secs) {
    time_t t = time(NULL) + secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

/* A programme body: a unique name, budget 100 000 000 fen, max_subsidy_bp 5000, all regions
 * and classes, until 2030; members of overrides (JSON object text or NULL) replace or add
 * fields (a null member removes one). malloc'd. */
static inline char *vw_program_body(const char *overrides) {
    static int n;
    char name[64];
    snprintf(name, sizeof name, "Programme %d-%d", (int)getpid(), ++n);
    json_t *o = json_pack("{s:s, s:I, s:s, s:i}", "name", name, "budget_fen", (json_int_t)100000000,
                          "ends_at", "2030-06-01T00:00:00Z", "max_subsidy_bp", 5000);
    if (overrides != NULL) {
        json_error_t err;
        json_t *x = json_loads(overrides, 0, &err);
        ck_assert_msg(x != NULL, "bad overrides %s: %s", overrides, err.text);
        const char *k;
        json_t *v;
        json_object_foreach(x, k, v) {
            if (json_is_null(v))
                json_object_del(o, k);
            else
                json_object_set(o, k, v);
        }
        json_decref(x);
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* Creates a programme as the Chengdu administrator (201 expected); its id, malloc'd. */
static inline char *vw_program(struct vw *w, const char *overrides) {
    char *body = vw_program_body(overrides);
    struct th_resp r = th_req(&w->srv, "POST", "/v1/programs", &w->admin, body, NULL);
    th_assert_status(&r, 201);
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    free(body);
    return id;
}

/* POST /v1/programs/{program}/vouchers with body as by on s (NULL = srv). */
static inline struct th_resp vw_issue(struct vw *w, const struct th_server *s,
                                      const struct th_auth *by, const char *program,
                                      const char *body, const char *const *headers) {
    char path[128];
    snprintf(path, sizeof path, "/v1/programs/%s/vouchers", program);
    return th_req(s ? s : &w->srv, "POST", path, by, body, headers);
}

/* Issues one voucher (201 expected) and returns it; the caller frees the response. extra is
 * added inside the body (e.g. ",\"not_before\":\"…\"") or NULL. */
static inline struct th_resp vw_voucher(struct vw *w, const char *program, const char *institute,
                                        long long face, const char *expires, const char *extra) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"institute_id\":\"%s\",\"face_value_fen\":%lld,\"expires_at\":\"%s\"%s}", institute,
             face, expires ? expires : "2030-01-01T00:00:00Z", extra ? extra : "");
    struct th_resp r = vw_issue(w, NULL, &w->admin, program, body, NULL);
    th_assert_status(&r, 201);
    return r;
}

/* The id of a voucher issued as vw_voucher does, malloc'd. */
static inline char *vw_voucher_id(struct vw *w, const char *program, const char *institute,
                                  long long face) {
    struct th_resp r = vw_voucher(w, program, institute, face, NULL, NULL);
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    return id;
}

/* A reserved order of units for hours on offer (NULL: the world's) by an institute, starting
 * at start (NULL: 2030-01-01T00:00:00Z); its id, malloc'd. gross = units × hours × 2000. */
static inline char *vw_order(struct vw *w, const struct th_auth *by, const char *offer, int units,
                             int hours, const char *start) {
    char body[512], end[32];
    struct tm tm = {0};
    const char *s = start ? start : "2030-01-01T00:00:00Z";
    strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    time_t t = timegm(&tm) + (time_t)hours * 3600;
    gmtime_r(&t, &tm);
    strftime(end, sizeof end, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body,
             "{\"offer_id\":\"%s\",\"units\":%d,\"start\":\"%s\",\"end\":\"%s\"}",
             offer ? offer : w->offer, units, s, end);
    struct th_resp r = th_req(&w->srv, "POST", "/v1/orders", by, body, NULL);
    th_assert_status(&r, 201);
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    return id;
}

/* The value of a one-value SQL query as a long long. */
static inline long long vw_sql_ll(struct vw *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline long long vw_sql_ll(struct vw *w, const char *fmt, ...) {
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    char *v = th_sql(w->dburl, sql);
    ck_assert_msg(v != NULL, "no value from %s", sql);
    long long n = atoll(v);
    free(v);
    return n;
}

/* Asserts that ledger_check() finds I1, I2 and every stored balance in order. */
static inline void vw_ledger_ok(struct vw *w) {
    char *report = th_sql(w->dburl, "SELECT ledger_check()::text");
    json_t *j = json_loads(report, 0, NULL);
    ck_assert_msg(json_is_true(json_object_get(j, "ok")), "ledger check failed: %s", report);
    json_decref(j);
    free(report);
}

/* GET path as by and return the integer member of the answer. */
static inline long long vw_get_int(struct vw *w, const struct th_auth *by, const char *path,
                                   const char *member) {
    struct th_resp r = th_req(&w->srv, "GET", path, by, NULL, NULL);
    th_assert_status(&r, 200);
    long long v = th_int(&r, member);
    th_resp_free(&r);
    return v;
}

/* ==== tokens that must be refused ========================================================= */

/* The token with one character of its signature changed (still valid base64url). */
static inline char *vw_forge_signature(const char *token) {
    char *t = strdup(token);
    char *footer_dot = strrchr(t, '.');
    char *c = footer_dot - 10;
    *c = *c == 'A' ? 'B' : 'A';
    return t;
}

/* The token with its payload changed (amt raised) and the original signature and footer. */
static inline char *vw_tamper_payload(const char *token) {
    const char *body = token + strlen("v4.public.");
    const char *dot = strchr(body, '.');
    unsigned char raw[4096];
    size_t len;
    ck_assert(sodium_base642bin(raw, sizeof raw, body, (size_t)(dot - body), NULL, &len, NULL,
                                sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0);
    char *amt = memmem(raw, len - 64, "\"amt\":", 6);
    ck_assert_ptr_nonnull(amt);
    amt[6] = amt[6] == '9' ? '8' : '9';
    char b64[sodium_base64_ENCODED_LEN(4096, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(b64, sizeof b64, raw, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out;
    ck_assert(asprintf(&out, "v4.public.%s%s", b64, dot) > 0);
    return out;
}

/* A well-formed voucher token for the same claims, signed by a key the service never saw. */
static inline char *vw_foreign_key_token(const char *token) {
    struct vtoken_claims c;
    const char *dot = strchr(token + strlen("v4.public."), '.');
    unsigned char raw[4096];
    size_t len;
    ck_assert(sodium_base642bin(raw, sizeof raw, token + 10, (size_t)(dot - token - 10), NULL, &len,
                                NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0);
    json_t *claims = json_loadb((const char *)raw, len - 64, 0, NULL);
    ck_assert_ptr_nonnull(claims);
    json_t *v =
        json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "id", json_object_get(claims, "jti"),
                  "institute_id", json_object_get(claims, "sub"), "program_id",
                  json_object_get(claims, "prg"), "face_value_fen", json_object_get(claims, "amt"),
                  "issued_at", json_object_get(claims, "iat"), "not_before",
                  json_object_get(claims, "nbf"), "expires_at", json_object_get(claims, "exp"));
    ck_assert(vtoken_claims_from_voucher(v, &c));
    json_decref(v);
    json_decref(claims);
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(pk, sk);
    char kid[PASERK_K4_PID_LEN], *out;
    paserk_k4_pid(pk, kid);
    ck_assert_int_eq(vtoken_sign(sk, kid, &c, &out), 0);
    return out;
}

#endif
