/* world.c — see world.h. */
#include "world.h"

#include "paseto.h"
#include "vtoken.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ==== the world =========================================================================== */

/* One city: its organisations and users. A city without a second provider or institute passes
 * NULL for them. */
struct cast {
    const char *name, *domain;
    char **city, **prov_org, **prov2_org, **inst_org, **inst2_org;
    struct th_auth *admin, *auditor, *prov, *prov2, *inst, *inst2;
};

static void user(struct world *w, const char *role, const char *org, const char *who,
                 const char *domain, struct th_auth *out) {
    char email[96];
    snprintf(email, sizeof email, "%s@%s.test", who, domain);
    th_user(&w->srv, &w->op, role, org, email, out);
}

static void cast_build(struct world *w, const struct cast *c) {
    char name[96];
    *c->city = th_org(&w->srv, &w->op, "city", c->name, NULL);
    snprintf(name, sizeof name, "%s Cloud", c->name);
    *c->prov_org = th_org(&w->srv, &w->op, "provider", name, *c->city);
    snprintf(name, sizeof name, "%s AI Lab", c->name);
    *c->inst_org = th_org(&w->srv, &w->op, "institute", name, *c->city);
    user(w, "city_admin", *c->city, "admin", c->domain, c->admin);
    user(w, "auditor", *c->city, "auditor", c->domain, c->auditor);
    user(w, "provider", *c->prov_org, "ops", c->domain, c->prov);
    user(w, "institute", *c->inst_org, "lab", c->domain, c->inst);
    if (c->prov2_org) {
        snprintf(name, sizeof name, "%s Second Cloud", c->name);
        *c->prov2_org = th_org(&w->srv, &w->op, "provider", name, *c->city);
        user(w, "provider", *c->prov2_org, "ops2", c->domain, c->prov2);
    }
    if (c->inst2_org) {
        snprintf(name, sizeof name, "%s Second Lab", c->name);
        *c->inst2_org = th_org(&w->srv, &w->op, "institute", name, *c->city);
        user(w, "institute", *c->inst2_org, "lab2", c->domain, c->inst2);
    }
}

void world_setup(struct world *w, const char *label, unsigned flags) {
    memset(w, 0, sizeof *w);
    w->dburl = th_db_create(label);
    th_server_start(&w->srv, w->dburl, NULL);
    w->two = (flags & WORLD_TWO_SERVERS) != 0;
    if (w->two)
        th_server_start(&w->srv2, w->dburl, NULL);
    th_operator(&w->srv, &w->op);
    cast_build(w, &(struct cast){"Chengdu", "chengdu", &w->city, &w->prov_org, &w->prov2_org,
                                 &w->inst_org, &w->inst2_org, &w->admin, &w->auditor, &w->prov,
                                 &w->prov2, &w->inst, &w->inst2});
    cast_build(w, &(struct cast){"Hami", "hami", &w->other_city, &w->other_prov_org, NULL,
                                 &w->other_inst_org, NULL, &w->other_admin, &w->other_auditor,
                                 &w->other_prov, NULL, &w->other_inst, NULL});
    if (flags & WORLD_OFFER)
        w->offer = world_offer(w, &w->prov, "{\"units\":100000}");
}

int world_teardown(struct world *w) {
    int rc = 0;
    if (w->two && th_server_stop(&w->srv2) != 0)
        rc = 1;
    if (th_server_stop(&w->srv) != 0)
        rc = 1;
    char **all[] = {&w->dburl,    &w->city,          &w->prov_org,   &w->prov2_org,
                    &w->inst_org, &w->inst2_org,     &w->other_city, &w->other_prov_org,
                    &w->offer,    &w->other_inst_org};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        free(*all[i]);
        *all[i] = NULL;
    }
    return rc;
}

char *world_post_id(const struct th_server *s, const struct th_auth *by, const char *path,
                    const char *body) {
    struct th_resp r = th_req(s, "POST", path, by, body, NULL);
    ck_assert_msg(r.status == 201 || r.status == 200, "POST %s: expected 201, got %ld: %s", path,
                  r.status, r.body);
    ck_assert_msg(th_str(&r, "id") != NULL, "POST %s: no id in %s", path, r.body);
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    return id;
}

/* o with the members of overrides (JSON object text or NULL) replacing or adding its own; a
 * null member removes one when null_removes. Returns o's compact text, malloc'd; frees o. */
static char *with_overrides(json_t *o, const char *overrides, bool null_removes) {
    if (overrides != NULL) {
        json_error_t err;
        json_t *x = json_loads(overrides, 0, &err);
        ck_assert_msg(json_is_object(x), "bad overrides %s: %s", overrides, err.text);
        const char *k;
        json_t *v;
        json_object_foreach(x, k, v) {
            if (null_removes && json_is_null(v))
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

/* ==== offers and orders =================================================================== */

char *world_offer_body(const char *overrides) {
    json_t *o =
        json_pack("{s:s, s:s, s:i, s:f, s:i, s:s, s:i, s:s, s:s, s:f, s:f}", "resource_class",
                  "gpu", "accelerator", "H100", "units", 10, "fp16_tflops_per_unit", 989.0,
                  "memory_gib_per_unit", 80, "region", "guizhou", "price_fen_per_unit_hour", 2000,
                  "available_from", "2020-01-01T00:00:00Z", "available_until",
                  "2031-01-01T00:00:00Z", "pue", 1.2, "green_share", 0.8);
    return with_overrides(o, overrides, false);
}

char *world_offer(struct world *w, const struct th_auth *by, const char *overrides) {
    char *body = world_offer_body(overrides);
    char *id = world_post_id(&w->srv, by, "/v1/offers", body);
    free(body);
    return id;
}

struct th_resp world_order_post(struct world *w, const struct th_server *s,
                                const struct th_auth *by, const char *offer, int units,
                                const char *start, const char *end, const char *const *headers) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"offer_id\":\"%s\",\"units\":%d,\"start\":\"%s\",\"end\":\"%s\"}", offer, units,
             start, end);
    return th_req(s ? s : &w->srv, "POST", "/v1/orders", by, body, headers);
}

char *world_order(struct world *w, const struct th_auth *by, const char *offer, int units,
                  int hours, const char *start) {
    char end[32];
    struct tm tm = {0};
    const char *s = start ? start : "2030-01-01T00:00:00Z";
    ck_assert_msg(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) != NULL, "bad start %s", s);
    time_t t = timegm(&tm) + (time_t)hours * 3600;
    gmtime_r(&t, &tm);
    strftime(end, sizeof end, "%Y-%m-%dT%H:%M:%SZ", &tm);
    struct th_resp r = world_order_post(w, NULL, by, offer ? offer : w->offer, units, s, end, NULL);
    th_assert_status(&r, 201);
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    return id;
}

/* ==== programmes and vouchers ============================================================= */

const char *world_time(char out[32], long secs) {
    time_t t = time(NULL) + secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

char *world_program_body(const char *overrides) {
    static int n;
    char name[64];
    snprintf(name, sizeof name, "Programme %d-%d", (int)getpid(), ++n);
    json_t *o = json_pack("{s:s, s:I, s:s, s:i}", "name", name, "budget_fen", (json_int_t)100000000,
                          "ends_at", "2030-06-01T00:00:00Z", "max_subsidy_bp", 5000);
    return with_overrides(o, overrides, true);
}

char *world_program(struct world *w, const char *overrides) {
    char *body = world_program_body(overrides);
    char *id = world_post_id(&w->srv, &w->admin, "/v1/programs", body);
    free(body);
    return id;
}

struct th_resp world_issue(struct world *w, const struct th_server *s, const struct th_auth *by,
                           const char *program, const char *body, const char *const *headers) {
    char path[128];
    snprintf(path, sizeof path, "/v1/programs/%s/vouchers", program);
    return th_req(s ? s : &w->srv, "POST", path, by, body, headers);
}

struct th_resp world_voucher(struct world *w, const char *program, const char *institute,
                             long long face, const char *expires, const char *extra) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"institute_id\":\"%s\",\"face_value_fen\":%lld,\"expires_at\":\"%s\"%s}", institute,
             face, expires ? expires : "2030-01-01T00:00:00Z", extra ? extra : "");
    struct th_resp r = world_issue(w, NULL, &w->admin, program, body, NULL);
    th_assert_status(&r, 201);
    return r;
}

char *world_voucher_id(struct world *w, const char *program, const char *institute,
                       long long face) {
    struct th_resp r = world_voucher(w, program, institute, face, NULL, NULL);
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    return id;
}

/* ==== reading back ======================================================================== */

long long world_sql_ll(struct world *w, const char *fmt, ...) {
    char sql[4096];
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

void world_ledger_ok(struct world *w) {
    char *report = th_sql(w->dburl, "SELECT ledger_check()::text");
    json_t *j = json_loads(report, 0, NULL);
    ck_assert_msg(json_is_true(json_object_get(j, "ok")), "ledger check failed: %s", report);
    json_decref(j);
    free(report);
}

long long world_get_int(struct world *w, const struct th_auth *by, const char *path,
                        const char *member) {
    struct th_resp r = th_req(&w->srv, "GET", path, by, NULL, NULL);
    th_assert_status(&r, 200);
    long long v = th_int(&r, member);
    th_resp_free(&r);
    return v;
}

/* ==== tokens that must be refused ========================================================= */

char *world_forge_signature(const char *token) {
    char *t = strdup(token);
    char *footer_dot = strrchr(t, '.');
    char *c = footer_dot - 10;
    *c = *c == 'A' ? 'B' : 'A';
    return t;
}

char *world_tamper_payload(const char *token) {
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

char *world_foreign_key_token(const char *token) {
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

void world_usage_accepted(struct world *w, const struct th_auth *prov, const struct th_auth *inst,
                          const char *order, const char *unit_hours) {
    char path[128], body[256];
    snprintf(path, sizeof path, "/v1/orders/%s/usage", order);
    snprintf(body, sizeof body,
             "{\"unit_hours\":%s,\"availability\":1,\"evidence\":[{\"name\":\"meter.csv\","
             "\"sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}]}",
             unit_hours);
    struct th_resp r = th_req(&w->srv, "POST", path, prov, body, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    snprintf(path, sizeof path, "/v1/orders/%s/usage/accept", order);
    r = th_req(&w->srv, "POST", path, inst, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
}
