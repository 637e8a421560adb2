/* config.c — configuration as one typed table, validated at start (after PgBouncer's CF_ABS):
 * every variable, its type, its default and where it goes are declared once below, and the
 * help text is printed from the same table. */
#include "config.h"

#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SUANLI_SHARE_DIR
#define SUANLI_SHARE_DIR "."
#endif

struct config cfg;

enum cf_type { CF_STRING, CF_INT, CF_LISTEN, CF_LOGLEVEL, CF_MODE, CF_SWITCH, CF_CIDRS };

struct cf_entry {
    const char *name;
    enum cf_type type;
    void *dst;
    const char *def; /* NULL = unset */
    int64_t min, max;
    const char *help;
};

static char *listen_raw;

static const struct cf_entry table[] = {
    {"SUANLI_LISTEN", CF_LISTEN, &listen_raw, "127.0.0.1:8080", 0, 0,
     "address:port to serve HTTP on"},
    {"DATABASE_URL", CF_STRING, &cfg.database_url, NULL, 0, 0,
     "libpq connection string; unset = embedded PostgreSQL under the data directory"},
    {"DATABASE_READ_URL", CF_STRING, &cfg.database_read_url, NULL, 0, 0,
     "streaming replica for read-only endpoints; unset = the primary"},
    {"SUANLI_MIGRATE_URL", CF_STRING, &cfg.migrate_url, NULL, 0, 0,
     "libpq connection string of the owner role, for `suanlid migrate` and the tools that "
     "migrate (create-user, demo-seed, serve --migrate); unset = DATABASE_URL"},
    {"SUANLI_DB_RUNTIME_ROLE", CF_STRING, &cfg.db_runtime_role, "suanli_app", 0, 0,
     "the PostgreSQL role serve connects as: migrate grants it EXECUTE on the API functions and "
     "the column grants of server/migrate.c, nothing else"},
    {"SUANLI_DATA_DIR", CF_STRING, &cfg.data_dir, "./var", 0, 0, "data directory"},
    {"SUANLI_KEY_FILE", CF_STRING, &cfg.key_file, NULL, 0, 0,
     "signing key file from `suanlid keygen`; development default <data dir>/keys.json"},
    {"SUANLI_SQL_DIR", CF_STRING, &cfg.sql_dir, SUANLI_SHARE_DIR "/sql", 0, 0, "migrations"},
    {"SUANLI_WEB_DIR", CF_STRING, &cfg.web_dir, SUANLI_SHARE_DIR "/web", 0, 0, "web UI files"},
    {"SUANLI_OPENAPI_FILE", CF_STRING, &cfg.openapi_file, SUANLI_SHARE_DIR "/openapi.yaml", 0, 0,
     "the API description served at /openapi.yaml"},
    {"SUANLI_LOG_LEVEL", CF_LOGLEVEL, &cfg.log_level, "info", 0, 0, "debug, info, warn or error"},
    {"SUANLI_MODE", CF_MODE, &cfg.production, "development", 0, 0,
     "development or production (production refuses the demo seed and generated keys)"},
    {"SUANLI_THREADS", CF_INT, &cfg.threads, "8", 1, 256,
     "worker threads, each with its own PostgreSQL connection; requests wait for the next free "
     "one in arrival order"},
    {"SUANLI_IO_THREADS", CF_INT, &cfg.io_threads, "2", 1, 64,
     "network threads: they read requests and write replies, the workers run the handlers"},
    {"SUANLI_MAX_CONNECTIONS", CF_INT, &cfg.max_connections, "1024", 1, 100000,
     "open HTTP connections at most"},
    {"SUANLI_PER_IP_CONNECTIONS", CF_INT, &cfg.per_ip_connections, "256", 1, 100000,
     "open HTTP connections per client address at most"},
    {"SUANLI_CONNECTION_TIMEOUT", CF_INT, &cfg.connection_timeout_s, "30", 1, 3600,
     "seconds an idle or slow connection is kept"},
    {"SUANLI_DB_TIMEOUT_MS", CF_INT, &cfg.db_timeout_ms, "5000", 100, 600000,
     "statement timeout and connect timeout for PostgreSQL, milliseconds"},
    {"SUANLI_LOGIN_ATTEMPTS", CF_INT, &cfg.login_attempts, "5", 1, 1000,
     "failed logins per account and address within a minute before 429"},
    {"SUANLI_LOGIN_ACCOUNT_ATTEMPTS", CF_INT, &cfg.login_account_attempts, "20", 1, 100000,
     "failed logins per account from all addresses together within a minute before 429"},
    {"SUANLI_LOGIN_ADDRESS_ATTEMPTS", CF_INT, &cfg.login_address_attempts, "50", 1, 100000,
     "failed logins from one client address for all accounts within a minute before 429"},
    {"SUANLI_LOGIN_GLOBAL_ATTEMPTS", CF_INT, &cfg.login_global_attempts, "1000", 1, 10000000,
     "failed logins of the whole service (all replicas) within a minute before 429"},
    {"SUANLI_PASSWORD_HASHERS", CF_INT, &cfg.password_hashers, "2", 1, 256,
     "Argon2id password checks that run at once in this process (64 MiB each); others wait"},
    {"SUANLI_PASSWORD_WAIT_MS", CF_INT, &cfg.password_wait_ms, "2000", 0, 60000,
     "milliseconds a login waits for a free password hasher before 503 password-hashers-busy"},
    {"SUANLI_SESSION_TTL", CF_INT, &cfg.session_ttl_s, "43200", 60, 2592000,
     "session lifetime in seconds"},
    {"SUANLI_AUDIT_SEALER", CF_SWITCH, &cfg.audit_sealer, "on", 0, 0,
     "on or off: this process chains and checkpoints the audit log (server/audit_seal.c)"},
    {"SUANLI_AUDIT_SEAL_MS", CF_INT, &cfg.audit_seal_ms, "1000", 10, 60000,
     "milliseconds between two rounds of the audit sealer"},
    {"SUANLI_AUDIT_CHECKPOINT_MS", CF_INT, &cfg.audit_checkpoint_ms, "2000", 0, 3600000,
     "a new signed audit checkpoint once the last one is this old and events arrived"},
    {"SUANLI_PUBLIC_URL", CF_STRING, &cfg.public_url, NULL, 0, 0,
     "the URL clients reach the service at (https://suanli.example.cn); https makes the session "
     "cookie __Host-/Secure and sends Strict-Transport-Security"},
    {"SUANLI_TRUSTED_PROXIES", CF_CIDRS, &cfg.trusted_proxies, NULL, 0, 0,
     "comma-separated addresses/CIDRs of reverse proxies whose X-Forwarded-For/Forwarded is "
     "believed; unset = none, the peer address is the client"},
    {"SUANLI_METRICS_ALLOW", CF_CIDRS, &cfg.metrics_allow, NULL, 0, 0,
     "comma-separated addresses/CIDRs that may read /metrics (others get 403); unset = anyone"},
    {"SUANLI_AUDIT_UNCHAINED_MAX_S", CF_INT, &cfg.audit_unchained_max_s, "60", 1, 86400,
     "GET /v1/audit/verify fails when a committed event stays unchained longer (seconds)"},
    {"SUANLI_AUDIT_WITNESS_FILE", CF_STRING, &cfg.audit_witness_file, NULL, 0, 0,
     "file outside the database that every signed audit checkpoint is appended to (JSON lines)"},
    {"SUANLI_AUDIT_WITNESS_URL", CF_STRING, &cfg.audit_witness_url, NULL, 0, 0,
     "http(s) URL that every signed audit checkpoint is also POSTed to (its JSON line), retried"},
    {"SUANLI_NOTIFY_MS", CF_INT, &cfg.notify_ms, "10000", 100, 3600000,
     "milliseconds between two runs of the notifications job (expiry notices, new anomaly flags)"},
    {"SUANLI_WEBHOOKS", CF_SWITCH, &cfg.webhooks, "on", 0, 0,
     "on or off: this process delivers webhooks from the outbox (server/webhook.c)"},
    {"SUANLI_WEBHOOK_TIMEOUT_MS", CF_INT, &cfg.webhook_timeout_ms, "10000", 100, 120000,
     "milliseconds a webhook receiver has to answer one delivery"},
    {"SUANLI_WEBHOOK_ALLOW_PRIVATE", CF_INT, &cfg.webhook_allow_private, "0", 0, 1,
     "1 lets webhooks reach loopback and private addresses (tests, closed networks); 0 refuses "
     "them"},
    {"SUANLI_DB_PREPARED", CF_SWITCH, &cfg.db_prepared, "on", 0, 0,
     "on: each statement is prepared once per connection (named); off: sent unnamed each time, "
     "as behind PgBouncer in transaction pooling mode, which cannot track named statements"},
    {"SUANLI_GROUP_COMMIT", CF_SWITCH, &cfg.group_commit, "off", 0, 0,
     "on: POST /v1/redemptions of several requests commit together in one transaction (group "
     "commit, server/group.c), each answered after that commit; off: each in its own"},
    {"SUANLI_GROUP_COMMIT_LANES", CF_INT, &cfg.group_commit_lanes, "2", 1, 16,
     "groups in flight at once with SUANLI_GROUP_COMMIT=on, each on its own connection; a "
     "credential's requests always share one lane"},
    {"SUANLI_CONNECTION_MEMORY_KIB", CF_INT, &cfg.connection_memory_kib, "16", 8, 1024,
     "KiB of memory each HTTP connection has for its request line, headers and reply headers "
     "(larger headers: 431); an idle keep-alive connection holds it"},
};

static int parse_listen(const char *value) {
    const char *colon = strrchr(value, ':');
    int64_t port;
    if (colon == NULL || colon == value || !util_parse_int64(colon + 1, 0, 65535, &port))
        return -1;
    size_t hlen = (size_t)(colon - value);
    if (value[0] == '[' && hlen > 2 && value[hlen - 1] == ']') {
        value++;
        hlen -= 2;
    }
    cfg.listen_host = strndup(value, hlen);
    cfg.listen_port = (int)port;
    return 0;
}

/* Parses one "address" or "address/bits" into c. */
static bool parse_cidr(const char *text, struct cidr *c) {
    char buf[INET6_ADDRSTRLEN + 8];
    if (strlen(text) >= sizeof buf)
        return false;
    strcpy(buf, text);
    char *slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    memset(c, 0, sizeof *c);
    int max;
    if (inet_pton(AF_INET, buf, c->addr) == 1) {
        c->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
        c->family = AF_INET6;
        max = 128;
    } else {
        return false;
    }
    int64_t bits = max;
    if (slash != NULL && !util_parse_int64(slash + 1, 0, max, &bits))
        return false;
    c->bits = (int)bits;
    return true;
}

/* Parses a comma-separated list of ranges; false on any bad entry or an empty list. */
static bool parse_cidr_list(const char *value, struct cidr_list *out) {
    char *copy = strdup(value);
    size_t cap = 1;
    for (const char *p = value; *p; p++)
        cap += *p == ',';
    out->v = calloc(cap, sizeof *out->v);
    out->n = 0;
    bool ok = copy != NULL && out->v != NULL;
    char *save = NULL;
    for (char *tok = ok ? strtok_r(copy, ",", &save) : NULL; ok && tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && isspace((unsigned char)end[-1]))
            *--end = '\0';
        ok = parse_cidr(tok, &out->v[out->n++]);
    }
    free(copy);
    if (ok && out->n > 0)
        return true;
    free(out->v);
    out->v = NULL;
    out->n = 0;
    return false;
}

static bool cidr_match(const struct cidr *c, int family, const unsigned char *addr) {
    if (c->family != family)
        return false;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, addr, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (addr[full] & mask);
}

bool cidr_list_match(const struct cidr_list *list, const char *ip) {
    unsigned char addr[16];
    int family;
    if (inet_pton(AF_INET, ip, addr) == 1) {
        family = AF_INET;
    } else if (inet_pton(AF_INET6, ip, addr) == 1) {
        family = AF_INET6;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(addr, mapped, sizeof mapped) == 0) { /* ::ffff:a.b.c.d is a.b.c.d */
            memmove(addr, addr + 12, 4);
            family = AF_INET;
        }
    } else {
        return false;
    }
    for (size_t i = 0; i < list->n; i++)
        if (cidr_match(&list->v[i], family, addr))
            return true;
    return false;
}

int config_load(void) {
    config_cleanup();
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct cf_entry *e = &table[i];
        const char *value = getenv(e->name);
        if (value != NULL && value[0] == '\0')
            value = NULL;
        if (value == NULL)
            value = e->def;
        switch (e->type) {
        case CF_STRING:
            *(char **)e->dst = value ? strdup(value) : NULL;
            break;
        case CF_LISTEN:
            if (parse_listen(value) != 0) {
                fprintf(stderr, "suanlid: %s=%s: expected address:port (port 0-65535)\n", e->name,
                        value);
                return -1;
            }
            break;
        case CF_INT:
            if (!util_parse_int64(value, e->min, e->max, (int64_t *)e->dst)) {
                fprintf(stderr, "suanlid: %s=%s: expected an integer from %lld to %lld\n", e->name,
                        value, (long long)e->min, (long long)e->max);
                return -1;
            }
            break;
        case CF_LOGLEVEL: {
            int level = log_level_parse(value);
            if (level < 0) {
                fprintf(stderr, "suanlid: %s=%s: expected debug, info, warn or error\n", e->name,
                        value);
                return -1;
            }
            *(int *)e->dst = level;
            break;
        }
        case CF_MODE:
            if (strcmp(value, "production") != 0 && strcmp(value, "development") != 0) {
                fprintf(stderr, "suanlid: %s=%s: expected development or production\n", e->name,
                        value);
                return -1;
            }
            *(bool *)e->dst = strcmp(value, "production") == 0;
            break;
        case CF_SWITCH:
            if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
                fprintf(stderr, "suanlid: %s=%s: expected on or off\n", e->name, value);
                return -1;
            }
            *(bool *)e->dst = strcmp(value, "on") == 0;
            break;
        case CF_CIDRS:
            if (value != NULL && !parse_cidr_list(value, (struct cidr_list *)e->dst)) {
                fprintf(stderr,
                        "suanlid: %s=%s: expected comma-separated IP addresses or CIDRs "
                        "(10.0.0.0/8, ::1)\n",
                        e->name, value);
                return -1;
            }
            break;
        }
    }
    if (cfg.public_url != NULL && strncmp(cfg.public_url, "https://", 8) != 0 &&
        strncmp(cfg.public_url, "http://", 7) != 0) {
        fprintf(stderr, "suanlid: SUANLI_PUBLIC_URL=%s: expected an http:// or https:// URL\n",
                cfg.public_url);
        return -1;
    }
    if (cfg.audit_witness_url != NULL && strncmp(cfg.audit_witness_url, "https://", 8) != 0 &&
        strncmp(cfg.audit_witness_url, "http://", 7) != 0) {
        fprintf(stderr,
                "suanlid: SUANLI_AUDIT_WITNESS_URL=%s: expected an http:// or https:// URL\n",
                cfg.audit_witness_url);
        return -1;
    }
    cfg.public_https = cfg.public_url != NULL && strncmp(cfg.public_url, "https://", 8) == 0;
    log_set_level((enum log_level)cfg.log_level);
    return 0;
}

void config_cleanup(void) {
    free(cfg.listen_host);
    free(cfg.database_url);
    free(cfg.database_read_url);
    free(cfg.migrate_url);
    free(cfg.db_runtime_role);
    free(cfg.data_dir);
    free(cfg.key_file);
    free(cfg.sql_dir);
    free(cfg.web_dir);
    free(cfg.openapi_file);
    free(cfg.trusted_proxies.v);
    free(cfg.metrics_allow.v);
    free(cfg.public_url);
    free(cfg.audit_witness_file);
    free(cfg.audit_witness_url);
    memset(&cfg, 0, sizeof cfg);
}

void config_print_help(void) {
    printf("Environment:\n");
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        printf("  %-26s %s%s%s%s\n", table[i].name, table[i].help, table[i].def ? " (default " : "",
               table[i].def ? table[i].def : "", table[i].def ? ")" : "");
}
