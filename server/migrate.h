/* migrate.h — the database's tables (sql/schema, applied once each) and functions
 * (sql/functions, reloaded in full) from the sql/ directory. */
#ifndef SUANLI_MIGRATE_H
#define SUANLI_MIGRATE_H

#include <libpq-fe.h>

/* In one transaction: applies every schema file of sql_dir/schema not yet applied, in order,
 * recording its checksum, then drops the schema "api" and loads every sql_dir/functions file
 * again. Refuses (returns -1, with a message, nothing changed) when an applied schema file has
 * changed or is missing, or the database has the layout of before sql/schema. Returns the
 * number of schema files applied. */
int migrate_apply(PGconn *pg, const char *sql_dir);

/* Loads every .sql file of sql_dir/dev (the demo seed's functions, into the session's pg_temp). */
int migrate_load_dev(PGconn *pg, const char *sql_dir);

/* 0 when the database has exactly the migrations of sql_dir, 1 when some are pending,
 * -1 on error (message logged). */
int migrate_status(PGconn *pg, const char *sql_dir);

/* The expected migration set, loaded once at start for /readyz: its count and a digest. */
int migrate_expected(const char *sql_dir, int *count, char digest[65]);

#endif
