/* migrate.c — the database's shape from the sql/ directory, in one transaction under an advisory
 * lock (so that replicas starting together do not race), tried again when it deadlocks with
 * or times out on the locks of servers already running (MIGRATE_ATTEMPTS):
 *   sql/schema/NNN_name.sql        tables, indexes, data changes: append-only, each applied once,
 *                                  in order, checksummed (an edited applied file is refused);
 *   sql/functions/<area>/<name>.sql one function (with its triggers) per file: the schema "api"
 *                                  is dropped and every file loaded again on every run;
 *   sql/dev/<name>.sql             the demo seed, loaded only by migrate_load_dev.
 *
 * Migrate runs as the owner role (SUANLI_MIGRATE_URL). After the functions are loaded it sets
 * the runtime role's privileges (SUANLI_DB_RUNTIME_ROLE, the role serve connects as) from
 * scratch: EXECUTE on the functions of "api", which run as their owner (SECURITY DEFINER, with
 * a pinned search_path), and the column grants of RUNTIME_GRANTS below; nothing else. So the
 * runtime role can neither edit, delete nor truncate the audit log, the ledger or the
 * redemptions, nor disable a trigger, nor change the schema. It also sets the session settings
 * of every connection (ALTER DATABASE ... SET). */
#include "migrate.h"

#include "config.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIGRATE_LOCK_ID "7243519870"
/* A run that meets a deadlock or a lock timeout is tried again, this many times in all. */
#define MIGRATE_ATTEMPTS 5

struct sql_file {
    int version; /* schema files: NNN; negative once found applied */
    char name[PATH_MAX];
    char checksum[65];
    char *text;
};

struct file_list {
    struct sql_file *items;
    int n;
};

static void list_free(struct file_list *l) {
    for (int i = 0; i < l->n; i++)
        free(l->items[i].text);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const struct sql_file *)a)->name, ((const struct sql_file *)b)->name);
}

/* dir/name into out; false when it does not fit. */
static bool path_join(char *out, size_t cap, const char *dir, const char *name) {
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < cap;
}

static bool is_sql(const char *name) {
    size_t len = strlen(name);
    return len > 4 && name[0] != '.' && strcmp(name + len - 4, ".sql") == 0;
}

/* Appends dir/name (shown as label) with its text and checksum. */
static int list_add(struct file_list *l, const char *dir, const char *name, const char *label) {
    struct sql_file *nl = realloc(l->items, (size_t)(l->n + 1) * sizeof *nl);
    if (nl == NULL)
        return -1;
    l->items = nl;
    struct sql_file *f = &l->items[l->n++];
    memset(f, 0, sizeof *f);
    f->version = atoi(name);
    snprintf(f->name, sizeof f->name, "%s", label);
    char path[PATH_MAX];
    size_t len;
    f->text = path_join(path, sizeof path, dir, name) ? util_read_file(path, &len) : NULL;
    if (f->text == NULL) {
        log_error("cannot read %s", path);
        return -1;
    }
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)f->text, len, NULL, 0);
    util_hex(h, sizeof h, f->checksum);
    return 0;
}

/* sql_dir/schema/NNN_*.sql, sorted; a duplicate number is an error. */
static int load_schema(const char *sql_dir, struct file_list *out) {
    char dir[PATH_MAX];
    DIR *d = path_join(dir, sizeof dir, sql_dir, "schema") ? opendir(dir) : NULL;
    if (d == NULL) {
        log_error("SUANLI_SQL_DIR=%s: cannot open its schema directory %s", sql_dir, dir);
        return -1;
    }
    struct file_list l = {0};
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *s = e->d_name;
        if (!is_sql(s) || strlen(s) < 9 || !isdigit((unsigned char)s[0]) ||
            !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]) || s[3] != '_')
            continue;
        rc = list_add(&l, dir, s, s);
    }
    closedir(d);
    if (rc == 0) {
        qsort(l.items, (size_t)l.n, sizeof *l.items, by_name);
        for (int i = 1; i < l.n; i++) {
            if (l.items[i].version == l.items[i - 1].version) {
                log_error("schema files %s and %s share a number", l.items[i - 1].name,
                          l.items[i].name);
                rc = -1;
            }
        }
    }
    if (rc != 0)
        list_free(&l);
    *out = l;
    return rc;
}

/* Every *.sql of sql_dir/<sub>, and of its subdirectories one level down, sorted by path
 * (labelled "<sub>/<area>/<file>"). A missing directory is an empty list. */
static int load_tree(const char *sql_dir, const char *sub, struct file_list *out) {
    char top[PATH_MAX];
    struct file_list l = {0};
    *out = l;
    DIR *d = path_join(top, sizeof top, sql_dir, sub) ? opendir(top) : NULL;
    if (d == NULL)
        return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        char label[PATH_MAX], area[PATH_MAX];
        if (is_sql(e->d_name)) {
            rc = path_join(label, sizeof label, sub, e->d_name)
                     ? list_add(&l, top, e->d_name, label)
                     : -1;
            continue;
        }
        if (e->d_name[0] == '.')
            continue;
        DIR *a = path_join(area, sizeof area, top, e->d_name) ? opendir(area) : NULL;
        if (a == NULL)
            continue;
        struct dirent *f;
        while (rc == 0 && (f = readdir(a)) != NULL) {
            if (!is_sql(f->d_name))
                continue;
            char file[PATH_MAX];
            rc = path_join(file, sizeof file, e->d_name, f->d_name) &&
                         path_join(label, sizeof label, sub, file)
                     ? list_add(&l, area, f->d_name, label)
                     : -1;
        }
        closedir(a);
    }
    closedir(d);
    if (rc != 0) {
        list_free(&l);
        return -1;
    }
    qsort(l.items, (size_t)l.n, sizeof *l.items, by_name);
    *out = l;
    return 0;
}

static const char *const SETUP =
    "CREATE TABLE IF NOT EXISTS public.schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/* A database migrated before sql/schema existed (sql/NNN_*.sql held functions too) has
 * migrations recorded but no schema "api". */
static const char *const OLD_LAYOUT =
    "SELECT EXISTS (SELECT 1 FROM public.schema_migrations) AND to_regnamespace('api') IS NULL";

/* The functions are reloaded with body checks off, so that files load in any order; then
 * every function is checked as CREATE FUNCTION would have checked it. */
static const char *const VALIDATE =
    "SET LOCAL check_function_bodies = on;"
    "SELECT count(CASE l.lanname WHEN 'sql' THEN fmgr_sql_validator(p.oid)"
    "                            WHEN 'plpgsql' THEN plpgsql_validator(p.oid) END)"
    "  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
    " WHERE p.pronamespace = 'api'::regnamespace";

/* What the runtime role may read or write directly: the tables the C code queries itself
 * instead of through a function of sql/functions. ONE row per table and privilege, columns
 * named; new C code that touches a table adds its row here (a SQL function is preferred). */
struct runtime_grant {
    const char *table;     /* in schema public */
    const char *privilege; /* SELECT, INSERT or UPDATE: never DELETE or TRUNCATE */
    const char *columns;
    const char *used_by;
};

static const struct runtime_grant RUNTIME_GRANTS[] = {
    {"users", "SELECT", "id, role, organization_id, disabled_at", "server/auth.c principal"},
    {"organizations", "SELECT", "id, city_id", "server/auth.c principal"},
    {"sessions", "SELECT", "id, user_id, token_hash, csrf_hash, expires_at",
     "server/auth.c session cookie"},
    {"api_keys", "SELECT", "id, user_id, key_hash, revoked_at", "server/auth.c API key"},
    {"idempotency_keys", "SELECT",
     "user_id, key, request_hash, status, content_type, body, headers", "server/http.c replay"},
    {"idempotency_keys", "INSERT", "user_id, key, request_hash", "server/http.c claim"},
    {"idempotency_keys", "UPDATE", "status, content_type, body, headers", "server/http.c store"},
    {"audit_events", "SELECT", "seq, at", "server/audit_log.c age of unchained events"},
    {"schema_migrations", "SELECT", "version, checksum", "api/system.c /readyz"},
};

/* The functions of "api" run as their owner with a search_path the caller cannot change, and
 * only the runtime role %1$s may execute them. Three kinds of helper are left as they are, so
 * that the planner can still inline them into the queries of the functions that call them
 * (where they run as the owner, with its search path): IMMUTABLE ones (pure); those with a
 * standard SQL body (RETURN ..., whose references PostgreSQL records) that depends on no table
 * (ts): run as the caller they can read nothing it could not; and those that take a table row
 * (offer_visible, voucher_json, ...), which the runtime role cannot call. */
static const char *const FUNCTION_PRIVILEGES =
    "REVOKE ALL ON ALL ROUTINES IN SCHEMA api FROM PUBLIC;"
    "DO $$ DECLARE f record; BEGIN"
    " FOR f IN SELECT p.oid::regprocedure AS sig, p.provolatile = 'i' AS pure,"
    "   p.prosqlbody IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_depend d"
    "     WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid"
    "       AND d.refclassid = 'pg_class'::regclass) AS reads_no_table,"
    "   EXISTS (SELECT 1 FROM unnest(p.proargtypes) a JOIN pg_type t ON t.oid = a"
    "           WHERE t.typtype = 'c') AS takes_row"
    "  FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace AND p.prokind IN ('f', 'p') LOOP"
    "  IF NOT f.takes_row THEN"
    "   EXECUTE format('GRANT EXECUTE ON ROUTINE %%s TO %1$s', f.sig);"
    "  END IF;"
    "  IF NOT f.takes_row AND NOT f.pure AND NOT f.reads_no_table THEN"
    "   EXECUTE format('ALTER ROUTINE %%s SECURITY DEFINER"
    " SET search_path = public, api, pg_temp', f.sig);"
    "  END IF;"
    " END LOOP; END $$;"
    "REVOKE ALL ON SCHEMA api FROM PUBLIC;"
    "GRANT USAGE ON SCHEMA api, public TO %1$s;"
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
    "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, %1$s;"
    "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, %1$s";

/* The session settings of every connection (server/db.c sets none): UTC and the ISO DateStyle
 * so that timestamps print as "2026-01-02 03:04:05.678+00" (the search renders them from that,
 * api/offers.c), durable commits, the API functions on the search path, and
 * the statement and lock timeouts (SUANLI_DB_TIMEOUT_MS) so that no request waits forever. */
static const char *const SESSION_SETTINGS =
    "DO $$ BEGIN"
    " EXECUTE format('ALTER DATABASE %%I SET TimeZone = ''UTC''', current_database());"
    " EXECUTE format('ALTER DATABASE %%I SET DateStyle = ''ISO, MDY''', current_database());"
    " EXECUTE format('ALTER DATABASE %%I SET synchronous_commit = on', current_database());"
    " EXECUTE format('ALTER DATABASE %%I SET search_path = public, api', current_database());"
    " EXECUTE format('ALTER DATABASE %%I SET statement_timeout = %1$d', current_database());"
    " EXECUTE format('ALTER DATABASE %%I SET lock_timeout = %1$d', current_database());"
    " END $$";

/* The SQLSTATE of the statement of this run that failed last. Reloading the functions drops
 * and creates triggers, which takes each table's strongest lock; the transactions of servers
 * already running can deadlock with it, or hold it past the lock timeout. Those failures are
 * worth another attempt (migrate_apply), any other is final. Migrate runs on one thread. */
static char failed_state[6];

static bool transient(const char *state) {
    return strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0 ||
           strcmp(state, "40001") == 0;
}

/* Records a failed statement's SQLSTATE and logs "what: message", a transient failure as a
 * warning since the run is tried again. */
static void failed(const char *what, const char *message, const char *state) {
    snprintf(failed_state, sizeof failed_state, "%s", state ? state : "");
    if (transient(failed_state))
        log_warn("%s: %s", what, message);
    else
        log_error("%s: %s", what, message);
}

static void failed_result(const char *what, const PGresult *r) {
    failed(what, PQresultErrorMessage(r), PQresultErrorField(r, PG_DIAG_SQLSTATE));
}

static int exec_ok(PGconn *pg, const char *sql) {
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
    if (rc != 0)
        failed_result("migration bookkeeping failed", r);
    PQclear(r);
    return rc;
}

static int query_true(PGconn *pg, const char *sql) {
    PGresult *r = PQexec(pg, sql);
    int rc = PQresultStatus(r) != PGRES_TUPLES_OK ? -1 : strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    if (rc < 0)
        failed_result("migration bookkeeping failed", r);
    PQclear(r);
    return rc;
}

/* Runs a script of several statements; what says in the log that it failed. */
static int run_script_ok(PGconn *pg, const char *sql, const char *what) {
    char *err = NULL, state[6] = "";
    if (db_run_script(pg, sql, &err, state) == 0)
        return 0;
    failed(what, err ? err : "?", state);
    free(err);
    return -1;
}

/* Compares what is applied with the files: -1 on an edited or vanished schema file. */
static int compare(PGconn *pg, struct file_list *l, int *pending) {
    PGresult *r =
        PQexec(pg, "SELECT version, name, checksum FROM public.schema_migrations ORDER BY version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_error("cannot read schema_migrations: %s", PQerrorMessage(pg));
        PQclear(r);
        return -1;
    }
    int rc = 0;
    *pending = l->n;
    for (int row = 0; row < PQntuples(r); row++) {
        int version = atoi(PQgetvalue(r, row, 0));
        struct sql_file *m = NULL;
        for (int i = 0; i < l->n; i++)
            if (l->items[i].version == version)
                m = &l->items[i];
        if (m == NULL) {
            log_error("migration %s is applied but its file is missing from the sql/schema "
                      "directory",
                      PQgetvalue(r, row, 1));
            rc = -1;
            break;
        }
        if (strcmp(m->checksum, PQgetvalue(r, row, 2)) != 0) {
            log_error("migration %s was edited after it was applied (checksum %.12s, applied "
                      "%.12s); add a new schema file instead",
                      m->name, m->checksum, PQgetvalue(r, row, 2));
            rc = -1;
            break;
        }
        m->version = -m->version - 1; /* mark applied */
        (*pending)--;
    }
    PQclear(r);
    return rc;
}

static int run_file(PGconn *pg, const struct sql_file *f) {
    char what[PATH_MAX + 32];
    snprintf(what, sizeof what, "migration %s failed", f->name);
    return run_script_ok(pg, f->text, what);
}

/* Applies the pending schema files, recording each; returns how many, or -1. */
static int apply_schema(PGconn *pg, struct file_list *schema) {
    int applied = 0;
    if (exec_ok(pg, "SET LOCAL search_path = public") != 0)
        return -1;
    for (int i = 0; i < schema->n; i++) {
        struct sql_file *m = &schema->items[i];
        if (m->version < 0)
            continue;
        if (run_file(pg, m) != 0)
            return -1;
        char version[16];
        snprintf(version, sizeof version, "%d", m->version);
        const char *params[] = {version, m->name, m->checksum};
        PGresult *r = PQexecParams(pg,
                                   "INSERT INTO public.schema_migrations (version, name, checksum)"
                                   " VALUES ($1, $2, $3)",
                                   3, NULL, params, NULL, NULL, 0);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok) {
            char what[PATH_MAX + 32];
            snprintf(what, sizeof what, "cannot record migration %s", m->name);
            failed_result(what, r);
        }
        PQclear(r);
        if (!ok)
            return -1;
        log_info("applied migration %s", m->name);
        applied++;
    }
    return applied;
}

/* Drops the schema "api" with everything in it (functions, and the triggers that call them)
 * and loads every function file again. */
static int reload_functions(PGconn *pg, struct file_list *functions) {
    if (exec_ok(pg, "DROP SCHEMA IF EXISTS api CASCADE") != 0 ||
        exec_ok(pg, "CREATE SCHEMA api") != 0 ||
        exec_ok(pg, "SET LOCAL search_path = api, public") != 0 ||
        exec_ok(pg, "SET LOCAL check_function_bodies = off") != 0)
        return -1;
    for (int i = 0; i < functions->n; i++)
        if (run_file(pg, &functions->items[i]) != 0)
            return -1;
    if (run_script_ok(pg, VALIDATE, "a function of sql/functions does not compile") != 0)
        return -1;
    log_info("reloaded %d function files", functions->n);
    return 0;
}

/* A role name that needs no quoting: lower-case letters, digits, underscores. */
static bool plain_role(const char *name) {
    if (name == NULL || name[0] == '\0' || strlen(name) > 63 || isdigit((unsigned char)name[0]))
        return false;
    for (const char *c = name; *c; c++)
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_'))
            return false;
    return true;
}

/* The runtime role's privileges, from scratch (see the top of this file), and the session
 * settings. A runtime role that does not exist is a warning (serve then connects as some other
 * role, and has its privileges); so is one that is a superuser or the migrating role itself. */
static int set_privileges(PGconn *pg) {
    char settings[1024];
    snprintf(settings, sizeof settings, SESSION_SETTINGS, (int)cfg.db_timeout_ms);
    if (run_script_ok(pg, settings, "setting the session settings failed") != 0)
        return -1;
    const char *role = cfg.db_runtime_role ? cfg.db_runtime_role : "suanli_app";
    if (!plain_role(role)) {
        log_error("SUANLI_DB_RUNTIME_ROLE=%s: a role name of lower-case letters, digits and "
                  "underscores is expected",
                  role);
        return -1;
    }
    const char *params[] = {role};
    PGresult *r = PQexecParams(pg,
                               "SELECT rolsuper, rolname = current_user FROM pg_roles"
                               " WHERE rolname = $1",
                               1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_error("cannot look up the runtime role %s: %s", role, PQerrorMessage(pg));
        PQclear(r);
        return -1;
    }
    bool exists = PQntuples(r) == 1;
    bool super = exists && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    bool self = exists && strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    PQclear(r);
    if (!exists || self) {
        log_warn("the runtime role %s %s: no privileges granted (create it with LOGIN, let serve "
                 "connect as it, and migrate as the owner role with SUANLI_MIGRATE_URL)",
                 role, self ? "is the role migrating" : "does not exist");
        return 0;
    }
    if (super)
        log_warn("the runtime role %s is a superuser: it can rewrite the audit log", role);
    size_t cap = strlen(FUNCTION_PRIVILEGES) + 16 * strlen(role) + 64;
    char *sql = malloc(cap);
    if (sql == NULL)
        return -1;
    snprintf(sql, cap, FUNCTION_PRIVILEGES, role);
    int rc = run_script_ok(pg, sql, "granting the runtime role failed");
    free(sql);
    size_t n = sizeof RUNTIME_GRANTS / sizeof RUNTIME_GRANTS[0];
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct runtime_grant *g = &RUNTIME_GRANTS[i];
        char grant[512], what[160];
        snprintf(grant, sizeof grant, "GRANT %s (%s) ON public.%s TO %s", g->privilege, g->columns,
                 g->table, role);
        snprintf(what, sizeof what, "the grant for %s failed", g->used_by);
        rc = run_script_ok(pg, grant, what);
    }
    if (rc == 0)
        log_info("runtime role %s: EXECUTE on the API functions and %zu column grants", role, n);
    return rc;
}

int migrate_apply(PGconn *pg, const char *sql_dir) {
    struct file_list schema, functions;
    if (load_schema(sql_dir, &schema) != 0)
        return -1;
    if (load_tree(sql_dir, "functions", &functions) != 0) {
        list_free(&schema);
        return -1;
    }
    int applied = -1, pending;
    /* this connection's own settings, as the database's are for the next ones (a tool calls
     * the API functions on it after migrating) */
    char session[256];
    snprintf(session, sizeof session,
             "SET TIME ZONE 'UTC'; SET statement_timeout = %d; SET lock_timeout = %d; "
             "SET synchronous_commit = on; SET search_path = public, api",
             (int)cfg.db_timeout_ms, (int)cfg.db_timeout_ms);
    if (run_script_ok(pg, session, "migration session settings failed") != 0)
        goto out;
    if (exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_ID ")") != 0)
        goto out;
    if (exec_ok(pg, "SET client_min_messages = warning") != 0 || exec_ok(pg, SETUP) != 0)
        goto unlock;
    int old = query_true(pg, OLD_LAYOUT);
    if (old != 0) {
        if (old > 0)
            log_error("this database was migrated by the layout before sql/schema and "
                      "sql/functions (issue 16), which cannot be adopted: create a fresh "
                      "database (in development, remove the data directory's cluster)");
        goto unlock;
    }
    if (compare(pg, &schema, &pending) != 0)
        goto unlock;
    for (int attempt = 1;; attempt++) {
        failed_state[0] = '\0';
        if (exec_ok(pg, "BEGIN") != 0)
            break;
        applied = apply_schema(pg, &schema);
        if (applied >= 0 && reload_functions(pg, &functions) == 0 && set_privileges(pg) == 0 &&
            exec_ok(pg, "COMMIT") == 0)
            break;
        applied = -1;
        exec_ok(pg, "ROLLBACK");
        if (!transient(failed_state))
            break;
        if (attempt == MIGRATE_ATTEMPTS) {
            log_error("migration rolled back %d times on locks held by running servers "
                      "(SQLSTATE %s); nothing applied",
                      attempt, failed_state);
            break;
        }
        log_warn("migration rolled back (SQLSTATE %s, locks held by running servers); trying "
                 "again, attempt %d of %d",
                 failed_state, attempt + 1, MIGRATE_ATTEMPTS);
        usleep((useconds_t)(100000 * attempt) + randombytes_uniform(100000));
    }
unlock:
    exec_ok(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_ID ")");
out:
    list_free(&schema);
    list_free(&functions);
    return applied;
}

int migrate_load_dev(PGconn *pg, const char *sql_dir) {
    struct file_list dev;
    if (load_tree(sql_dir, "dev", &dev) != 0)
        return -1;
    int rc = dev.n > 0 ? 0 : -1;
    if (rc != 0)
        log_error("SUANLI_SQL_DIR=%s has no dev/*.sql to seed the demo from", sql_dir);
    for (int i = 0; rc == 0 && i < dev.n; i++)
        rc = run_file(pg, &dev.items[i]);
    list_free(&dev);
    return rc;
}

int migrate_status(PGconn *pg, const char *sql_dir) {
    struct file_list schema;
    if (load_schema(sql_dir, &schema) != 0)
        return -1;
    int pending = 0;
    int rc = compare(pg, &schema, &pending);
    list_free(&schema);
    return rc < 0 ? -1 : pending > 0;
}

int migrate_expected(const char *sql_dir, int *count, char digest[65]) {
    struct file_list schema;
    if (load_schema(sql_dir, &schema) != 0)
        return -1;
    crypto_generichash_state st;
    unsigned char h[32];
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    for (int i = 0; i < schema.n; i++)
        crypto_generichash_update(&st, (const unsigned char *)schema.items[i].checksum, 64);
    crypto_generichash_final(&st, h, sizeof h);
    util_hex(h, sizeof h, digest);
    *count = schema.n;
    list_free(&schema);
    return 0;
}
