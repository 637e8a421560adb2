/* migrate.c — numbered migrations (sql/NNN_name.sql), applied in order, each once, each in a
 * transaction, under an advisory lock so that replicas starting together do not race. */
#include "migrate.h"

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

#define MIGRATE_LOCK_ID "7243519870"

struct migration {
    int version;
    char name[NAME_MAX + 1];
    char checksum[65];
    char *text;
};

static int by_version(const void *a, const void *b) {
    return ((const struct migration *)a)->version - ((const struct migration *)b)->version;
}

static void free_list(struct migration *list, int n) {
    for (int i = 0; i < n; i++)
        free(list[i].text);
    free(list);
}

/* Reads sql_dir/NNN_*.sql, sorted; a duplicate number is an error. */
static int load(const char *sql_dir, struct migration **out) {
    DIR *d = opendir(sql_dir);
    if (d == NULL) {
        log_error("SUANLI_SQL_DIR=%s: cannot open the migrations directory", sql_dir);
        return -1;
    }
    struct migration *list = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 9 || !isdigit((unsigned char)e->d_name[0]) ||
            !isdigit((unsigned char)e->d_name[1]) || !isdigit((unsigned char)e->d_name[2]) ||
            e->d_name[3] != '_' || strcmp(e->d_name + len - 4, ".sql") != 0)
            continue;
        struct migration *nl = realloc(list, (size_t)(n + 1) * sizeof *list);
        if (nl == NULL)
            goto fail;
        list = nl;
        struct migration *m = &list[n];
        memset(m, 0, sizeof *m);
        n++;
        m->version = atoi(e->d_name);
        snprintf(m->name, sizeof m->name, "%s", e->d_name);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", sql_dir, e->d_name);
        size_t tlen;
        m->text = util_read_file(path, &tlen);
        if (m->text == NULL) {
            log_error("cannot read %s", path);
            goto fail;
        }
        unsigned char h[32];
        crypto_generichash(h, sizeof h, (const unsigned char *)m->text, tlen, NULL, 0);
        util_hex(h, sizeof h, m->checksum);
    }
    closedir(d);
    d = NULL;
    qsort(list, (size_t)n, sizeof *list, by_version);
    for (int i = 1; i < n; i++) {
        if (list[i].version == list[i - 1].version) {
            log_error("migrations %s and %s share a number", list[i - 1].name, list[i].name);
            goto fail;
        }
    }
    *out = list;
    return n;
fail:
    if (d)
        closedir(d);
    free_list(list, n);
    return -1;
}

static const char *const SETUP =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

static int exec_ok(PGconn *pg, const char *sql) {
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        log_error("migration bookkeeping failed: %s", PQerrorMessage(pg));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    return 0;
}

/* Compares what is applied with the files: -1 on an edited or vanished migration. */
static int compare(PGconn *pg, struct migration *list, int n, int *pending) {
    PGresult *r =
        PQexec(pg, "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_error("cannot read schema_migrations: %s", PQerrorMessage(pg));
        PQclear(r);
        return -1;
    }
    int rc = 0;
    *pending = n;
    for (int row = 0; row < PQntuples(r); row++) {
        int version = atoi(PQgetvalue(r, row, 0));
        struct migration *m = NULL;
        for (int i = 0; i < n; i++)
            if (list[i].version == version)
                m = &list[i];
        if (m == NULL) {
            log_error("migration %s is applied but its file is missing from the sql directory",
                      PQgetvalue(r, row, 1));
            rc = -1;
            break;
        }
        if (strcmp(m->checksum, PQgetvalue(r, row, 2)) != 0) {
            log_error("migration %s was edited after it was applied (checksum %.12s, applied "
                      "%.12s); add a new migration instead",
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

int migrate_apply(PGconn *pg, const char *sql_dir) {
    struct migration *list = NULL;
    int n = load(sql_dir, &list);
    if (n < 0)
        return -1;
    int applied = 0, pending;
    if (exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_ID ")") != 0) {
        free_list(list, n);
        return -1;
    }
    if (exec_ok(pg, "SET client_min_messages = warning") != 0 || exec_ok(pg, SETUP) != 0 ||
        compare(pg, list, n, &pending) != 0) {
        applied = -1;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        struct migration *m = &list[i];
        if (m->version < 0)
            continue;
        char *err = NULL;
        if (exec_ok(pg, "BEGIN") != 0)
            goto fail;
        if (db_run_script(pg, m->text, &err) != 0) {
            log_error("migration %s failed: %s", m->name, err ? err : "?");
            free(err);
            exec_ok(pg, "ROLLBACK");
            goto fail;
        }
        char version[16];
        snprintf(version, sizeof version, "%d", m->version);
        const char *params[] = {version, m->name, m->checksum};
        PGresult *r = PQexecParams(
            pg, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", 3,
            NULL, params, NULL, NULL, 0);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok || exec_ok(pg, "COMMIT") != 0) {
            exec_ok(pg, "ROLLBACK");
            goto fail;
        }
        log_info("applied migration %s", m->name);
        applied++;
    }
    goto out;
fail:
    applied = -1;
out:
    exec_ok(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_ID ")");
    free_list(list, n);
    return applied;
}

int migrate_status(PGconn *pg, const char *sql_dir) {
    struct migration *list = NULL;
    int n = load(sql_dir, &list);
    if (n < 0)
        return -1;
    int pending = 0;
    int rc = compare(pg, list, n, &pending);
    free_list(list, n);
    return rc < 0 ? -1 : pending > 0;
}

int migrate_expected(const char *sql_dir, int *count, char digest[65]) {
    struct migration *list = NULL;
    int n = load(sql_dir, &list);
    if (n < 0)
        return -1;
    crypto_generichash_state st;
    unsigned char h[32];
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    for (int i = 0; i < n; i++)
        crypto_generichash_update(&st, (const unsigned char *)list[i].checksum, 64);
    crypto_generichash_final(&st, h, sizeof h);
    util_hex(h, sizeof h, digest);
    *count = n;
    free_list(list, n);
    return 0;
}
