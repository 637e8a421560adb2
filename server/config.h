/* config.h — the process configuration, read once from the environment and validated. */
#ifndef SUANLI_CONFIG_H
#define SUANLI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address range: family AF_INET or AF_INET6, address in network order, prefix length. */
struct cidr {
    int family;
    unsigned char addr[16];
    int bits;
};

/* A list of address ranges from a comma-separated setting ("10.0.0.0/8, 127.0.0.1, ::1"). */
struct cidr_list {
    struct cidr *v;
    size_t n;
};

struct config {
    char *listen_host;            /* SUANLI_LISTEN host part */
    int listen_port;              /* SUANLI_LISTEN port part */
    char *database_url;           /* DATABASE_URL; NULL = embedded cluster */
    char *database_read_url;      /* DATABASE_READ_URL; NULL = primary */
    char *migrate_url;            /* SUANLI_MIGRATE_URL: the owner role; NULL = DATABASE_URL */
    char *db_runtime_role;        /* SUANLI_DB_RUNTIME_ROLE: the role serve connects as */
    char *data_dir;               /* SUANLI_DATA_DIR */
    char *key_file;               /* SUANLI_KEY_FILE; NULL = <data_dir>/keys.json in development */
    char *sql_dir;                /* SUANLI_SQL_DIR */
    char *web_dir;                /* SUANLI_WEB_DIR */
    char *openapi_file;           /* SUANLI_OPENAPI_FILE */
    int log_level;                /* SUANLI_LOG_LEVEL */
    bool production;              /* SUANLI_MODE=production */
    int64_t threads;              /* SUANLI_THREADS: worker threads = Postgres connections */
    int64_t io_threads;           /* SUANLI_IO_THREADS: libmicrohttpd's network threads */
    int64_t max_connections;      /* SUANLI_MAX_CONNECTIONS */
    int64_t per_ip_connections;   /* SUANLI_PER_IP_CONNECTIONS */
    int64_t connection_timeout_s; /* SUANLI_CONNECTION_TIMEOUT */
    int64_t db_timeout_ms;        /* SUANLI_DB_TIMEOUT_MS: statement timeout */
    int64_t login_attempts;       /* SUANLI_LOGIN_ATTEMPTS per account and address per minute */
    int64_t login_account_attempts; /* SUANLI_LOGIN_ACCOUNT_ATTEMPTS per account, any address */
    int64_t login_address_attempts; /* SUANLI_LOGIN_ADDRESS_ATTEMPTS per address, any account */
    int64_t login_global_attempts;  /* SUANLI_LOGIN_GLOBAL_ATTEMPTS for the whole service */
    int64_t password_hashers;       /* SUANLI_PASSWORD_HASHERS: Argon2id runs at once at most */
    int64_t password_wait_ms;       /* SUANLI_PASSWORD_WAIT_MS: wait for a hasher, then 503 */
    int64_t session_ttl_s;          /* SUANLI_SESSION_TTL */
    bool audit_sealer;              /* SUANLI_AUDIT_SEALER=on|off */
    int64_t audit_seal_ms;          /* SUANLI_AUDIT_SEAL_MS: pause between sealer rounds */
    int64_t audit_checkpoint_ms; /* SUANLI_AUDIT_CHECKPOINT_MS: least age of the last checkpoint */
    char *public_url;            /* SUANLI_PUBLIC_URL: where clients reach the service */
    bool public_https;           /* public_url is https: cookies __Host-/Secure, HSTS */
    struct cidr_list trusted_proxies; /* SUANLI_TRUSTED_PROXIES: whose X-Forwarded-For counts */
    struct cidr_list metrics_allow;   /* SUANLI_METRICS_ALLOW: who may read /metrics; empty = all */
    int64_t audit_unchained_max_s;    /* SUANLI_AUDIT_UNCHAINED_MAX_S: online verify's bound */
    char *audit_witness_file;         /* SUANLI_AUDIT_WITNESS_FILE; NULL = no witness file */
    char *audit_witness_url;          /* SUANLI_AUDIT_WITNESS_URL; NULL = no witness URL */
    int64_t notify_ms;                /* SUANLI_NOTIFY_MS: period of the notifications job */
    bool webhooks;                    /* SUANLI_WEBHOOKS=on|off: deliver webhooks here */
    int64_t webhook_timeout_ms;       /* SUANLI_WEBHOOK_TIMEOUT_MS: per delivery attempt */
    int64_t webhook_allow_private; /* SUANLI_WEBHOOK_ALLOW_PRIVATE: 1 = private targets allowed */
    bool db_prepared;              /* SUANLI_DB_PREPARED=on|off: named prepared statements */
    bool group_commit;             /* SUANLI_GROUP_COMMIT=on|off: redemptions in groups */
    int64_t group_commit_lanes;    /* SUANLI_GROUP_COMMIT_LANES: groups in flight at once */
    int64_t connection_memory_kib; /* SUANLI_CONNECTION_MEMORY_KIB: a connection's pool */
};

extern struct config cfg;

/* Reads every SUANLI_* variable, checks it, fills cfg. On a bad value writes a message that
 * names the variable to stderr and returns -1. */
int config_load(void);

/* Whether the textual address ip (IPv4, IPv6, or IPv4-mapped IPv6) lies in one of the ranges. */
bool cidr_list_match(const struct cidr_list *list, const char *ip);

/* Frees what config_load allocated. */
void config_cleanup(void);

/* Prints the variables and their defaults, for --help. */
void config_print_help(void);

#endif
