/* check_isolation.c — I6 isolation, as a matrix generated from the server's route table: every
 * route × every role of world A (and no credentials) × an object of A's own and one of world B,
 * a second city with the same cast. A role the route does not admit answers 403 (401 without
 * credentials); a foreign object answers 404 as if it did not exist (the operator sees
 * everything); no list, report or export shows world B's private objects to world A; and a
 * field a role may not set is refused and changes nothing (mass assignment). A route missing
 * from the matrix's table fails the suite, so a new endpoint cannot escape it. */
#include "world.h"

#include "api.h"

#include <unistd.h>

/* ==== the two worlds ====================================================================== */

/* The callers: world A's cast, the operator, a national auditor (no city: reads everything)
 * and no credentials at all. */
enum who { W_OP, W_ADMIN, W_AUDITOR, W_PROV, W_INST, W_NATIONAL, W_ANON, W_COUNT };
static const char *const who_name[W_COUNT] = {
    "operator", "city_admin", "auditor", "provider", "institute", "national auditor", "anonymous"};
static const unsigned who_role[W_COUNT] = {
    ROLE_OPERATOR, ROLE_CITY_ADMIN, ROLE_AUDITOR, ROLE_PROVIDER, ROLE_INSTITUTE, ROLE_AUDITOR, 0};

/* One city of the shared world (A: Chengdu, B: Hami), its cast and the objects the matrix
 * reads and writes, all made through the API. */
struct side {
    char *city, *prov_org, *inst_org;
    struct th_auth admin, auditor, prov, inst;
    char *offer, *program, *voucher, *token, *order, *redemption, *inst_key;
    char *application, *webhook, *admin_webhook;
    /* issue 14: a second administrator (payouts need two); a completed order with 1000 fen of
     * subsidy settled; a proposed payout to the provider, and one to the institute (a
     * programme that pays the buyer) */
    struct th_auth admin2;
    char *program2, *settled, *payout, *inst_payout;
    char name[16];
};

static struct world w;
static struct th_auth national;
static struct side A, B;
static int uniq;
static int cells;

/* A voucher of 1 000 000 fen of program the side's city issues to its institute; its id (and
 * token when asked), malloc'd. */
static char *program_voucher(struct side *d, const char *program, char **token) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"institute_id\":\"%s\",\"face_value_fen\":1000000,"
             "\"expires_at\":\"2030-06-01T00:00:00Z\"}",
             d->inst_org);
    struct th_resp r = world_issue(&w, NULL, &d->admin, program, body, NULL);
    th_assert_status(&r, 201);
    if (token)
        *token = strdup(th_str(&r, "token"));
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    return id;
}

static char *side_voucher(struct side *d, char **token) {
    return program_voucher(d, d->program, token);
}

/* A completed order of the side's institute with 1000 fen of subsidy from program (NULL: the
 * side's), its usage accepted and its subsidy due now; its id, malloc'd. */
static char *side_due_order(struct side *d, const char *program) {
    char *voucher = program ? program_voucher(d, program, NULL) : strdup(d->voucher);
    char body[512];
    snprintf(body, sizeof body,
             "{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2025-01-01T00:00:00Z\","
             "\"end\":\"2025-01-01T10:00:00Z\",\"vouchers\":[{\"voucher_id\":\"%s\","
             "\"amount_fen\":1000}]}",
             d->offer, voucher);
    free(voucher);
    char *id = world_post_id(&w.srv, &d->inst, "/v1/orders", body);
    char path[128];
    snprintf(path, sizeof path, "/v1/orders/%s/complete", id);
    struct th_resp r = th_req(&w.srv, "POST", path, &d->prov, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    world_usage_accepted(&w, &d->prov, &d->inst, id, "10");
    return id;
}

/* A payout proposed now by the side's second administrator (approved by the first when
 * asked) of a fresh due order of program (NULL: the side's); its id, malloc'd. */
static char *side_payout(struct side *d, const char *program, bool approved) {
    free(side_due_order(d, program));
    char body[128];
    snprintf(body, sizeof body, "{\"program_id\":\"%s\"}", program ? program : d->program);
    struct th_resp r = th_req(&w.srv, "POST", "/v1/payouts", &d->admin2, body, NULL);
    th_assert_status(&r, 201);
    char *id = strdup(th_str(&r, "items.0.id"));
    th_resp_free(&r);
    if (approved) {
        char path[128];
        snprintf(path, sizeof path, "/v1/payouts/%s/approve", id);
        r = th_req(&w.srv, "POST", path, &d->admin, NULL, NULL);
        th_assert_status(&r, 200);
        th_resp_free(&r);
    }
    return id;
}

static int contracts;

/* An application of the side's institute to its programme, submitted now; its id, malloc'd. */
static char *side_application(struct side *d) {
    char body[320];
    snprintf(body, sizeof body,
             "{\"program_id\":\"%s\",\"requested_fen\":1000,\"purpose\":\"matrix\","
             "\"contract_reference\":\"M-%d-%d\"}",
             d->program, (int)getpid(), ++contracts);
    return world_post_id(&w.srv, &d->inst, "/v1/applications", body);
}

/* A webhook registered now by by (a provider or a city administrator); its id, malloc'd. */
static char *side_webhook(const struct th_auth *by) {
    return world_post_id(&w.srv, by, "/v1/webhooks",
                         "{\"url\":\"https://example.com/matrix\",\"events\":[\"order.created\"]}");
}

/* The side's provider on the side's programme's accreditation list (again). */
static void side_accredit(struct side *d) {
    char path[160];
    snprintf(path, sizeof path, "/v1/programs/%s/providers/%s", d->program, d->prov_org);
    struct th_resp r = th_req(&w.srv, "PUT", path, &d->admin, "{\"status\":\"accredited\"}", NULL);
    ck_assert_msg(r.status == 200 || r.status == 201, "accredit: %ld %s", r.status,
                  r.body ? r.body : "");
    th_resp_free(&r);
}

/* A new institute of the side's city, declared related to its provider now; the declaration's
 * id, malloc'd (a fresh pair each time: a pair is declared once). */
static char *new_institute(struct side *d);
static char *side_related(struct side *d) {
    char *inst = new_institute(d);
    char body[256];
    snprintf(body, sizeof body, "{\"provider_id\":\"%s\",\"institute_id\":\"%s\"}", d->prov_org,
             inst);
    free(inst);
    return world_post_id(&w.srv, &d->admin, "/v1/related-parties", body);
}

/* An order of the side's institute, reserved in the past and completed now by its provider,
 * then taken through stage more usage steps (1: reported, 2: accepted); its id, malloc'd. */
static char *side_order_done(struct side *d, int stage) {
    char *o = world_order(&w, &d->inst, d->offer, 1, 10, "2025-01-01T00:00:00Z");
    char path[128];
    snprintf(path, sizeof path, "/v1/orders/%s/complete", o);
    struct th_resp r = th_req(&w.srv, "POST", path, &d->prov, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    if (stage >= 1) {
        snprintf(path, sizeof path, "/v1/orders/%s/usage", o);
        r = th_req(&w.srv, "POST", path, &d->prov,
                   "{\"unit_hours\":10,\"availability\":1,\"evidence\":[{\"name\":\"m\","
                   "\"sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}]}",
                   NULL);
        th_assert_status(&r, 201);
        th_resp_free(&r);
    }
    if (stage >= 2) {
        snprintf(path, sizeof path, "/v1/orders/%s/usage/accept", o);
        r = th_req(&w.srv, "POST", path, &d->inst, NULL, NULL);
        th_assert_status(&r, 200);
        th_resp_free(&r);
    }
    return o;
}

/* A notification for org, written straight into the table (as an event would); its id. */
static char *notification_for(const char *org) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO notifications (org_id, kind, subject_type) VALUES ('%s', "
             "'voucher.issued', 'voucher') RETURNING id",
             org);
    char *id = th_sql(w.dburl, sql);
    ck_assert_ptr_nonnull(id);
    return id;
}

static void side_build(struct side *d, const char *name, const char *city, const char *prov_org,
                       const char *inst_org, const struct th_auth *admin,
                       const struct th_auth *auditor, const struct th_auth *prov,
                       const struct th_auth *inst) {
    snprintf(d->name, sizeof d->name, "%s", name);
    d->city = strdup(city);
    d->prov_org = strdup(prov_org);
    d->inst_org = strdup(inst_org);
    d->admin = *admin;
    d->auditor = *auditor;
    d->prov = *prov;
    d->inst = *inst;
    d->offer = world_offer(&w, &d->prov, "{\"units\":100000}");
    char *body = world_program_body(NULL);
    d->program = world_post_id(&w.srv, &d->admin, "/v1/programs", body);
    free(body);
    d->voucher = side_voucher(d, &d->token);
    /* one unit for ten hours (completion needs an order that has started, cancelling one that
     * has not ended) */
    d->order = world_order(&w, &d->inst, d->offer, 1, 10, "2030-01-01T00:00:00Z");
    char red[256];
    snprintf(red, sizeof red, "{\"voucher_id\":\"%s\",\"order_id\":\"%s\",\"amount_fen\":1000}",
             d->voucher, d->order);
    d->redemption = world_post_id(&w.srv, &d->inst, "/v1/redemptions", red);
    struct th_resp r = th_req(&w.srv, "GET", "/v1/api-keys", &d->inst, NULL, NULL);
    th_assert_status(&r, 200);
    d->inst_key = strdup(json_string_value(
        json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "id")));
    th_resp_free(&r);
    d->application = side_application(d);
    d->webhook = side_webhook(&d->prov);
    d->admin_webhook = side_webhook(&d->admin);
    side_accredit(d);
    char email[64];
    snprintf(email, sizeof email, "admin2@%s.test", name);
    th_user(&w.srv, &w.op, "city_admin", d->city, email, &d->admin2);
    body = world_program_body(NULL);
    d->program2 = world_post_id(&w.srv, &d->admin, "/v1/programs", body);
    free(body);
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE programs SET payee = 'institute' WHERE id = '%s'",
             d->program2);
    free(th_sql(w.dburl, sql));
    d->settled = side_due_order(d, NULL);
    d->payout = side_payout(d, NULL, false);
    d->inst_payout = side_payout(d, d->program2, false);
}

static void side_free(struct side *d) {
    char **all[] = {
        &d->city,          &d->prov_org, &d->inst_org,   &d->offer,    &d->program,     &d->voucher,
        &d->token,         &d->order,    &d->redemption, &d->inst_key, &d->application, &d->webhook,
        &d->admin_webhook, &d->program2, &d->settled,    &d->payout,   &d->inst_payout};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(*all[i]);
}

static const struct th_auth *side_auth(struct side *d, enum who who) {
    switch (who) {
    case W_OP:
        return &w.op;
    case W_ADMIN:
        return &d->admin;
    case W_AUDITOR:
        return &d->auditor;
    case W_PROV:
        return &d->prov;
    case W_INST:
        return &d->inst;
    case W_NATIONAL:
        return &national;
    default:
        return NULL;
    }
}

static void up(void) {
    world_setup(&w, "isolation", 0);
    th_user(&w.srv, &w.op, "auditor", w.op.org_id, "auditor@nation.test", &national);
    side_build(&A, "chengdu", w.city, w.prov_org, w.inst_org, &w.admin, &w.auditor, &w.prov,
               &w.inst);
    side_build(&B, "hami", w.other_city, w.other_prov_org, w.other_inst_org, &w.other_admin,
               &w.other_auditor, &w.other_prov, &w.other_inst);
}

static int down(void) {
    side_free(&A);
    side_free(&B);
    return world_teardown(&w);
}

/* ==== the matrix's table ================================================================== */

/* Which object a route's {id} names. FRESH_* objects are made for the one cell that uses them,
 * so destructive writes (withdraw, cancel, complete, revoke, key revocation) can run in the own
 * column of every role without breaking later cells. */
enum object {
    O_NONE,
    O_KEY_FRESH,   /* own: a key made for the caller now; foreign: B's institute's key */
    O_ORG,         /* own: the caller's organisation; foreign: B's institute */
    O_OFFER,       /* the world's offer */
    O_OFFER_FRESH, /* an offer its provider posts now */
    O_ORDER,       /* the world's order (with a redemption) */
    O_ORDER_FRESH, /* an order its institute reserves now, in the future */
    O_ORDER_DUE,   /* an order its institute reserves now, already started */
    O_PROGRAM,
    O_VOUCHER,
    O_VOUCHER_FRESH,     /* a voucher its city issues now */
    O_APPLICATION,       /* the world's application (submitted) */
    O_APPLICATION_FRESH, /* an application its institute submits now */
    O_ACCREDITED_FRESH,  /* the world's programme (its provider put on the list again now) */
    O_RELATED_FRESH,     /* a related-party declaration its city makes now */
    O_NOTIFICATION,      /* own: one for the caller's organisation; foreign: B's institute's */
    O_WEBHOOK,           /* own: the caller's own (provider or city); foreign: B's provider's */
    O_WEBHOOK_FRESH,     /* own: one the caller registers now; foreign: B's provider's */
    O_ORDER_DONE_FRESH,     /* an order reserved in the past and completed now */
    O_ORDER_REPORTED_FRESH, /* ... with its usage (10 unit-hours) reported */
    O_ORDER_ACCEPTED_FRESH, /* ... and accepted by its institute */
    O_DUE_FRESH,         /* no {id}: a due order of the side made now (so that there is
                          * something to propose) */
    O_PAYOUT,            /* the side's proposed payout (to the institute, for an institute) */
    O_PAYOUT_FRESH,      /* a payout the side's second administrator proposes now */
    O_PAYOUT_APPROVED,   /* the same, approved by the side's first administrator */
};

enum cell_flags {
    F_FOREIGN_VISIBLE = 1 << 0, /* public by design: the foreign column answers like the own */
    F_OP_NOT_FOREIGN = 1 << 1,  /* even the operator gets 404 (API keys are their user's) */
    F_IF_MATCH = 1 << 2,        /* send the target's current ETag, so only scope can refuse */
    F_COOKIE = 1 << 3,          /* call with a fresh session cookie instead of the API key */
};

/* One line per route. body: a valid minimal body; ${name} is replaced by the target world's
 * object (own: A, foreign: B). A no-{id} route whose body names objects has a foreign column
 * too: the same body naming B's objects. */
struct cell_spec {
    const char *method, *pattern;
    enum object object;
    const char *body;
    unsigned flags;
};

static const struct cell_spec specs[] = {
    {"GET", "/healthz", O_NONE, NULL, 0},
    {"GET", "/readyz", O_NONE, NULL, 0},
    {"GET", "/metrics", O_NONE, NULL, 0},
    {"GET", "/openapi.yaml", O_NONE, NULL, 0},
    {"GET", "/docs", O_NONE, NULL, 0},
    {"POST", "/v1/sessions", O_NONE,
     "{\"email\":\"lab@chengdu.test\",\"password\":"
     "\"password-institute\"}",
     0},
    {"DELETE", "/v1/sessions/current", O_NONE, NULL, F_COOKIE},
    {"GET", "/v1/me", O_NONE, NULL, 0},
    {"POST", "/v1/api-keys", O_NONE, "{\"name\":\"matrix\"}", 0},
    {"GET", "/v1/api-keys", O_NONE, NULL, 0},
    {"DELETE", "/v1/api-keys/{id}", O_KEY_FRESH, NULL, F_OP_NOT_FOREIGN},
    {"POST", "/v1/organizations", O_NONE,
     "{\"type\":\"institute\",\"name\":\"Lab ${uniq}\",\"city_id\":\"${city}\"}", 0},
    {"GET", "/v1/organizations", O_NONE, NULL, 0},
    {"GET", "/v1/organizations/{id}", O_ORG, NULL, 0},
    {"POST", "/v1/users", O_NONE,
     "{\"email\":\"u${uniq}@matrix.test\",\"password\":\"password-matrix\","
     "\"role\":\"institute\",\"organization_id\":\"${inst_org}\"}",
     0},
    {"GET", "/v1/regions", O_NONE, NULL, 0},
    {"POST", "/v1/offers", O_NONE,
     "{\"resource_class\":\"gpu\",\"accelerator\":\"H100\",\"units\":10,"
     "\"fp16_tflops_per_unit\":989,\"memory_gib_per_unit\":80,\"region\":\"guizhou\","
     "\"price_fen_per_unit_hour\":2000,\"available_from\":\"2020-01-01T00:00:00Z\","
     "\"available_until\":\"2031-01-01T00:00:00Z\",\"pue\":1.2,\"green_share\":0.8}",
     0},
    {"GET", "/v1/offers", O_NONE, NULL, 0},
    /* Active offers are the public marketplace: anyone may read any city's. */
    {"GET", "/v1/offers/{id}", O_OFFER, NULL, F_FOREIGN_VISIBLE},
    {"PATCH", "/v1/offers/{id}", O_OFFER, "{\"price_fen_per_unit_hour\":2000}", F_IF_MATCH},
    {"DELETE", "/v1/offers/{id}", O_OFFER_FRESH, NULL, F_IF_MATCH},
    {"POST", "/v1/match", O_NONE,
     "{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-02-01T00:00:00Z\","
     "\"end\":\"2030-02-01T01:00:00Z\"}",
     0},
    /* Reserving another city's public offer is the marketplace working, not a leak. */
    {"POST", "/v1/orders", O_NONE,
     "{\"offer_id\":\"${offer}\",\"units\":1,\"start\":\"2030-03-01T00:00:00Z\","
     "\"end\":\"2030-03-01T01:00:00Z\"}",
     F_FOREIGN_VISIBLE},
    {"GET", "/v1/orders", O_NONE, NULL, 0},
    {"GET", "/v1/orders/{id}", O_ORDER, NULL, 0},
    {"POST", "/v1/orders/{id}/cancel", O_ORDER_FRESH, NULL, 0},
    {"POST", "/v1/orders/{id}/complete", O_ORDER_DUE, NULL, 0},
    {"POST", "/v1/programs", O_NONE,
     "{\"name\":\"Matrix ${uniq}\",\"budget_fen\":1000,\"ends_at\":\"2030-06-01T00:00:00Z\","
     "\"max_subsidy_bp\":5000,\"city_id\":\"${city}\"}",
     0},
    {"GET", "/v1/programs", O_NONE, NULL, 0},
    {"GET", "/v1/programs/{id}", O_PROGRAM, NULL, 0},
    {"PATCH", "/v1/programs/{id}", O_PROGRAM, "{\"max_subsidy_bp\":5000}", F_IF_MATCH},
    {"POST", "/v1/programs/{id}/vouchers", O_PROGRAM,
     "{\"institute_id\":\"${inst_org}\",\"face_value_fen\":100,"
     "\"expires_at\":\"2030-06-01T00:00:00Z\"}",
     0},
    {"GET", "/v1/vouchers", O_NONE, NULL, 0},
    {"GET", "/v1/vouchers/{id}", O_VOUCHER, NULL, 0},
    {"POST", "/v1/vouchers/{id}/revoke", O_VOUCHER_FRESH, NULL, 0},
    /* A token is a bearer capability: whoever holds it may learn whether it is good
     * (api_vouchers_verify); the foreign column therefore answers 200 too. */
    {"POST", "/v1/vouchers/verify", O_NONE, "{\"token\":\"${token}\"}", F_FOREIGN_VISIBLE},
    {"GET", "/v1/keys", O_NONE, NULL, 0},
    {"POST", "/v1/redemptions", O_NONE,
     "{\"voucher_id\":\"${voucher}\",\"order_id\":\"${order}\",\"amount_fen\":1}", 0},
    {"GET", "/v1/redemptions", O_NONE, NULL, 0},
    {"GET", "/v1/audit/events", O_NONE, NULL, 0},
    {"GET", "/v1/audit/checkpoints", O_NONE, NULL, 0},
    {"GET", "/v1/audit/verify", O_NONE, NULL, 0},
    {"GET", "/v1/audit/export", O_NONE, NULL, 0},
    {"GET", "/v1/reports/subsidies", O_NONE, NULL, 0},
    {"GET", "/v1/reports/anomalies", O_NONE, NULL, 0},
    {"GET", "/v1/reports/performance", O_NONE, NULL, 0},
    /* A plan reserves public offers, like an order; a quote changes nothing. */
    {"POST", "/v1/plans", O_NONE,
     "{\"legs\":[{\"offer_id\":\"${offer}\",\"units\":1,\"start\":\"2030-04-01T00:00:00Z\","
     "\"end\":\"2030-04-01T01:00:00Z\"}]}",
     F_FOREIGN_VISIBLE},
    {"POST", "/v1/quotes", O_NONE,
     "{\"legs\":[{\"offer_id\":\"${offer}\",\"units\":1,\"start\":\"2030-04-01T00:00:00Z\","
     "\"end\":\"2030-04-01T01:00:00Z\"}]}",
     F_FOREIGN_VISIBLE},
    {"POST", "/v1/applications", O_NONE,
     "{\"program_id\":\"${program}\",\"requested_fen\":1000,\"purpose\":\"matrix\","
     "\"contract_reference\":\"C-${uniq}\"}",
     0},
    {"GET", "/v1/applications", O_NONE, NULL, 0},
    {"GET", "/v1/applications/{id}", O_APPLICATION, NULL, 0},
    {"POST", "/v1/applications/{id}/approve", O_APPLICATION_FRESH,
     "{\"amount_fen\":500,\"note\":\"matrix\"}", 0},
    {"POST", "/v1/applications/{id}/reject", O_APPLICATION_FRESH, "{\"reason\":\"matrix\"}", 0},
    {"POST", "/v1/applications/{id}/withdraw", O_APPLICATION_FRESH, NULL, 0},
    {"GET", "/v1/programs/{id}/providers", O_PROGRAM, NULL, 0},
    {"GET", "/v1/programs/{id}/providers/{provider_id}", O_PROGRAM, NULL, 0},
    {"PUT", "/v1/programs/{id}/providers/{provider_id}", O_PROGRAM,
     "{\"status\":\"accredited\"}", 0},
    {"DELETE", "/v1/programs/{id}/providers/{provider_id}", O_ACCREDITED_FRESH, NULL, 0},
    {"POST", "/v1/related-parties", O_NONE,
     "{\"provider_id\":\"${prov_org}\",\"institute_id\":\"${new_inst}\"}", 0},
    {"GET", "/v1/related-parties", O_NONE, NULL, 0},
    {"DELETE", "/v1/related-parties/{id}", O_RELATED_FRESH, NULL, 0},
    /* Notifications and webhooks belong to one organisation: even the operator gets 404. */
    {"GET", "/v1/notifications", O_NONE, NULL, 0},
    {"POST", "/v1/notifications/read-all", O_NONE, NULL, 0},
    {"POST", "/v1/notifications/{id}/read", O_NOTIFICATION, NULL, F_OP_NOT_FOREIGN},
    {"POST", "/v1/webhooks", O_NONE,
     "{\"url\":\"https://example.com/matrix\",\"events\":[\"order.created\"]}", 0},
    {"GET", "/v1/webhooks", O_NONE, NULL, 0},
    {"DELETE", "/v1/webhooks/{id}", O_WEBHOOK_FRESH, NULL, F_OP_NOT_FOREIGN},
    {"GET", "/v1/webhooks/{id}/deliveries", O_WEBHOOK, NULL, F_OP_NOT_FOREIGN},
    {"POST", "/v1/orders/{id}/usage", O_ORDER_DONE_FRESH,
     "{\"unit_hours\":5,\"availability\":0.99,\"evidence\":[{\"name\":\"meter.csv\","
     "\"sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}]}",
     0},
    {"GET", "/v1/orders/{id}/usage", O_ORDER, NULL, 0},
    {"POST", "/v1/orders/{id}/usage/accept", O_ORDER_REPORTED_FRESH, NULL, 0},
    {"POST", "/v1/orders/{id}/usage/dispute", O_ORDER_REPORTED_FRESH, "{\"reason\":\"matrix\"}",
     0},
    {"POST", "/v1/orders/{id}/payments", O_ORDER_ACCEPTED_FRESH,
     "{\"amount_fen\":1,\"reference\":\"M-${uniq}\"}", 0},
    {"GET", "/v1/orders/{id}/payments", O_ORDER, NULL, 0},
    /* issue 14: settlement, payouts, recoveries */
    {"GET", "/v1/settlements", O_NONE, NULL, 0},
    {"POST", "/v1/payouts", O_DUE_FRESH, "{\"program_id\":\"${program}\"}", 0},
    {"GET", "/v1/payouts", O_NONE, NULL, 0},
    {"GET", "/v1/payouts/{id}", O_PAYOUT, NULL, 0},
    {"POST", "/v1/payouts/{id}/approve", O_PAYOUT_FRESH, NULL, 0},
    {"POST", "/v1/payouts/{id}/paid", O_PAYOUT_APPROVED,
     "{\"transfer_reference\":\"CNAPS-${uniq}\"}", 0},
    {"POST", "/v1/recoveries", O_NONE,
     "{\"order_id\":\"${settled}\",\"amount_fen\":1,\"reason\":\"matrix\"}", 0},
    {"GET", "/v1/recoveries", O_NONE, NULL, 0},
};

static const struct cell_spec *spec_of(const struct route *rt) {
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (strcmp(specs[i].method, rt->method) == 0 && strcmp(specs[i].pattern, rt->pattern) == 0)
            return &specs[i];
    return NULL;
}

/* ==== one cell ============================================================================ */

/* body with every ${name} replaced by world w's object; malloc'd (NULL for NULL). */
static char *body_for(const char *tmpl, struct side *d) {
    if (tmpl == NULL)
        return NULL;
    char n[16];
    snprintf(n, sizeof n, "%d%d", (int)getpid(), ++uniq);
    char *fresh = strstr(tmpl, "${new_inst}") ? new_institute(d) : NULL;
    const struct {
        const char *name, *value;
    } vars[] = {{"${city}", d->city},
                {"${inst_org}", d->inst_org},
                {"${offer}", d->offer},
                {"${voucher}", d->voucher},
                {"${order}", d->order},
                {"${token}", d->token},
                {"${program}", d->program},
                {"${prov_org}", d->prov_org},
                {"${new_inst}", fresh ? fresh : ""},
                {"${uniq}", n},
                {"${settled}", d->settled}};
    size_t cap = strlen(tmpl) + 4096, len = 0;
    char *out = malloc(cap);
    for (const char *p = tmpl; *p;) {
        bool hit = false;
        for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
            size_t k = strlen(vars[i].name);
            if (strncmp(p, vars[i].name, k) == 0) {
                size_t v = strlen(vars[i].value);
                ck_assert(len + v < cap);
                memcpy(out + len, vars[i].value, v);
                len += v;
                p += k;
                hit = true;
                break;
            }
        }
        if (!hit)
            out[len++] = *p++;
    }
    out[len] = '\0';
    free(fresh);
    return out;
}

static bool uses_world(const char *tmpl) {
    return tmpl != NULL &&
           (strstr(tmpl, "${city}") || strstr(tmpl, "${inst_org}") || strstr(tmpl, "${offer}") ||
            strstr(tmpl, "${voucher}") || strstr(tmpl, "${order}") || strstr(tmpl, "${token}") ||
            strstr(tmpl, "${program}") || strstr(tmpl, "${prov_org}") ||
            strstr(tmpl, "${settled}"));
}

/* A new institute of the side's city, made by its administrator; its id, malloc'd. */
static char *new_institute(struct side *d) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"type\":\"institute\",\"name\":\"Related %d-%d\",\"city_id\":\"%s\"}",
             (int)getpid(), ++uniq, d->city);
    return world_post_id(&w.srv, &d->admin, "/v1/organizations", body);
}

/* The id the cell's {id} names, malloc'd. */
static char *object_for(enum object o, struct side *d, bool own, const struct th_auth *caller) {
    switch (o) {
    case O_KEY_FRESH:
        if (!own || caller == NULL)
            return strdup(B.inst_key);
        return world_post_id(&w.srv, caller, "/v1/api-keys", "{\"name\":\"doomed\"}");
    case O_ORG:
        return strdup(own && caller ? caller->org_id : d->inst_org);
    case O_OFFER:
        return strdup(d->offer);
    case O_OFFER_FRESH:
        return world_offer(&w, &d->prov, "{\"units\":100000}");
    case O_ORDER:
        return strdup(d->order);
    case O_ORDER_FRESH:
        return world_order(&w, &d->inst, d->offer, 1, 10, "2030-01-01T00:00:00Z");
    case O_ORDER_DUE:
        return world_order(&w, &d->inst, d->offer, 1, 10, "2025-01-01T00:00:00Z");
    case O_ORDER_DONE_FRESH:
        return side_order_done(d, 0);
    case O_ORDER_REPORTED_FRESH:
        return side_order_done(d, 1);
    case O_ORDER_ACCEPTED_FRESH:
        return side_order_done(d, 2);
    case O_PROGRAM:
        return strdup(d->program);
    case O_VOUCHER:
        return strdup(d->voucher);
    case O_VOUCHER_FRESH:
        return side_voucher(d, NULL);
    case O_APPLICATION:
        return strdup(d->application);
    case O_APPLICATION_FRESH:
        return side_application(d);
    case O_ACCREDITED_FRESH:
        side_accredit(d);
        return strdup(d->program);
    case O_RELATED_FRESH:
        return side_related(d);
    case O_NOTIFICATION:
        return notification_for(own && caller ? caller->org_id : d->inst_org);
    case O_WEBHOOK:
    case O_WEBHOOK_FRESH:
        if (own && caller && (caller == &d->prov || caller == &d->admin))
            return o == O_WEBHOOK_FRESH ? side_webhook(caller)
                                        : strdup(caller == &d->prov ? d->webhook
                                                                    : d->admin_webhook);
        return strdup(d->webhook);
    case O_DUE_FRESH:
        free(side_due_order(d, NULL));
        return NULL;
    case O_PAYOUT:
        return strdup(own && caller == &d->inst ? d->inst_payout : d->payout);
    case O_PAYOUT_FRESH:
    case O_PAYOUT_APPROVED:
        return side_payout(d, NULL, o == O_PAYOUT_APPROVED);
    default:
        return NULL;
    }
}

/* path with its {id} replaced by id and a {provider_id} by the side's provider. */
static void path_for(char out[256], const char *pattern, const char *id, const struct side *d) {
    const char *brace = strchr(pattern, '{');
    if (brace == NULL || id == NULL) {
        snprintf(out, 256, "%s", pattern);
        return;
    }
    const char *close = strchr(brace, '}');
    const char *second = strstr(close, "{provider_id}");
    if (second)
        snprintf(out, 256, "%.*s%s%.*s%s", (int)(brace - pattern), pattern, id,
                 (int)(second - close - 1), close + 1, d->prov_org);
    else
        snprintf(out, 256, "%.*s%s%s", (int)(brace - pattern), pattern, id, close + 1);
}

/* A session for the caller (for the one route that needs a cookie). */
static void cookie_for(const struct th_auth *caller, enum who who, struct th_auth *out) {
    struct th_resp r = th_req(&w.srv, "GET", "/v1/me", caller, NULL, NULL);
    th_assert_status(&r, 200);
    char pw[64];
    snprintf(pw, sizeof pw, who == W_OP ? "operator-password" : "password-%s",
             who == W_NATIONAL ? "auditor" : who_name[who]);
    memset(out, 0, sizeof *out);
    ck_assert_int_eq(th_login(&w.srv, th_str(&r, "email"), pw, out), 201);
    th_resp_free(&r);
}

/* Runs one cell and checks its answer; returns false (after printing why) on a failure so that
 * every failing cell is listed before the test fails. */
static bool cell(const struct route *rt, const struct cell_spec *sp, enum who who, bool own) {
    struct side *d = own ? &A : &B;
    const struct th_auth *caller = side_auth(&A, who);
    struct th_auth session;
    if ((sp->flags & F_COOKIE) && caller != NULL) {
        cookie_for(caller, who, &session);
        caller = &session;
    }
    char *id = object_for(sp->object, d, own, caller);
    char *body = body_for(sp->body, d);
    char path[256], etag_line[64] = "";
    path_for(path, rt->pattern, id, d);
    if (sp->flags & F_IF_MATCH) {
        struct th_resp g = th_req(&w.srv, "GET", path, &w.op, NULL, NULL);
        th_assert_status(&g, 200);
        char *etag = th_header(&g, "ETag");
        ck_assert_ptr_nonnull(etag);
        snprintf(etag_line, sizeof etag_line, "If-Match: %s", etag);
        free(etag);
        th_resp_free(&g);
    }
    const char *headers[] = {etag_line[0] ? etag_line : NULL, NULL};
    struct th_resp r = th_req(&w.srv, rt->method, path, caller, body, headers);
    cells++;

    long want;
    const char *slug = NULL;
    if (rt->roles == ROLES_PUBLIC)
        want = 200;
    else if (who == W_ANON)
        want = 401, slug = "unauthenticated";
    else if (!(rt->roles & who_role[who]))
        want = 403, slug = "forbidden";
    else if (own || (sp->flags & F_FOREIGN_VISIBLE) ||
             ((who == W_OP || who == W_NATIONAL) && !(sp->flags & F_OP_NOT_FOREIGN)))
        want = 200;
    else
        want = 404, slug = "not-found";

    bool ok;
    if (want == 200)
        ok = r.status >= 200 && r.status < 300;
    else {
        const char *type = r.json ? json_string_value(json_object_get(r.json, "type")) : NULL;
        char expect[64];
        snprintf(expect, sizeof expect, "/problems/%s", slug);
        ok = r.status == want && type != NULL && strstr(type, expect) != NULL;
    }
    if (!ok)
        fprintf(stderr, "CELL FAILED: %s %s as %s on %s object: expected %ld, got %ld: %.300s\n",
                rt->method, rt->pattern, who_name[who], own ? "own" : "foreign", want, r.status,
                r.body ? r.body : "");
    th_resp_free(&r);
    free(id);
    free(body);
    return ok;
}

/* ==== tests =============================================================================== */

START_TEST(every_route_answers_by_role_and_scope_for_own_and_foreign_objects) {
    int failed = 0;
    for (size_t i = 0; i < api_routes_len; i++) {
        const struct route *rt = &api_routes[i];
        const struct cell_spec *sp = spec_of(rt);
        if (sp == NULL) {
            fprintf(stderr, "CELL FAILED: %s %s has no line in the isolation matrix\n", rt->method,
                    rt->pattern);
            failed++;
            continue;
        }
        bool foreign = strchr(rt->pattern, '{') != NULL || uses_world(sp->body);
        for (enum who who = 0; who < W_COUNT; who++) {
            failed += !cell(rt, sp, who, true);
            if (foreign)
                failed += !cell(rt, sp, who, false);
        }
    }
    fprintf(stderr, "isolation matrix: %d routes, %d cells, %d failed\n", (int)api_routes_len,
            cells, failed);
    ck_assert_msg(failed == 0, "%d of %d matrix cells failed (listed above)", failed, cells);
}
END_TEST

/* The ids of world B that world A must never see. Offers and their providers are excluded: an
 * active offer is the public marketplace, visible to every institute by design. */
static json_t *private_ids(struct side *d) {
    json_t *ids = json_pack("[s,s,s,s,s,s,s,s,s,s]", d->city, d->inst_org, d->program, d->voucher,
                            d->order, d->redemption, d->admin.user_id, d->auditor.user_id,
                            d->inst.user_id, d->inst_key);
    char sql[640];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(DISTINCT subject_id::text, ',') FROM audit_events "
             "WHERE city_id = '%s' AND subject_type NOT IN ('offer') AND subject_id IS NOT NULL "
             "AND NOT EXISTS (SELECT 1 FROM orders o JOIN organizations i ON i.id = o.institute_id "
             "WHERE o.id = subject_id AND i.city_id <> '%s')",
             d->city, d->city);
    char *subjects = th_sql(w.dburl, sql);
    for (char *save = NULL, *t = subjects ? strtok_r(subjects, ",", &save) : NULL; t;
         t = strtok_r(NULL, ",", &save))
        if (strcmp(t, d->prov_org) != 0 && strcmp(t, d->prov.user_id) != 0)
            json_array_append_new(ids, json_string(t));
    free(subjects);
    return ids;
}

/* GETs path as caller (with an Accept header or NULL) and counts the ids of world B in the
 * answer; *next gets its next_cursor (malloc'd) or NULL. Returns -1 for a 400 answer. */
static int scan(const char *path, const struct th_auth *caller, enum who who, const char *accept,
                json_t *ids, char **next) {
    char line[64] = "";
    if (accept)
        snprintf(line, sizeof line, "Accept: %s", accept);
    const char *headers[] = {accept ? line : NULL, NULL};
    struct th_resp r = th_req(&w.srv, "GET", path, caller, NULL, headers);
    *next = NULL;
    if (r.status == 400) {
        th_resp_free(&r);
        return -1;
    }
    th_assert_status(&r, 200);
    int leaks = 0;
    size_t k;
    json_t *v;
    json_array_foreach(ids, k, v) {
        if (r.body && strstr(r.body, json_string_value(v))) {
            fprintf(stderr, "LEAK: GET %s%s as %s of %s shows %s of %s\n", path,
                    accept ? " (CSV)" : "", who_name[who], A.name, json_string_value(v), B.name);
            leaks++;
        }
    }
    const char *n = r.json ? json_string_value(json_object_get(r.json, "next_cursor")) : NULL;
    if (n)
        *next = strdup(n);
    th_resp_free(&r);
    return leaks;
}

/* Every GET without {id} (lists, reports, the export) the role is admitted to, read to its
 * last page: a paged list with limit=200, a report grouped by everything that names an id, the
 * subsidy report also as CSV. */
START_TEST(no_list_report_or_export_shows_a_foreign_private_object) {
    json_t *ids = private_ids(&B);
    int failed = 0, reads = 0;
    for (enum who who = W_ADMIN; who <= W_INST; who++) {
        const struct th_auth *caller = side_auth(&A, who);
        for (size_t i = 0; i < api_routes_len; i++) {
            const struct route *rt = &api_routes[i];
            if (strcmp(rt->method, "GET") != 0 || strchr(rt->pattern, '{') ||
                (rt->roles != ROLES_PUBLIC && !(rt->roles & who_role[who])))
                continue;
            bool report = strcmp(rt->pattern, "/v1/reports/subsidies") == 0;
            char path[512], *next = NULL;
            snprintf(path, sizeof path, "%s%s", rt->pattern,
                     report ? "?group_by=program,institute,provider" : "?limit=200");
            if (report) {
                int n = scan(path, caller, who, "text/csv", ids, &next);
                ck_assert_int_ge(n, 0);
                failed += n;
                reads++;
                free(next);
            }
            for (int page = 0; page < 50; page++) {
                int n = scan(path, caller, who, NULL, ids, &next);
                reads++;
                if (n < 0 && page == 0) {
                    snprintf(path, sizeof path, "%s", rt->pattern); /* takes no limit */
                    n = scan(path, caller, who, NULL, ids, &next);
                    reads++;
                }
                ck_assert_msg(n >= 0, "GET %s answered 400", path);
                failed += n;
                if (next == NULL)
                    break;
                snprintf(path, sizeof path, "%s?limit=200&cursor=%s", rt->pattern, next);
                free(next);
            }
        }
    }
    /* The control: the operator, who sees everything, does find B's objects by the same scan,
     * so the absence above is not an artefact of reading the wrong pages. */
    const char *control[][2] = {{"/v1/orders?limit=200", B.order},
                                {"/v1/vouchers?limit=200", B.voucher},
                                {"/v1/programs?limit=200", B.program},
                                {"/v1/redemptions?limit=200", B.redemption},
                                {"/v1/organizations?limit=200", B.inst_org}};
    for (size_t i = 0; i < sizeof control / sizeof control[0]; i++) {
        struct th_resp r = th_req(&w.srv, "GET", control[i][0], &w.op, NULL, NULL);
        th_assert_status(&r, 200);
        ck_assert_msg(strstr(r.body, control[i][1]) != NULL, "the operator does not see %s in %s",
                      control[i][1], control[i][0]);
        th_resp_free(&r);
    }
    fprintf(stderr, "isolation lists: %d reads, %zu private ids of %s, %d leaks\n", reads,
            json_array_size(ids), B.name, failed);
    json_decref(ids);
    ck_assert_msg(failed == 0, "%d foreign private ids appeared in lists (listed above)", failed);
}
END_TEST

/* A fingerprint of everything a write could change. */
static char *fingerprint(void) {
    return th_sql(
        w.dburl,
        "SELECT (SELECT count(*) FROM organizations) || '/' || (SELECT count(*) FROM users)"
        " || '/' || (SELECT count(*) || ':' || sum(price_fen_per_unit_hour) || ':' ||"
        " string_agg(status, '' ORDER BY id) FROM offers)"
        " || '/' || (SELECT count(*) || ':' || string_agg(status, '' ORDER BY id) FROM orders)"
        " || '/' || (SELECT count(*) || ':' || sum(budget_fen) || ':' || sum(issued_fen)"
        " FROM programs)"
        " || '/' || (SELECT count(*) || ':' || sum(balance_fen) FROM vouchers)"
        " || '/' || (SELECT count(*) FROM redemptions) || '/' || (SELECT count(*) FROM "
        "api_keys) || '/' || (SELECT count(*) FROM audit_events)");
}

struct assignment {
    enum who who;
    const char *method, *path; /* {offer} {program} {voucher} {order} of world A */
    const char *body;
    unsigned etag;     /* 1: send the target's ETag */
    bool not_found_ok; /* the refusal may be 404: the body names an organisation out of scope */
};

START_TEST(fields_a_role_may_not_set_are_refused_and_change_nothing) {
    char offer_path[96], program_path[96], voucher_path[128], order_path[128], cancel_path[128],
        revoke_path[128], offer_body[1024], foreign_program[512];
    snprintf(offer_path, sizeof offer_path, "/v1/offers/%s", A.offer);
    snprintf(program_path, sizeof program_path, "/v1/programs/%s", A.program);
    snprintf(voucher_path, sizeof voucher_path, "/v1/programs/%s/vouchers", A.program);
    snprintf(order_path, sizeof order_path, "/v1/orders/%s/complete", A.order);
    snprintf(cancel_path, sizeof cancel_path, "/v1/orders/%s/cancel", A.order);
    snprintf(revoke_path, sizeof revoke_path, "/v1/vouchers/%s/revoke", A.voucher);
    char *ob = world_offer_body(NULL);
    ob[strlen(ob) - 1] = '\0';
    snprintf(offer_body, sizeof offer_body, "%s,\"%%s\":%%s}", ob);
    free(ob);
    snprintf(foreign_program, sizeof foreign_program,
             "{\"name\":\"Stolen\",\"budget_fen\":1000,\"ends_at\":\"2030-06-01T00:00:00Z\","
             "\"max_subsidy_bp\":5000,\"city_id\":\"%s\"}",
             B.city);
    char vbody[4][384], obody[5][1200], ubody[2][384], rbody[256], orgbody[256];
    const char *ofields[][2] = {{"id", "\"01900000-0000-7000-8000-000000000000\""},
                                {"provider_id", "\"00000000-0000-0000-0000-000000000001\""},
                                {"city_id", "\"00000000-0000-0000-0000-000000000001\""},
                                {"status", "\"withdrawn\""},
                                {"version", "7"}};
    for (int i = 0; i < 5; i++) {
        char pid[64];
        snprintf(pid, sizeof pid, "%s", ofields[i][1]);
        if (i == 1)
            snprintf(pid, sizeof pid, "\"%s\"", B.prov_org);
        if (i == 2)
            snprintf(pid, sizeof pid, "\"%s\"", B.city);
        snprintf(obody[i], sizeof obody[i], offer_body, ofields[i][0], pid);
    }
    const char *vfields[] = {"\"balance_fen\":99999999", "\"status\":\"exhausted\"",
                             "\"id\":\"01900000-0000-7000-8000-000000000000\"",
                             "\"program_id\":\"00000000-0000-0000-0000-000000000001\""};
    for (int i = 0; i < 4; i++)
        snprintf(vbody[i], sizeof vbody[i],
                 "{\"institute_id\":\"%s\",\"face_value_fen\":100,"
                 "\"expires_at\":\"2030-06-01T00:00:00Z\",%s}",
                 A.inst_org, vfields[i]);
    snprintf(ubody[0], sizeof ubody[0],
             "{\"email\":\"root@matrix.test\",\"password\":\"password-matrix\","
             "\"role\":\"operator\",\"organization_id\":\"%s\"}",
             w.op.org_id);
    snprintf(ubody[1], sizeof ubody[1],
             "{\"email\":\"boss@matrix.test\",\"password\":\"password-matrix\","
             "\"role\":\"city_admin\",\"organization_id\":\"%s\",\"city_id\":\"%s\"}",
             A.city, B.city);
    snprintf(rbody, sizeof rbody,
             "{\"voucher_id\":\"%s\",\"order_id\":\"%s\",\"amount_fen\":1,\"institute_id\":\"%s\"}",
             A.voucher, A.order, B.inst_org);
    snprintf(orgbody, sizeof orgbody, "{\"type\":\"city\",\"name\":\"Usurped\"}");
    char order_body[512];
    snprintf(order_body, sizeof order_body,
             "{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-04-01T00:00:00Z\","
             "\"end\":\"2030-04-01T01:00:00Z\",\"status\":\"completed\",\"subsidy_fen\":0,"
             "\"gross_fen\":1}",
             A.offer);
    const struct assignment cases[] = {
        {W_PROV, "POST", "/v1/offers", obody[0], 0, false},
        {W_PROV, "POST", "/v1/offers", obody[1], 0, false},
        {W_PROV, "POST", "/v1/offers", obody[2], 0, false},
        {W_PROV, "POST", "/v1/offers", obody[3], 0, false},
        {W_PROV, "POST", "/v1/offers", obody[4], 0, false},
        {W_PROV, "PATCH", offer_path, "{\"provider_id\":\"00000000-0000-0000-0000-000000000001\"}",
         1, false},
        {W_PROV, "PATCH", offer_path, "{\"id\":\"01900000-0000-7000-8000-000000000000\"}", 1,
         false},
        {W_PROV, "PATCH", offer_path, "{\"version\":1}", 1, false},
        {W_PROV, "PATCH", offer_path, "{\"fp16_tflops_per_unit\":99999}", 1, false},
        {W_PROV, "POST", order_path, "{\"status\":\"cancelled\"}", 0, false},
        {W_INST, "POST", "/v1/orders", order_body, 0, false},
        {W_INST, "POST", cancel_path, "{\"status\":\"completed\"}", 0, false},
        {W_INST, "POST", "/v1/redemptions", rbody, 0, false},
        {W_INST, "POST", "/v1/api-keys",
         "{\"name\":\"x\",\"user_id\":\"00000000-0000-0000-0000-000000000001\"}", 0, false},
        {W_INST, "POST", "/v1/organizations", orgbody, 0, false},
        {W_INST, "POST", "/v1/users", ubody[0], 0, false},
        {W_ADMIN, "POST", "/v1/programs", foreign_program, 0, true},
        {W_ADMIN, "POST", "/v1/programs",
         "{\"name\":\"Inflated\",\"budget_fen\":1000,\"ends_at\":\"2030-06-01T00:00:00Z\","
         "\"max_subsidy_bp\":5000,\"issued_fen\":0}",
         0, false},
        {W_ADMIN, "POST", "/v1/programs",
         "{\"name\":\"Redeemed\",\"budget_fen\":1000,\"ends_at\":\"2030-06-01T00:00:00Z\","
         "\"max_subsidy_bp\":5000,\"redeemed_fen\":5}",
         0, false},
        {W_ADMIN, "PATCH", program_path, "{\"issued_fen\":0}", 1, false},
        {W_ADMIN, "PATCH", program_path, "{\"released_fen\":100}", 1, false},
        {W_ADMIN, "PATCH", program_path, "{\"city_id\":\"00000000-0000-0000-0000-000000000001\"}",
         1, false},
        {W_ADMIN, "POST", voucher_path, vbody[0], 0, false},
        {W_ADMIN, "POST", voucher_path, vbody[1], 0, false},
        {W_ADMIN, "POST", voucher_path, vbody[2], 0, false},
        {W_ADMIN, "POST", voucher_path, vbody[3], 0, false},
        {W_ADMIN, "POST", revoke_path, "{\"status\":\"active\"}", 0, false},
        /* An operator belongs to the operator organisation, which a city administrator cannot
         * see: the escalation is refused as not found. */
        {W_ADMIN, "POST", "/v1/users", ubody[0], 0, true},
        {W_ADMIN, "POST", "/v1/users", ubody[1], 0, false},
        {W_ADMIN, "POST", "/v1/organizations", orgbody, 0, false},
        {W_AUDITOR, "PATCH", program_path, "{\"budget_fen\":1}", 1, false},
        {W_AUDITOR, "POST", voucher_path, vbody[0], 0, false},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct assignment *c = &cases[i];
        char etag_line[64] = "";
        if (c->etag) {
            struct th_resp g = th_req(&w.srv, "GET", c->path, &w.op, NULL, NULL);
            char *etag = th_header(&g, "ETag");
            ck_assert_ptr_nonnull(etag);
            snprintf(etag_line, sizeof etag_line, "If-Match: %s", etag);
            free(etag);
            th_resp_free(&g);
        }
        const char *headers[] = {etag_line[0] ? etag_line : NULL, NULL};
        char *before = fingerprint();
        struct th_resp r =
            th_req(&w.srv, c->method, c->path, side_auth(&A, c->who), c->body, headers);
        char *after = fingerprint();
        /* A 400 must be the decoder refusing the field by name, not some other complaint. */
        bool refused = (r.status == 400 && r.body && strstr(r.body, "is not a known field")) ||
                       r.status == 403 || (c->not_found_ok && r.status == 404);
        bool unchanged = before && after && strcmp(before, after) == 0;
        if (!refused || !unchanged) {
            fprintf(stderr, "MASS ASSIGNMENT: %s %s as %s with %s: got %ld%s: %.200s\n", c->method,
                    c->path, who_name[c->who], c->body, r.status,
                    unchanged ? "" : " and the database changed", r.body ? r.body : "");
            failed++;
        }
        cells++;
        th_resp_free(&r);
        free(before);
        free(after);
    }
    fprintf(stderr, "isolation mass assignment: %zu cases, %d failed\n",
            sizeof cases / sizeof cases[0], failed);
    ck_assert_msg(failed == 0, "%d mass-assignment cases were not refused (listed above)", failed);
}
END_TEST

/* A write naming one own and one foreign object in its body: the foreign one is not found,
 * and nothing changes. (The matrix's foreign column names only B's objects.) */
START_TEST(a_foreign_object_named_in_a_body_is_not_found_and_changes_nothing) {
    char program_vouchers[96];
    snprintf(program_vouchers, sizeof program_vouchers, "/v1/programs/%s/vouchers", A.program);
    struct {
        enum who who;
        const char *path;
        char body[384];
    } cases[4] = {
        {W_INST, "/v1/redemptions", ""},
        {W_INST, "/v1/redemptions", ""},
        {W_ADMIN, program_vouchers, ""},
        {W_INST, "/v1/orders", ""},
    };
    snprintf(cases[0].body, sizeof cases[0].body,
             "{\"voucher_id\":\"%s\",\"order_id\":\"%s\",\"amount_fen\":1}", A.voucher, B.order);
    snprintf(cases[1].body, sizeof cases[1].body,
             "{\"voucher_id\":\"%s\",\"order_id\":\"%s\",\"amount_fen\":1}", B.voucher, A.order);
    snprintf(cases[2].body, sizeof cases[2].body,
             "{\"institute_id\":\"%s\",\"face_value_fen\":100,"
             "\"expires_at\":\"2030-06-01T00:00:00Z\"}",
             B.inst_org);
    snprintf(cases[3].body, sizeof cases[3].body,
             "{\"offer_id\":\"%s\",\"units\":1,\"start\":\"2030-05-01T00:00:00Z\","
             "\"end\":\"2030-05-01T01:00:00Z\",\"vouchers\":[{\"voucher_id\":\"%s\"}]}",
             A.offer, B.voucher);
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *before = fingerprint();
        struct th_resp r =
            th_req(&w.srv, "POST", cases[i].path, side_auth(&A, cases[i].who), cases[i].body, NULL);
        char *after = fingerprint();
        const char *type = r.json ? json_string_value(json_object_get(r.json, "type")) : NULL;
        bool ok = r.status == 404 && type && strstr(type, "/problems/not-found") && before &&
                  after && strcmp(before, after) == 0;
        if (!ok) {
            fprintf(stderr, "FOREIGN REFERENCE: POST %s as %s with %s: got %ld: %.300s\n",
                    cases[i].path, who_name[cases[i].who], cases[i].body, r.status,
                    r.body ? r.body : "");
            failed++;
        }
        th_resp_free(&r);
        free(before);
        free(after);
    }
    ck_assert_msg(failed == 0, "%d foreign references were not answered 404 (listed above)",
                  failed);
}
END_TEST

/* A report (or list) filtered by a programme of world B: for A's administrator and auditor, JSON
 * and CSV alike, the programme does not exist (404); the operator and a national auditor, who
 * see everything, read it. (The matrix puts no object in a query string.) */
START_TEST(a_report_of_a_foreign_programme_is_not_found) {
    static const char *const paths[] = {"/v1/reports/performance?program_id=%s",
                                        "/v1/reports/performance?program_id=%s&format=csv",
                                        "/v1/reports/anomalies?program_id=%s"};
    int failed = 0;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char path[160];
        snprintf(path, sizeof path, paths[i], B.program);
        for (enum who who = W_OP; who <= W_NATIONAL; who++) {
            if (who == W_PROV || who == W_INST)
                continue;
            long want = who == W_ADMIN || who == W_AUDITOR ? 404 : 200;
            struct th_resp r = th_req(&w.srv, "GET", path, side_auth(&A, who), NULL, NULL);
            if (r.status != want) {
                fprintf(stderr, "FOREIGN PROGRAMME: GET %s as %s: expected %ld, got %ld: %.300s\n",
                        path, who_name[who], want, r.status, r.body ? r.body : "");
                failed++;
            }
            th_resp_free(&r);
        }
    }
    ck_assert_msg(failed == 0, "%d reports of a foreign programme answered wrongly (listed above)",
                  failed);
}
END_TEST

int main(void) {
    Suite *s = suite_create("isolation");
    th_shared(up, down);
    th_case(s, every_route_answers_by_role_and_scope_for_own_and_foreign_objects, 600, NULL, NULL);
    th_case(s, no_list_report_or_export_shows_a_foreign_private_object, 600, NULL, NULL);
    th_case(s, fields_a_role_may_not_set_are_refused_and_change_nothing, 600, NULL, NULL);
    th_case(s, a_foreign_object_named_in_a_body_is_not_found_and_changes_nothing, 600, NULL, NULL);
    th_case(s, a_report_of_a_foreign_programme_is_not_found, 600, NULL, NULL);
    return th_run(s);
}
