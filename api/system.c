/* system.c — operations endpoints: health, readiness, metrics, the API description. */
#include "api.h"

#include "config.h"
#include "cron.h"
#include "log.h"
#include "migrate.h"
#include "witness.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int api_identity_init(void);

int api_vouchers_init(void);
void api_vouchers_cleanup(void);

static int expected_migrations;
static char expected_digest[65];

int api_init(void) {
    if (migrate_expected(cfg.sql_dir, &expected_migrations, expected_digest) != 0)
        return -1;
    if (api_identity_init() != 0 || api_notifications_init() != 0)
        return -1;
    return api_vouchers_init();
}

void api_cleanup(void) {
    api_vouchers_cleanup();
}

void api_system_healthz(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static const char SQL_MIGRATIONS[] = "SELECT checksum FROM schema_migrations ORDER BY version";

/* Ready means: the primary answers, and it holds exactly the migrations this binary ships. */
void api_system_readyz(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    PGresult *res;
    int rc = db_exec_idempotent(SQL_MIGRATIONS, 0, NULL, &res);
    if (rc < 0) {
        http_problem(r, P_UNAVAILABLE, "the database is unreachable");
        return;
    }
    crypto_generichash_state st;
    unsigned char h[32];
    char digest[65];
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    for (int i = 0; i < rc; i++)
        crypto_generichash_update(&st, (const unsigned char *)PQgetvalue(res, i, 0), 64);
    crypto_generichash_final(&st, h, sizeof h);
    util_hex(h, sizeof h, digest);
    PQclear(res);
    if (rc != expected_migrations || strcmp(digest, expected_digest) != 0) {
        http_problem(r, P_UNAVAILABLE, "the database has %d migrations; this server expects %d", rc,
                     expected_migrations);
        return;
    }
    http_reply_json(r, 200,
                    json_pack("{s:s, s:i}", "status", "ready", "migrations", expected_migrations));
}

void api_system_metrics(struct http_req *r) {
    if (cfg.metrics_allow.n > 0 && !cidr_list_match(&cfg.metrics_allow, r->client_ip)) {
        http_problem(r, P_FORBIDDEN, "the metrics are not served to this address");
        return;
    }
    if (!qf_decode(r, NULL))
        return;
    struct buf b = {0};
    http_metrics_render(&b);
    api_identity_metrics(&b);
    witness_url_metrics(&b);
    cron_render_metrics(&b);
    if (b.oom) {
        buf_free(&b);
        http_problem(r, P_INTERNAL, "out of memory");
        return;
    }
    http_reply_take(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
}

void api_system_openapi(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    size_t len;
    char *text = util_read_file(cfg.openapi_file, &len);
    if (text == NULL) {
        http_problem(r, P_NOT_FOUND, "the API description is not installed");
        return;
    }
    http_reply_take(r, 200, "application/yaml", text, len);
}
