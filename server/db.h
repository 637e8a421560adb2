/* db.h — PostgreSQL access: one connection per worker thread, statements prepared once per
 * connection, reconnect after a lost server, bounded retry of serialization failures. */
#ifndef SUANLI_DB_H
#define SUANLI_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

/* The outcome of a statement. Callers switch on it completely (after GNU Taler's
 * GNUNET_DB_QueryStatus): a non-negative value is the number of rows. */
enum db_status {
    DB_HARD_ERROR = -5,  /* a bug or an unexpected server error: 500 */
    DB_UNAVAILABLE = -4, /* no connection to the database: 503 with Retry-After */
    DB_CONFLICT = -3,    /* a constraint refused the change (SQLSTATE class 23 but 23514) */
    DB_APP_ERROR = -2,   /* a function raised a domain error (SQLSTATE 'SL...'), or a value was
                          * refused (class 22, 23514: slug validation-failed): see db_error */
    DB_RETRY = -1,       /* serialization failure or deadlock inside a transaction: retry it */
    DB_NO_ROW = 0,
    DB_ONE_ROW = 1,
};

/* What the last failing statement of this thread said. */
struct db_error {
    char sqlstate[6];
    char message[256]; /* for DB_APP_ERROR: the problem slug */
    char detail[512];
    char constraint[128];
    char field[128]; /* for DB_APP_ERROR: the request field at fault (problem_at), or "" */
    bool outcome_unknown; /* DB_UNAVAILABLE: the connection was lost after a change was sent */
};

/* Sets the connection strings; read_url may be NULL. Call once before serving. */
void db_init(const char *primary_url, const char *read_url, int statement_timeout_ms);
void db_cleanup(void);

/* on (the default): each statement is prepared once per connection under a name; off: sent
 * unnamed (parsed and planned) every time, for a transaction pooler such as PgBouncer 1.18 that
 * hands each transaction to any server connection and cannot follow named statements. The SQL
 * functions' own statements are planned once per backend either way. Call before serving. */
void db_set_prepared(bool on);

/* Closes this thread's connections (worker exit). */
void db_thread_cleanup(void);

/* Runs sql (a string literal: its address keys the prepared-statement cache) with text
 * parameters on the primary. On success *res (if res != NULL) holds the result for the caller
 * to PQclear; on failure *res is NULL. Outside a transaction, serialization failures and
 * deadlocks are retried a bounded number of times, and so is a statement whose connection was
 * lost before it was sent; one that may have reached the server is never sent again (it may
 * have committed): DB_UNAVAILABLE with db_last_error()->outcome_unknown. Inside a
 * transaction, DB_RETRY is returned for the caller to restart the transaction. */
int db_exec(const char *sql, int nparams, const char *const *params, PGresult **res);

/* db_exec for a statement that may safely run twice (a read, or a change whose repetition is
 * the same as doing it once): it is sent once more on a new connection when its connection
 * was lost, sent or not. */
int db_exec_idempotent(const char *sql, int nparams, const char *const *params, PGresult **res);

/* db_exec for one statement that may rightly run longer than a request's statement timeout
 * (a batch): it runs with `timeout_ms` instead, in the caller's transaction (which then goes
 * on with the usual timeout) or in one of its own, committed here when it succeeds. */
int db_exec_long(const char *sql, int nparams, const char *const *params, PGresult **res,
                 int timeout_ms);

/* The statement timeout every connection runs with, in milliseconds (SUANLI_DB_TIMEOUT_MS). */
int db_statement_timeout_ms(void);

/* The same on the read replica when DATABASE_READ_URL is set and the replica has replayed the
 * primary's flushed WAL (read-your-writes); else on the primary. */
int db_exec_read(const char *sql, int nparams, const char *const *params, PGresult **res);

/* How many reads db_exec_read sent to the replica and to the primary, for /metrics. */
void db_read_stats(unsigned long long *replica_reads, unsigned long long *primary_reads);

/* Transactions on this thread's primary connection. */
int db_begin(void);
int db_commit(void);
void db_rollback(void);
bool db_in_transaction(void);
/* A savepoint inside the transaction, so that a refused change can be undone while the
 * transaction (and what it claimed before) stays usable. */
int db_savepoint(void);
int db_rollback_to_savepoint(void);

/* Last error of this thread. */
const struct db_error *db_last_error(void);

/* True when the primary is reachable right now (connects if needed). */
bool db_ping(void);

/* Number of open connections across all threads, for /metrics. */
int db_open_connections(void);

/* A connection of its own, outside this thread's: for work that holds one snapshot across many
 * calls, possibly from several threads one after the other (audit verification and export).
 * Same session settings, prepared statements and error classification as db_exec, but never
 * reconnected: once its connection is lost every call answers DB_UNAVAILABLE. */
struct db_session;
/* Connects to the primary and runs begin_sql (a BEGIN …); 0 with *out, or a db_status. */
int db_session_open(const char *begin_sql, struct db_session **out);
/* As db_exec, on the session's connection (sql a string literal). */
int db_session_exec(struct db_session *s, const char *sql, int nparams, const char *const *params,
                    PGresult **res);
/* Ends the transaction (rolls back) and closes the connection. NULL is allowed. */
void db_session_close(struct db_session *s);

/* Runs a whole SQL script (several statements) on pg, outside the prepared-statement cache;
 * used by migrations and tools. On failure *error_out (when given) is the message, to free, and
 * sqlstate (when given) the error's SQLSTATE ("" if there is none). */
int db_run_script(PGconn *pg, const char *script, char **error_out, char sqlstate[6]);

/* Opens a connection for tools (migrate, seed); NULL and a message on failure. */
PGconn *db_connect_tool(const char *url, char **error_out);

#endif
