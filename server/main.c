/* main.c — the suanlid command line: serve, migrate, keygen, create-user, demo-seed, db. */
#include "api.h"
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "cron.h"
#include "db.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "migrate.h"
#include "pgembed.h"
#include "vtoken.h"
#include "webhook.h"
#include "witness.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEMO_PASSWORD "suanli-demo"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *help;
};

static bool wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

/* Prints doc as indented JSON (fallback when it cannot be rendered) and a newline. */
static void print_json(const json_t *doc, const char *fallback) {
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", text ? text : fallback);
    free(text);
}

/* ==== database for tools and the server ================================================== */

static bool embedded;

/* The database's connection strings (malloc'd): url is the runtime role's, which serve and the
 * read-only tools use; owner is the owner role's, which migrates (and the tools that migrate
 * first). DATABASE_URL and SUANLI_MIGRATE_URL (unset = DATABASE_URL), or the embedded cluster,
 * which has both roles (README "Database roles"). */
struct db_urls {
    char *url;
    char *owner;
};

static void db_urls_free(struct db_urls *u) {
    free(u->url);
    free(u->owner);
    u->url = u->owner = NULL;
}

/* Resolves the database: DATABASE_URL (and SUANLI_MIGRATE_URL), or the embedded cluster. */
static int database_open(struct db_urls *u) {
    u->url = u->owner = NULL;
    if (cfg.database_url != NULL) {
        u->url = strdup(cfg.database_url);
        u->owner = strdup(cfg.migrate_url ? cfg.migrate_url : cfg.database_url);
        return u->url && u->owner ? 0 : -1;
    }
    embedded = true;
    struct pgembed_urls e;
    if (pgembed_start(cfg.data_dir, &e) != 0)
        return -1;
    u->url = e.runtime;
    u->owner = e.owner;
    e.runtime = e.owner = NULL;
    pgembed_urls_free(&e);
    return 0;
}

static void database_close(void) {
    if (embedded)
        pgembed_release(1);
    embedded = false;
}

/* Connects a tool to url; NULL with the reason logged. */
static PGconn *tool_db(const char *url) {
    char *err = NULL;
    PGconn *pg = db_connect_tool(url, &err);
    if (pg == NULL) {
        log_error("cannot connect to the database: %s", err ? err : "?");
        free(err);
    }
    return pg;
}

/* Opens the database (database_open) and connects to it, as the owner role or the runtime
 * role; NULL on failure. The caller ends with tool_disconnect whatever the outcome. */
static PGconn *tool_connect(struct db_urls *u, bool owner) {
    return database_open(u) == 0 ? tool_db(owner ? u->owner : u->url) : NULL;
}

static void tool_disconnect(PGconn *pg, struct db_urls *u) {
    PQfinish(pg);
    database_close();
    db_urls_free(u);
}

/* Runs sql (one row, one column expected) with its text params; the value malloc'd, or NULL
 * with "<what>: <the error>" on standard error. */
static char *tool_value(PGconn *pg, const char *what, const char *sql, int nparams,
                        const char *const *params) {
    PGresult *r = PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0);
    char *value = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        value = strdup(PQgetvalue(r, 0, 0));
    else
        fprintf(stderr, "%s: %s", what, PQresultErrorMessage(r));
    PQclear(r);
    return value;
}

/* As the owner role. */
static int run_migrations(const char *owner_url) {
    PGconn *pg = tool_db(owner_url);
    if (pg == NULL)
        return -1;
    int n = migrate_apply(pg, cfg.sql_dir);
    PQfinish(pg);
    if (n >= 0)
        log_info("migrations up to date (%d applied now)", n);
    return n < 0 ? -1 : 0;
}

/* Opens the database (database_open) and applies the migrations as the owner role; the caller
 * ends with database_close and db_urls_free whatever the outcome. */
static int migrate_database(struct db_urls *u) {
    return database_open(u) == 0 && run_migrations(u->owner) == 0 ? 0 : -1;
}

static int seed_demo(const char *url) {
    if (cfg.production) {
        log_error("the demo seed is for development only (SUANLI_MODE=production)");
        return -1;
    }
    char hash[crypto_pwhash_STRBYTES];
    if (auth_password_hash(DEMO_PASSWORD, hash) != 0)
        return -1;
    PGconn *pg = tool_db(url);
    if (pg == NULL)
        return -1;
    /* the demo voucher is signed with the current key, which must be registered first */
    char *keys = vtoken_keyring_json();
    const char *kparams[] = {keys};
    char *synced = tool_value(pg, "demo seed: could not register the signing keys",
                              "SELECT signing_keys_sync($1::jsonb)", 1, kparams);
    free(keys);
    free(synced);
    if (migrate_load_dev(pg, cfg.sql_dir) != 0) {
        PQfinish(pg);
        return -1;
    }
    const char *params[] = {hash};
    char *seeded = tool_value(pg, "demo seed failed", "SELECT pg_temp.demo_seed($1)", 1, params);
    int rc = seeded != NULL ? 0 : -1;
    if (seeded != NULL)
        log_info("demo seed: %s", seeded);
    PQfinish(pg);
    free(seeded);
    return rc;
}

/* In development a missing key file is generated under the data directory; production
 * insists on SUANLI_KEY_FILE so that replicas share one. */
static int load_keys(void) {
    char path[PATH_MAX];
    if (cfg.key_file != NULL) {
        snprintf(path, sizeof path, "%s", cfg.key_file);
    } else if (cfg.production) {
        log_error("SUANLI_KEY_FILE is required in production (create one with `suanlid keygen`)");
        return -1;
    } else {
        if (util_mkdir_p(cfg.data_dir, 0755) != 0) {
            log_error("SUANLI_DATA_DIR=%s: cannot create", cfg.data_dir);
            return -1;
        }
        snprintf(path, sizeof path, "%s/keys.json", cfg.data_dir);
        bool rotated;
        if (access(path, F_OK) != 0 && keys_generate(path, &rotated) != 0)
            return -1;
    }
    if (keys_load(path) != 0)
        return -1;
    auth_set_hash_key(keyring.hash_key);
    return 0;
}

/* ==== serve =============================================================================== */

static void print_demo(void) {
    printf("\nSuanli is serving on http://%s:%d/\n\nDemo logins (password %s):\n"
           "  operator@suanli.demo          operator\n"
           "  admin@chengdu.suanli.demo     city administrator, Chengdu\n"
           "  auditor@chengdu.suanli.demo   auditor, Chengdu\n"
           "  ops@westcloud.suanli.demo     provider, West Cloud\n"
           "  ops@eastcompute.suanli.demo   provider, East Compute\n"
           "  lab@scu.suanli.demo           institute, Sichuan University AI Lab\n\n",
           cfg.listen_host, cfg.listen_port, DEMO_PASSWORD);
    fflush(stdout);
}

static int cmd_serve(int argc, char **argv) {
    bool migrate = false, demo = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--migrate") == 0)
            migrate = true;
        else if (strcmp(argv[i], "--demo-seed") == 0)
            migrate = demo = true;
        else {
            fprintf(stderr, "suanlid serve: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every worker thread */
    signal(SIGPIPE, SIG_IGN);

    if (load_keys() != 0)
        return 1;
    struct db_urls urls = {0};
    int rc = 1;
    if (migrate ? migrate_database(&urls) != 0 : database_open(&urls) != 0)
        goto out;
    if (demo && seed_demo(urls.owner) != 0)
        goto out;
    db_init(urls.url, cfg.database_read_url, (int)cfg.db_timeout_ms);
    db_set_prepared(cfg.db_prepared);
    /* the background jobs (maintenance, key registration, the audit sealer) are added to the
     * one periodic runner, which starts once they all are */
    if (api_init() != 0) /* after db_init: it registers the signing keys */
        goto out;
    if (audit_start() != 0 || cron_start() != 0 || webhook_start() != 0)
        goto out;
    /* the API's routes, and the web UI for every other GET; kept until http_stop */
    const struct http_api api = {api_routes, api_routes_len, api_web_static};
    if (http_start(cfg.listen_host, cfg.listen_port, &api) != 0)
        goto out;
    log_info("listening on %s:%d with %lld worker threads", cfg.listen_host, cfg.listen_port,
             (long long)cfg.threads);
    if (demo)
        print_demo();
    int sig;
    sigwait(&set, &sig);
    log_info("signal %d: stopping", sig);
    http_stop();
    rc = 0;
out:
    cron_stop(); /* before api_cleanup and db_cleanup, which its jobs use */
    webhook_stop();
    witness_url_stop(); /* after the sealer, which queues for it */
    api_cleanup();
    db_cleanup();
    database_close();
    db_urls_free(&urls);
    keys_cleanup();
    return rc;
}

/* ==== tools =============================================================================== */

static int cmd_migrate(int argc, char **argv) {
    (void)argc;
    (void)argv;
    struct db_urls urls = {0};
    int rc = migrate_database(&urls) == 0 ? 0 : 1;
    database_close();
    db_urls_free(&urls);
    return rc;
}

static int cmd_demo_seed(int argc, char **argv) {
    (void)argc;
    (void)argv;
    struct db_urls urls = {0};
    int rc = 1;
    if (load_keys() == 0 && migrate_database(&urls) == 0 && seed_demo(urls.owner) == 0)
        rc = 0;
    database_close();
    db_urls_free(&urls);
    keys_cleanup();
    return rc;
}

/* Reads the PASERK that --import names: one line of a file, or of standard input for "-", into
 * buf (NUL-terminated, line end stripped). A secret is never taken from the command line, where
 * ps would show it. -1 with the reason in why. */
static int read_paserk(const char *src, char *buf, size_t cap, char *why, size_t whylen) {
    if (strncmp(src, "k4.", 3) == 0 && access(src, F_OK) != 0) {
        snprintf(why, whylen,
                 "--import takes a file name, or - for standard input, not the key "
                 "itself (a key on the command line shows in ps)");
        return -1;
    }
    FILE *f = strcmp(src, "-") == 0 ? stdin : fopen(src, "r");
    if (f == NULL) {
        snprintf(why, whylen, "cannot read %s: %s", src, strerror(errno));
        return -1;
    }
    /* one line, and nothing else but blanks after it (a terminal is read up to its newline) */
    bool whole = f != stdin || !isatty(fileno(stdin));
    size_t n = fgets(buf, (int)cap, f) != NULL ? strlen(buf) : 0;
    bool more = n == cap - 1 && buf[n - 1] != '\n';
    for (int c; whole && !more && (c = fgetc(f)) != EOF;)
        more = !isspace(c);
    if (f != stdin)
        fclose(f);
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    if (more || n == 0 || strcspn(buf, " \t\r\n") != n) {
        snprintf(why, whylen, "%s must hold one PASERK (k4.secret.…) on one line",
                 strcmp(src, "-") == 0 ? "standard input" : src);
        return -1;
    }
    return 0;
}

/* Prints the k4.public PASERKs of the keys that sign audit checkpoints, one a line: the file a
 * city keeps for `suanlid audit-verify --keys`. */
static int keygen_print_public(const char *path) {
    if (keys_load(path) != 0)
        return 1;
    const struct signing_key *list = keyring.ncheckpoint ? keyring.checkpoint_keys : keyring.keys;
    int n = keyring.ncheckpoint ? keyring.ncheckpoint : keyring.nkeys;
    for (int i = 0; i < n; i++) {
        char paserk[PASERK_K4_PUBLIC_LEN];
        paserk_k4_public(list[i].pk, paserk);
        printf("%s\n", paserk);
    }
    keys_cleanup();
    return 0;
}

static int cmd_keygen(int argc, char **argv) {
    char path[PATH_MAX];
    const char *file = NULL, *import = NULL;
    bool checkpoint = false, public = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--import") == 0 && i + 1 < argc && import == NULL)
            import = argv[++i];
        else if (strcmp(argv[i], "--checkpoint") == 0)
            checkpoint = true;
        else if (strcmp(argv[i], "--public") == 0)
        public = true;
        else if (file == NULL && argv[i][0] != '-') file = argv[i];
        else {
            fprintf(stderr, "usage: suanlid keygen [FILE] [--import PASERK_FILE|- | --checkpoint "
                            "| --public]\n");
            return 2;
        }
    }
    if ((import != NULL) + checkpoint + public > 1) {
        fprintf(stderr, "suanlid keygen: --import, --checkpoint and --public exclude each other\n");
        return 2;
    }
    if (file != NULL)
        snprintf(path, sizeof path, "%s", file);
    else if (cfg.key_file)
        snprintf(path, sizeof path, "%s", cfg.key_file);
    else {
        util_mkdir_p(cfg.data_dir, 0755);
        snprintf(path, sizeof path, "%s/keys.json", cfg.data_dir);
    }
    if (public)
        return keygen_print_public(path);
    bool rotated;
    if (import != NULL) {
        bool existed = access(path, F_OK) == 0;
        char paserk[256], why[PATH_MAX + 256];
        int rc = read_paserk(import, paserk, sizeof paserk, why, sizeof why) == 0
                     ? keys_import(path, paserk, &rotated, why, sizeof why)
                     : -1;
        sodium_memzero(paserk, sizeof paserk);
        if (rc != 0) {
            fprintf(stderr, "suanlid keygen: cannot import the key: %s; %s %s\n", why, path,
                    existed ? "is unchanged" : "was not created");
            return 1;
        }
    } else if (checkpoint) {
        bool created = false;
        if (access(path, F_OK) != 0 && keys_generate(path, &created) != 0)
            return 1;
        if (keys_generate_checkpoint(path, &rotated) != 0)
            return 1;
    } else if (keys_generate(path, &rotated) != 0) {
        return 1;
    }
    if (keys_load(path) != 0)
        return 1;
    if (checkpoint)
        printf("%s %s: checkpoint key %s\n", rotated ? "rotated" : "created", path,
               keys_checkpoint_signer()->kid);
    else
        printf("%s %s: signing key %s%s\n", rotated ? "rotated" : "created", path,
               keys_current()->kid, import ? " (imported)" : "");
    keys_cleanup();
    return 0;
}

static char *read_password(void) {
    const char *env = getenv("SUANLI_PASSWORD");
    if (env != NULL)
        return strdup(env);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n <= 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

static int cmd_create_user(int argc, char **argv) {
    const char *email = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--email") == 0 && i + 1 < argc)
            email = argv[++i];
        else {
            fprintf(stderr, "suanlid create-user: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (email == NULL) {
        fprintf(stderr, "suanlid create-user: --email is required\n");
        return 2;
    }
    char *password = read_password();
    if (password == NULL || strlen(password) < 10 || strlen(password) > 200) {
        fprintf(stderr, "suanlid create-user: the password (SUANLI_PASSWORD or the first line "
                        "of standard input) must be 10 to 200 characters\n");
        free(password);
        return 2;
    }
    char hash[crypto_pwhash_STRBYTES];
    int hrc = auth_password_hash(password, hash);
    sodium_memzero(password, strlen(password));
    free(password);
    if (hrc != 0)
        return 1;
    struct db_urls urls = {0};
    int rc = 1;
    PGconn *pg = tool_connect(&urls, true);
    if (pg != NULL && migrate_apply(pg, cfg.sql_dir) >= 0) {
        const char *params[] = {email, hash};
        char *user =
            tool_value(pg, "suanlid create-user", "SELECT operator_bootstrap($1, $2)", 2, params);
        if (user != NULL) {
            printf("created operator %s (user %s)\n", email, user);
            rc = 0;
        }
        free(user);
    }
    tool_disconnect(pg, &urls);
    return rc;
}

static int cmd_db(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: suanlid db start|stop\n");
        return 2;
    }
    if (cfg.database_url != NULL) {
        fprintf(stderr, "suanlid db: DATABASE_URL is set; the embedded cluster is not used\n");
        return 2;
    }
    if (strcmp(argv[1], "start") == 0) {
        struct pgembed_urls urls;
        if (pgembed_start(cfg.data_dir, &urls) != 0)
            return 1;
        printf("%s\n", urls.admin); /* the superuser's: an administrator's tool */
        pgembed_urls_free(&urls);
        pgembed_release(0); /* leave it running */
        return 0;
    }
    if (strcmp(argv[1], "stop") == 0) {
        int rc = pgembed_stop_idle(cfg.data_dir);
        if (rc == 1)
            fprintf(stderr, "suanlid db stop: a suanlid process is still using the cluster\n");
        return rc == 0 ? 0 : 1;
    }
    fprintf(stderr, "usage: suanlid db start|stop\n");
    return 2;
}

/* ==== vouchers and the ledger ============================================================ */

static const char *vtoken_reason(enum vtoken_status st) {
    switch (st) {
    case VTOKEN_OK:
        return NULL;
    case VTOKEN_UNKNOWN_KEY:
        return "voucher-key-unknown";
    case VTOKEN_NOT_YET_VALID:
        return "voucher-not-yet-valid";
    case VTOKEN_EXPIRED:
        return "voucher-expired";
    case VTOKEN_INVALID:
        break;
    }
    return "voucher-token-invalid";
}

/* The arguments of an offline verifier: one operand (the token, the export), --keys FILE and,
 * where the command takes it, --witness FILE; the public keys are loaded from FILE. */
struct verifier_args {
    const char *operand, *witness;
    struct keys_public *keys; /* malloc'd */
    int nkeys;
};

/* Parses argv for the command usage names (its name is the word before the first blank);
 * 0, or the exit status 2 with the reason printed. */
static int verifier_args(int argc, char **argv, const char *usage, bool takes_witness,
                         struct verifier_args *a) {
    const char *keys_path = NULL;
    int name_len = (int)strcspn(usage, " ");
    *a = (struct verifier_args){0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
            keys_path = argv[++i];
        else if (takes_witness && strcmp(argv[i], "--witness") == 0 && i + 1 < argc)
            a->witness = argv[++i];
        else if (a->operand == NULL && argv[i][0] != '-')
            a->operand = argv[i];
        else {
            fprintf(stderr, "suanlid %.*s: unexpected argument %s\n", name_len, usage, argv[i]);
            return 2;
        }
    }
    if (a->operand == NULL || keys_path == NULL) {
        fprintf(stderr, "usage: suanlid %s\n", usage);
        return 2;
    }
    char *error = NULL;
    if (keys_public_load(keys_path, &a->keys, &a->nkeys, &error) != 0) {
        fprintf(stderr, "suanlid %.*s: %s\n", name_len, usage,
                error ? error : "cannot load the keys");
        free(error);
        return 2;
    }
    return 0;
}

/* Verifies a voucher token offline against a saved GET /v1/keys answer (or any file that
 * keys_public_load reads): signature, kid, claims and validity window (not the live balance,
 * which only the server knows). */
static int cmd_voucher_verify(int argc, char **argv) {
    struct verifier_args a;
    int rc = verifier_args(argc, argv, "voucher-verify TOKEN --keys FILE", false, &a);
    if (rc != 0)
        return rc;
    const char *why = NULL;
    struct vtoken_claims c;
    char kid[PASERK_K4_PID_LEN];
    enum vtoken_status st = vtoken_verify(a.operand, a.keys, a.nkeys, &c, kid, &why);
    free(a.keys);
    if (st == VTOKEN_OK) {
        st = vtoken_check_time(&c, util_now_ms());
        why = st == VTOKEN_NOT_YET_VALID ? "the voucher is not valid yet"
              : st == VTOKEN_EXPIRED     ? "the voucher has expired"
                                         : "signature, key and claims are good";
    }
    bool signed_ok = st == VTOKEN_OK || st == VTOKEN_NOT_YET_VALID || st == VTOKEN_EXPIRED;
    json_t *out = json_pack("{s:b, s:s?, s:s, s:s?, s:o}", "valid", st == VTOKEN_OK, "reason",
                            vtoken_reason(st), "detail", why, "kid", signed_ok ? kid : NULL,
                            "claims", signed_ok ? vtoken_claims_json(&c) : json_null());
    print_json(out, "{}");
    json_decref(out);
    return st == VTOKEN_OK ? 0 : 1;
}

/* Proves I1 and I2 and that every stored balance equals its ledger sum (ledger_check()). */
static int cmd_ledger_check(int argc, char **argv) {
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: suanlid ledger-check\n");
        return 2;
    }
    struct db_urls urls = {0};
    int rc = 1;
    PGconn *pg = tool_connect(&urls, false);
    char *text =
        pg ? tool_value(pg, "suanlid ledger-check", "SELECT ledger_check()::text", 0, NULL) : NULL;
    if (text != NULL) {
        json_t *report = json_loads(text, 0, NULL);
        print_json(report, text);
        rc = json_is_true(json_object_get(report, "ok")) ? 0 : 1;
        json_decref(report);
    }
    free(text);
    tool_disconnect(pg, &urls);
    return rc;
}

/* ==== audit ============================================================================== */

/* suanlid audit-verify EXPORT --keys FILE [--witness FILE]: prints the report as JSON; exits 0
 * when the export verifies (and matches the witness), 1 when it does not, 2 when the keys, the
 * export or the witness cannot be read. */
static int cmd_audit_verify(int argc, char **argv) {
    struct verifier_args a;
    int rc =
        verifier_args(argc, argv, "audit-verify EXPORT --keys FILE [--witness FILE]", true, &a);
    if (rc != 0)
        return rc;
    char *error = NULL;
    json_t *report = NULL;
    rc = audit_verify_export(a.operand, a.keys, a.nkeys, &report, &error);
    if (rc == 0 && a.witness != NULL)
        rc = audit_verify_witness(a.witness, a.operand, a.keys, a.nkeys, report, &error);
    free(a.keys);
    if (rc != 0) {
        json_decref(report);
        fprintf(stderr, "suanlid audit-verify: %s\n", error ? error : "cannot read the input");
        free(error);
        return 2;
    }
    bool ok = json_is_true(json_object_get(report, "ok"));
    print_json(report, "{}");
    json_decref(report);
    return ok ? 0 : 1;
}

static const struct command commands[] = {
    {"serve", cmd_serve, "serve [--migrate] [--demo-seed]",
     "Serve the API and web UI. --migrate applies pending migrations first; --demo-seed also\n"
     "loads the demo data (development only)."},
    {"migrate", cmd_migrate, "migrate",
     "Apply pending schema files of SUANLI_SQL_DIR/schema and reload every function of\n"
     "SUANLI_SQL_DIR/functions, in one transaction."},
    {"keygen", cmd_keygen, "keygen [FILE] [--import PASERK_FILE|- | --checkpoint | --public]",
     "Create a key file (hash secret and Ed25519 signing key), or add a new signing key to an\n"
     "existing one (rotation). FILE defaults to SUANLI_KEY_FILE, else <data dir>/keys.json.\n"
     "--checkpoint adds a new audit checkpoint key instead (the first one, or a rotation; the\n"
     "file is created first if needed): checkpoints are then signed by it, not by the voucher\n"
     "key. --public prints the k4.public PASERKs of the keys that sign checkpoints, one a line:\n"
     "the file a city keeps and gives to `suanlid audit-verify --keys`.\n"
     "--import adds a signing key made elsewhere (by another PASETO library, say) instead of\n"
     "a new one: a k4.secret PASERK on one line of PASERK_FILE, or of standard input for -,\n"
     "never on the command line. It is checked (prefix, length, base64url, public half derived\n"
     "from the seed) and refused if the file already holds it; on any error the file is left\n"
     "unchanged. Servers sign with the new key once restarted."},
    {"create-user", cmd_create_user, "create-user --email EMAIL",
     "Bootstrap an operator account. The password is read from SUANLI_PASSWORD or the first\n"
     "line of standard input."},
    {"demo-seed", cmd_demo_seed, "demo-seed",
     "Load the demo city, programme, providers, institute, voucher and logins (idempotent;\n"
     "refused when SUANLI_MODE=production)."},
    {"voucher-verify", cmd_voucher_verify, "voucher-verify TOKEN --keys FILE",
     "Verify a voucher token offline with the public keys of a saved GET /v1/keys answer:\n"
     "signature, key id, claims and validity window. Prints the claims; exits 0 when valid,\n"
     "1 when not."},
    {"ledger-check", cmd_ledger_check, "ledger-check",
     "Prove the ledger: every entry balances, I1 (conservation) and I2 (no overspend) hold,\n"
     "and every stored balance equals its ledger sum. Exits 0 when all hold, 1 otherwise."},
    {"audit-verify", cmd_audit_verify, "audit-verify EXPORT --keys FILE [--witness FILE]",
     "Verify a GET /v1/audit/export file offline with the public keys alone: the file the\n"
     "city keeps (`suanlid keygen --public`, k4.public PASERKs one a line), never keys read\n"
     "from the database; a saved GET /v1/keys answer serves only key files that have no\n"
     "checkpoint key. Checks the BLAKE2b chain over every\n"
     "event and the Ed25519 signature of every checkpoint. --witness FILE (a copy of\n"
     "SUANLI_AUDIT_WITNESS_FILE) also proves that every witnessed checkpoint is in the export\n"
     "unchanged, so a tail cut from the database is found. Prints a report naming the first bad\n"
     "position; exits 0 when the export verifies, 1 when it does not, 2 on unreadable input."},
    {"db", cmd_db, "db start|stop",
     "Start the embedded PostgreSQL and print its connection string, or stop it when no\n"
     "suanlid process uses it."},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out) {
    fprintf(out, "usage: suanlid COMMAND [OPTIONS]\n\nCommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %s\n", commands[i].usage);
    fprintf(out, "\nRun `suanlid COMMAND --help` for one command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        if (argc >= 2)
            config_print_help();
        return argc < 2 ? 2 : 0;
    }
    const struct command *cmd = NULL;
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            cmd = &commands[i];
    if (cmd == NULL) {
        fprintf(stderr, "suanlid: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    if (wants_help(argc - 1, argv + 1)) {
        printf("usage: suanlid %s\n\n%s\n\n", cmd->usage, cmd->help);
        config_print_help();
        return 0;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "suanlid: libsodium failed to initialise\n");
        return 1;
    }
    if (config_load() != 0)
        return 2;
    int rc = cmd->run(argc - 1, argv + 1);
    config_cleanup();
    return rc;
}
