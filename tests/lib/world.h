/* world.h — the one world the integration suites test in, built through the public API: a
 * server on a fresh database, an operator, and two cities with the same cast. Chengdu, where
 * most tests act, has a city administrator, an auditor, two providers and two institutes; Hami
 * has an administrator, an auditor, a provider and an institute, to show what stays out of
 * reach. Helpers post the objects a test needs (offers, orders, programmes, vouchers), so that
 * each test case makes its own state. */
#ifndef SUANLI_WORLD_H
#define SUANLI_WORLD_H

#include "harness.h"

#include <stdbool.h>

struct world {
    struct th_server srv, srv2; /* srv2 runs only with WORLD_TWO_SERVERS (one database) */
    bool two;
    char *dburl;
    struct th_auth op;
    /* Chengdu */
    char *city, *prov_org, *prov2_org, *inst_org, *inst2_org;
    struct th_auth admin, auditor, prov, prov2, inst, inst2;
    /* Hami */
    char *other_city, *other_prov_org, *other_inst_org;
    struct th_auth other_admin, other_auditor, other_prov, other_inst;
    /* WORLD_OFFER: prov's offer of 100 000 H100 units in guizhou (west), green share 0.8,
     * 2000 fen per unit-hour, 2020 to 2031 */
    char *offer;
};

enum world_flags {
    WORLD_TWO_SERVERS = 1 << 0, /* a second suanlid on the same database */
    WORLD_OFFER = 1 << 1,       /* the world's offer, for suites that reserve and redeem */
};

/* Builds the world on a new database named after label. */
void world_setup(struct world *w, const char *label, unsigned flags);
/* Stops its servers and frees it; 0 when every server exited cleanly (no leaks). */
int world_teardown(struct world *w);

/* POSTs body to path as by on s, expects 201 (or 200) and returns member "id", malloc'd. */
char *world_post_id(const struct th_server *s, const struct th_auth *by, const char *path,
                    const char *body);

/* ==== offers and orders =================================================================== */

/* A valid offer body: 10 H100 units in guizhou, 2000 fen per unit-hour, 2020 to 2031; members
 * of overrides (a JSON object text, may be NULL) replace or add fields (null removes one).
 * malloc'd. */
char *world_offer_body(const char *overrides);
/* Posts an offer as by (201 expected); its id, malloc'd. */
char *world_offer(struct world *w, const struct th_auth *by, const char *overrides);
/* POST /v1/orders {offer, units, start, end} as by on s (NULL: srv); the caller frees it. */
struct th_resp world_order_post(struct world *w, const struct th_server *s,
                                const struct th_auth *by, const char *offer, int units,
                                const char *start, const char *end, const char *const *headers);
/* A reserved order of units for hours on offer (NULL: the world's) by an institute, starting
 * at start (NULL: 2030-01-01T00:00:00Z); its id, malloc'd. gross = units × hours × price. */
char *world_order(struct world *w, const struct th_auth *by, const char *offer, int units,
                  int hours, const char *start);

/* The provider of completed order reports unit_hours (a JSON number text) of usage, with one
 * evidence item, and its institute accepts it (201 and 200 expected): the order is re-billed
 * and, unless a programme waits for the buyer's payment, due. */
void world_usage_accepted(struct world *w, const struct th_auth *prov, const struct th_auth *inst,
                          const char *order, const char *unit_hours);

/* ==== programmes and vouchers ============================================================= */

/* now + secs as RFC 3339 (UTC, whole seconds) into out. */
const char *world_time(char out[32], long secs);
/* A programme body: a unique name, budget 100 000 000 fen, max_subsidy_bp 5000, all regions
 * and classes, until 2030; overrides as for world_offer_body. malloc'd. */
char *world_program_body(const char *overrides);
/* Creates a programme as Chengdu's administrator (201 expected); its id, malloc'd. */
char *world_program(struct world *w, const char *overrides);
/* POST /v1/programs/{program}/vouchers with body as by on s (NULL: srv). */
struct th_resp world_issue(struct world *w, const struct th_server *s, const struct th_auth *by,
                           const char *program, const char *body, const char *const *headers);
/* Issues one voucher as Chengdu's administrator (201 expected) and returns the answer (the
 * caller frees it). expires NULL: 2030-01-01; extra is added inside the body (e.g.
 * ",\"not_before\":\"…\"") or NULL. */
struct th_resp world_voucher(struct world *w, const char *program, const char *institute,
                             long long face, const char *expires, const char *extra);
/* The id of a voucher issued as world_voucher does, malloc'd. */
char *world_voucher_id(struct world *w, const char *program, const char *institute, long long face);

/* ==== reading back ======================================================================== */

/* The value of a one-value SQL query (printf format) as a long long. */
long long world_sql_ll(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Asserts that ledger_check() finds I1, I2 and every stored balance in order. */
void world_ledger_ok(struct world *w);
/* GET path as by (200 expected) and return the integer member of the answer. */
long long world_get_int(struct world *w, const struct th_auth *by, const char *path,
                        const char *member);

/* ==== tokens that must be refused ========================================================= */

/* The token with one character of its signature changed (still valid base64url). */
char *world_forge_signature(const char *token);
/* The token with its payload changed (amt raised) and the original signature and footer. */
char *world_tamper_payload(const char *token);
/* A well-formed voucher token for the same claims, signed by a key the service never saw. */
char *world_foreign_key_token(const char *token);

#endif
