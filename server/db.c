/* db.c — one PostgreSQL connection per worker thread.
 *
 * libmicrohttpd runs each request entirely on one pool thread, so a thread-local connection
 * needs no locking and gives the "one connection per worker" model. Statements are prepared
 * lazily per connection, keyed by the address of their SQL literal. */
#include "db.h"

#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#define DB_STMT_SLOTS 512 /* per connection; must exceed the number of distinct statements */
#define DB_MAX_RETRIES 5

struct db_conn {
    PGconn *pg;
    const char *prepared[DB_STMT_SLOTS]; /* open addressing on the SQL pointer */
    bool in_txn;
};

static char *primary_url;
static char *read_url;
static int stmt_timeout_ms = 5000;
static bool use_prepared = true;
static atomic_int open_connections;

static _Thread_local struct db_conn primary;
static _Thread_local struct db_conn replica;
static _Thread_local struct db_error last_error;
static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;

/* Worker threads of libmicrohttpd end without telling us; a key destructor closes their
 * connections so that none leaks when the daemon stops. */
static void thread_exit(void *unused) {
    (void)unused;
    db_thread_cleanup();
}

static void thread_key_init(void) {
    pthread_key_create(&thread_key, thread_exit);
}

void db_init(const char *purl, const char *rurl, int statement_timeout_ms) {
    free(primary_url);
    free(read_url);
    primary_url = strdup(purl);
    read_url = rurl ? strdup(rurl) : NULL;
    stmt_timeout_ms = statement_timeout_ms;
}

void db_set_prepared(bool on) {
    use_prepared = on;
}

static void conn_close(struct db_conn *c) {
    if (c->pg != NULL) {
        PQfinish(c->pg);
        c->pg = NULL;
        atomic_fetch_sub(&open_connections, 1);
    }
    memset(c->prepared, 0, sizeof c->prepared);
    c->in_txn = false;
}

void db_thread_cleanup(void) {
    conn_close(&primary);
    conn_close(&replica);
}

void db_cleanup(void) {
    db_thread_cleanup();
    free(primary_url);
    free(read_url);
    primary_url = read_url = NULL;
}

int db_open_connections(void) {
    return atomic_load(&open_connections);
}

const struct db_error *db_last_error(void) {
    return &last_error;
}

static void set_error(const char *state, const char *msg, const char *detail, const char *cons) {
    snprintf(last_error.sqlstate, sizeof last_error.sqlstate, "%s", state ? state : "");
    snprintf(last_error.message, sizeof last_error.message, "%s", msg ? msg : "");
    snprintf(last_error.detail, sizeof last_error.detail, "%s", detail ? detail : "");
    snprintf(last_error.constraint, sizeof last_error.constraint, "%s", cons ? cons : "");
    last_error.field[0] = '\0';
    last_error.outcome_unknown = false;
}

/* A connection. Its session settings (UTC, the statement and lock timeouts, durable commits,
 * the search path with the schema "api") are the database's: `suanlid migrate` sets them with
 * ALTER DATABASE (server/migrate.c), so that no connection needs a round of SETs. */
static PGconn *connect_url(const char *url, char **error_out) {
    char timeout_s[16];
    snprintf(timeout_s, sizeof timeout_s, "%d",
             stmt_timeout_ms / 1000 > 0 ? stmt_timeout_ms / 1000 : 1);
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {url, timeout_s, "suanlid", NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        if (error_out)
            *error_out = strdup(pg ? PQerrorMessage(pg) : "out of memory");
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

PGconn *db_connect_tool(const char *url, char **error_out) {
    return connect_url(url, error_out);
}

/* Whether c's connection is still up. Between transactions, whatever the server sent while
 * the connection sat idle is read first: a backend that was terminated, or a server that shut
 * down, has said so (and closed the socket) before anything of ours was sent, so the
 * connection is replaced before the next statement instead of failing it. */
static bool conn_alive(struct db_conn *c) {
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
        return false;
    if (!c->in_txn && PQtransactionStatus(c->pg) == PQTRANS_IDLE && !PQconsumeInput(c->pg))
        return false;
    return PQstatus(c->pg) == CONNECTION_OK;
}

static bool conn_ensure(struct db_conn *c, const char *url) {
    if (conn_alive(c))
        return true;
    conn_close(c);
    char *err = NULL;
    c->pg = connect_url(url, &err);
    if (c->pg == NULL) {
        set_error("08006", "connection failed", err, NULL);
        log_warn("database connection failed: %s", err ? err : "?");
        free(err);
        return false;
    }
    atomic_fetch_add(&open_connections, 1);
    pthread_once(&thread_key_once, thread_key_init);
    pthread_setspecific(thread_key, &primary);
    return true;
}

bool db_ping(void) {
    if (!conn_ensure(&primary, primary_url))
        return false;
    if (primary.in_txn)
        return true;
    PGresult *r = PQexec(primary.pg, "SELECT 1");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (!ok)
        conn_close(&primary);
    return ok;
}

static size_t slot_of(const char *sql) {
    uintptr_t h = (uintptr_t)sql;
    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 7) % DB_STMT_SLOTS;
}

/* Finds or prepares the statement for sql on c; writes its name. */
static bool ensure_prepared(struct db_conn *c, const char *sql, int nparams, char name[24]) {
    size_t i = slot_of(sql);
    for (size_t n = 0; n < DB_STMT_SLOTS; n++, i = (i + 1) % DB_STMT_SLOTS) {
        snprintf(name, 24, "s%zu", i);
        if (c->prepared[i] == sql)
            return true;
        if (c->prepared[i] == NULL) {
            PGresult *r = PQprepare(c->pg, name, sql, nparams, NULL);
            bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            if (!ok)
                set_error(PQresultErrorField(r, PG_DIAG_SQLSTATE),
                          PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY), sql, NULL);
            PQclear(r);
            if (ok)
                c->prepared[i] = sql;
            return ok;
        }
    }
    set_error("XX000", "prepared statement cache full", sql, NULL);
    return false;
}

/* A data exception (SQLSTATE class 22: out of range, invalid text, impossible date) or a check
 * violation (23514) that reaches the server is a value the request carried that the C checks
 * let through: answered as the validation failure it is (400 validation-failed), naming the
 * field, never as a server error. The field is the column the server names, else the column
 * of the violated check (constraint "<table>_<column>_check", or the constraint's name after
 * its table), else "body". Logged, as each one is a check missing in C. */
static int bad_value(PGresult *r, const char *state) {
    const char *column = PQresultErrorField(r, PG_DIAG_COLUMN_NAME);
    const char *table = PQresultErrorField(r, PG_DIAG_TABLE_NAME);
    const char *cons = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
    char field[sizeof last_error.field] = "body";
    if (column != NULL && column[0] != '\0') {
        snprintf(field, sizeof field, "%s", column);
    } else if (cons != NULL && cons[0] != '\0') {
        size_t tl = table != NULL ? strlen(table) : 0;
        const char *name = tl > 0 && strncmp(cons, table, tl) == 0 && cons[tl] == '_' &&
                                   cons[tl + 1] != '\0'
                               ? cons + tl + 1
                               : cons;
        snprintf(field, sizeof field, "%s", name);
        size_t n = strlen(field);
        if (n > 6 && strcmp(field + n - 6, "_check") == 0)
            field[n - 6] = '\0';
    }
    log_warn("database refused a value (%s): %s; answered 400 (field %s)", state,
             last_error.message, field);
    char detail[sizeof last_error.detail];
    snprintf(detail, sizeof detail, "the value is out of range or invalid (%s)",
             last_error.message);
    snprintf(last_error.detail, sizeof last_error.detail, "%s", detail);
    snprintf(last_error.message, sizeof last_error.message, "validation-failed");
    snprintf(last_error.field, sizeof last_error.field, "%s", field);
    return DB_APP_ERROR;
}

static int classify(struct db_conn *c, PGresult *r) {
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    set_error(state, PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY),
              PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL),
              PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME));
    /* a refusal of one request field (problem_at in sql/functions/core) names it as COLUMN */
    const char *field = PQresultErrorField(r, PG_DIAG_COLUMN_NAME);
    snprintf(last_error.field, sizeof last_error.field, "%s", field ? field : "");
    /* 25006: a primary connection that reached a read-only server (a demoted primary, or the
     * promoted standby before pg_auto_failover opens it to writes): reconnect to the new one. */
    if (PQstatus(c->pg) != CONNECTION_OK || state == NULL || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P", 3) == 0 || strcmp(state, "25006") == 0) {
        conn_close(c);
        return DB_UNAVAILABLE;
    }
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        return DB_RETRY;
    if (strncmp(state, "SL", 2) == 0)
        return DB_APP_ERROR;
    if (strncmp(state, "22", 2) == 0 || strcmp(state, "23514") == 0)
        return bad_value(r, state);
    if (strncmp(state, "23", 2) == 0)
        return DB_CONFLICT;
    if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0) /* timeouts */
        return DB_UNAVAILABLE;
    log_error("database error %s: %s (%s)", state, last_error.message, last_error.detail);
    return DB_HARD_ERROR;
}

static int exec_result(struct db_conn *c, PGresult **res, bool *sent);

/* Runs one statement on c. *sent becomes true once the statement (not its preparation) may
 * have reached the server: from then on a lost connection leaves its outcome unknown. */
static int exec_once(struct db_conn *c, const char *url, const char *sql, int nparams,
                     const char *const *params, PGresult **res, bool *sent) {
    *sent = false;
    if (!conn_ensure(c, url))
        return DB_UNAVAILABLE;
    if (!use_prepared) {
        if (!PQsendQueryParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0)) {
            set_error("08006", "connection lost", PQerrorMessage(c->pg), NULL);
            conn_close(c);
            return DB_UNAVAILABLE;
        }
        return exec_result(c, res, sent);
    }
    char name[24];
    if (!ensure_prepared(c, sql, nparams, name)) {
        if (PQstatus(c->pg) != CONNECTION_OK) {
            conn_close(c);
            return DB_UNAVAILABLE;
        }
        log_error("prepare failed %s: %s", last_error.sqlstate, last_error.message);
        return DB_HARD_ERROR;
    }
    if (!PQsendQueryPrepared(c->pg, name, nparams, params, NULL, NULL, 0)) {
        set_error("08006", "connection lost", PQerrorMessage(c->pg), NULL);
        conn_close(c);
        return DB_UNAVAILABLE;
    }
    return exec_result(c, res, sent);
}

/* Reads the answer to the statement just sent on c (*sent becomes true). */
static int exec_result(struct db_conn *c, PGresult **res, bool *sent) {
    *sent = true;
    /* the last result is the statement's; an error ends the sequence */
    PGresult *r = NULL, *next;
    while ((next = PQgetResult(c->pg)) != NULL) {
        PQclear(r);
        r = next;
    }
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        int rows = st == PGRES_TUPLES_OK ? PQntuples(r) : atoi(PQcmdTuples(r));
        if (res)
            *res = r;
        else
            PQclear(r);
        return rows;
    }
    /* A read-only server refuses a change before running it. */
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state != NULL && strcmp(state, "25006") == 0)
        *sent = false;
    int rc = classify(c, r);
    PQclear(r);
    return rc;
}

/* How a statement may be repeated after its connection was lost. */
enum replay {
    REPLAY_UNSENT, /* only when it is known not to have reached the server (a change) */
    REPLAY_ANY,    /* always: it changes nothing, or changing twice is the same as once */
};

/* Outside a transaction, serialization failures and deadlocks are retried a bounded number of
 * times, and a statement whose connection was lost is sent once more on a new connection,
 * unless it may have run already and is not REPLAY_ANY: a write that had committed just
 * before the connection dropped (a redemption, an order, an issuance without an
 * Idempotency-Key) would otherwise be applied twice. Its outcome is unknown: 503 with
 * outcome_unknown set, for the client to look before it tries again. */
static int exec_retrying(struct db_conn *c, const char *url, const char *sql, int nparams,
                         const char *const *params, PGresult **res, enum replay replay) {
    if (res)
        *res = NULL;
    bool sent;
    if (c->in_txn)
        return exec_once(c, url, sql, nparams, params, res, &sent);
    int rc = DB_HARD_ERROR;
    for (int attempt = 0; attempt < DB_MAX_RETRIES; attempt++) {
        bool had_conn = c->pg != NULL;
        rc = exec_once(c, url, sql, nparams, params, res, &sent);
        if (rc == DB_RETRY) {
            usleep((useconds_t)(1000 * (1 << attempt)) + randombytes_uniform(1000));
            continue;
        }
        if (rc != DB_UNAVAILABLE || strcmp(last_error.sqlstate, "57014") == 0 ||
            strcmp(last_error.sqlstate, "55P03") == 0)
            break;
        if (sent && replay != REPLAY_ANY) {
            last_error.outcome_unknown = true;
            log_warn("database connection lost while a change ran (%s); not repeated",
                     last_error.message);
            break;
        }
        /* A connection that died (server restart, failover) is replaced once at once. */
        if (had_conn && attempt == 0)
            continue;
        break;
    }
    return rc;
}

int db_exec(const char *sql, int nparams, const char *const *params, PGresult **res) {
    return exec_retrying(&primary, primary_url, sql, nparams, params, res, REPLAY_UNSENT);
}

int db_exec_idempotent(const char *sql, int nparams, const char *const *params, PGresult **res) {
    return exec_retrying(&primary, primary_url, sql, nparams, params, res, REPLAY_ANY);
}

int db_statement_timeout_ms(void) {
    return stmt_timeout_ms;
}

static const char SQL_SET_TIMEOUT[] = "SELECT set_config('statement_timeout', $1, true)";

int db_exec_long(const char *sql, int nparams, const char *const *params, PGresult **res,
                 int timeout_ms) {
    if (res != NULL)
        *res = NULL;
    bool own = !primary.in_txn;
    int rc = own ? db_begin() : 0;
    if (rc < 0)
        return rc;
    char ms[16];
    snprintf(ms, sizeof ms, "%d", timeout_ms);
    const char *set[] = {ms};
    rc = db_exec(SQL_SET_TIMEOUT, 1, set, NULL);
    if (rc >= 0)
        rc = db_exec(sql, nparams, params, res);
    if (!own) {
        /* the rest of the caller's transaction runs with the usual timeout again (a failed
         * statement has aborted the transaction: nothing runs in it but the rollback) */
        snprintf(ms, sizeof ms, "%d", stmt_timeout_ms);
        int r = rc >= 0 ? db_exec(SQL_SET_TIMEOUT, 1, set, NULL) : 0;
        if (r < 0 && res != NULL) {
            PQclear(*res);
            *res = NULL;
        }
        return r < 0 ? r : rc;
    }
    if (rc < 0) {
        db_rollback();
        return rc;
    }
    int c = db_commit();
    if (c < 0) {
        if (res != NULL) {
            PQclear(*res);
            *res = NULL;
        }
        return c;
    }
    return rc;
}

/* Reads go to the replica only once it has replayed everything the primary had flushed when
 * the read began, so a client always reads its own (and everyone's) committed writes: the
 * primary's flush LSN is one cheap round trip, the heavy query runs on the replica. A replica
 * that lags more than ~100 ms, or is down, is bypassed for that read. A read connection that
 * finds a primary (its standby was promoted by a failover, or with a multi-host
 * DATABASE_READ_URL no standby was up) is closed, and this thread reads on the primary for a
 * few seconds before it connects again to look for a standby. */
static const char SQL_PRIMARY_LSN[] = "SELECT pg_current_wal_flush_lsn()::text";
static const char SQL_REPLAYED[] =
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 'primary' "
    "WHEN pg_last_wal_replay_lsn() >= $1::pg_lsn THEN 't' ELSE 'f' END";
#define DB_STANDBY_RETRY_US 5000000
static atomic_ullong reads_on_replica, reads_on_primary;
static _Thread_local int64_t no_standby_until_us;

int db_exec_read(const char *sql, int nparams, const char *const *params, PGresult **res) {
    if (read_url == NULL || primary.in_txn || util_mono_us() < no_standby_until_us) {
        atomic_fetch_add(&reads_on_primary, 1);
        return db_exec_idempotent(sql, nparams, params, res);
    }
    PGresult *lsn;
    int rc = exec_retrying(&primary, primary_url, SQL_PRIMARY_LSN, 0, NULL, &lsn, REPLAY_ANY);
    if (rc != 1) {
        PQclear(lsn);
        atomic_fetch_add(&reads_on_primary, 1);
        return db_exec_idempotent(sql, nparams, params, res);
    }
    const char *target[] = {PQgetvalue(lsn, 0, 0)};
    bool caught_up = false;
    for (int attempt = 0; attempt < 20 && !caught_up; attempt++) {
        PGresult *r;
        if (exec_retrying(&replica, read_url, SQL_REPLAYED, 1, target, &r, REPLAY_ANY) != 1) {
            PQclear(r);
            break;
        }
        bool on_primary = strcmp(PQgetvalue(r, 0, 0), "primary") == 0;
        caught_up = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
        if (on_primary) {
            conn_close(&replica);
            no_standby_until_us = util_mono_us() + DB_STANDBY_RETRY_US;
            break;
        }
        if (!caught_up)
            usleep(5000);
    }
    PQclear(lsn);
    if (caught_up) {
        rc = exec_retrying(&replica, read_url, sql, nparams, params, res, REPLAY_ANY);
        if (rc >= 0 || rc == DB_APP_ERROR) {
            atomic_fetch_add(&reads_on_replica, 1);
            return rc;
        }
    }
    atomic_fetch_add(&reads_on_primary, 1);
    return db_exec_idempotent(sql, nparams, params, res);
}

void db_read_stats(unsigned long long *replica_reads, unsigned long long *primary_reads) {
    *replica_reads = atomic_load(&reads_on_replica);
    *primary_reads = atomic_load(&reads_on_primary);
}

static int simple(const char *sql) {
    if (!conn_ensure(&primary, primary_url))
        return DB_UNAVAILABLE;
    PGresult *r = PQexec(primary.pg, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : classify(&primary, r);
    PQclear(r);
    return rc;
}

int db_begin(void) {
    int rc = simple("BEGIN");
    if (rc == 0)
        primary.in_txn = true;
    return rc;
}

/* Every connection has synchronous_commit = on, so with a synchronous standby (pg_auto_failover
 * maintains synchronous_standby_names) COMMIT returns once the standby has flushed the change.
 * The statement timeout is lifted for the COMMIT alone: PostgreSQL answers a cancelled wait for
 * the standby with success, which would acknowledge a change that exists on one node only. The
 * wait ends when the standby confirms, when the engine declares it dead and turns synchronous
 * replication off, or when the primary goes away (503; the client retries with its key). */
int db_commit(void) {
    bool healthy = primary.pg != NULL && PQtransactionStatus(primary.pg) == PQTRANS_INTRANS;
    int rc = simple(healthy ? "SET LOCAL statement_timeout = 0; COMMIT" : "COMMIT");
    primary.in_txn = false;
    return rc;
}

int db_savepoint(void) {
    return simple("SAVEPOINT handler");
}

int db_rollback_to_savepoint(void) {
    return simple("ROLLBACK TO SAVEPOINT handler");
}

void db_rollback(void) {
    if (primary.pg != NULL && primary.in_txn)
        (void)simple("ROLLBACK");
    primary.in_txn = false;
}

bool db_in_transaction(void) {
    return primary.in_txn;
}

/* ==== sessions of their own ============================================================== */

struct db_session {
    struct db_conn c;
};

int db_session_open(const char *begin_sql, struct db_session **out) {
    *out = NULL;
    if (primary_url == NULL)
        return DB_UNAVAILABLE; /* db_init was not called */
    struct db_session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return DB_HARD_ERROR;
    if (!conn_ensure(&s->c, primary_url)) {
        free(s);
        return DB_UNAVAILABLE;
    }
    PGresult *r = PQexec(s->c.pg, begin_sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : classify(&s->c, r);
    PQclear(r);
    if (rc != 0) {
        db_session_close(s);
        return rc;
    }
    s->c.in_txn = true;
    *out = s;
    return 0;
}

int db_session_exec(struct db_session *s, const char *sql, int nparams, const char *const *params,
                    PGresult **res) {
    if (res)
        *res = NULL;
    if (s->c.pg == NULL || PQstatus(s->c.pg) != CONNECTION_OK) {
        set_error("08006", "connection lost", "the session's snapshot is gone", NULL);
        return DB_UNAVAILABLE;
    }
    bool sent;
    return exec_once(&s->c, primary_url, sql, nparams, params, res, &sent);
}

void db_session_close(struct db_session *s) {
    if (s == NULL)
        return;
    conn_close(&s->c); /* closing the connection ends its read-only transaction */
    free(s);
}

int db_run_script(PGconn *pg, const char *script, char **error_out, char sqlstate[6]) {
    PGresult *r = PQexec(pg, script);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        if (sqlstate) {
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            snprintf(sqlstate, 6, "%s", state ? state : "");
        }
        if (error_out) {
            const char *pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
            char buf[1024];
            snprintf(buf, sizeof buf, "%s%s%s", PQresultErrorMessage(r), pos ? " at position " : "",
                     pos ? pos : "");
            *error_out = strdup(buf);
        }
        rc = -1;
    }
    PQclear(r);
    return rc;
}
