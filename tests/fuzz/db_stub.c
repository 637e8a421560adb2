/* db_stub.c — server/db.h without a database, for fuzz_endpoints: every statement answers
 * DB_UNAVAILABLE at once, as a server whose PostgreSQL is down would see it. A handler that got
 * past its own decoding and checks therefore replies 503 and nothing after its database call
 * runs, so the fuzzer spends its time on what the request's bytes decide. */
#include "db.h"

#include <stdlib.h>
#include <string.h>

static const struct db_error no_database = {
    .sqlstate = "08006",
    .message = "connection failed",
    .detail = "fuzz_endpoints runs without a database",
};

void db_init(const char *primary_url, const char *read_url, int statement_timeout_ms) {
    (void)primary_url;
    (void)read_url;
    (void)statement_timeout_ms;
}

void db_cleanup(void) {}

void db_thread_cleanup(void) {}

int db_exec(const char *sql, int nparams, const char *const *params, PGresult **res) {
    (void)sql;
    (void)nparams;
    (void)params;
    if (res != NULL)
        *res = NULL;
    return DB_UNAVAILABLE;
}

int db_exec_idempotent(const char *sql, int nparams, const char *const *params, PGresult **res) {
    return db_exec(sql, nparams, params, res);
}

int db_exec_read(const char *sql, int nparams, const char *const *params, PGresult **res) {
    return db_exec(sql, nparams, params, res);
}

int db_exec_long(const char *sql, int nparams, const char *const *params, PGresult **res,
                 int timeout_ms) {
    (void)timeout_ms;
    return db_exec(sql, nparams, params, res);
}

int db_statement_timeout_ms(void) {
    return 5000;
}

void db_read_stats(unsigned long long *replica_reads, unsigned long long *primary_reads) {
    *replica_reads = 0;
    *primary_reads = 0;
}

int db_begin(void) {
    return DB_UNAVAILABLE;
}

int db_commit(void) {
    return DB_UNAVAILABLE;
}

void db_rollback(void) {}

bool db_in_transaction(void) {
    return false;
}

int db_savepoint(void) {
    return DB_UNAVAILABLE;
}

int db_rollback_to_savepoint(void) {
    return DB_UNAVAILABLE;
}

const struct db_error *db_last_error(void) {
    return &no_database;
}

bool db_ping(void) {
    return false;
}

int db_open_connections(void) {
    return 0;
}

int db_session_open(const char *begin_sql, struct db_session **out) {
    (void)begin_sql;
    *out = NULL;
    return DB_UNAVAILABLE;
}

int db_session_exec(struct db_session *s, const char *sql, int nparams, const char *const *params,
                    PGresult **res) {
    (void)s;
    return db_exec(sql, nparams, params, res);
}

void db_session_close(struct db_session *s) {
    (void)s;
}

int db_run_script(PGconn *pg, const char *script, char **error_out, char sqlstate[6]) {
    (void)pg;
    (void)script;
    if (sqlstate != NULL)
        sqlstate[0] = '\0';
    if (error_out != NULL)
        *error_out = strdup(no_database.detail);
    return -1;
}

PGconn *db_connect_tool(const char *url, char **error_out) {
    (void)url;
    if (error_out != NULL)
        *error_out = strdup(no_database.detail);
    return NULL;
}
