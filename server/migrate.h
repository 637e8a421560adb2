/* migrate.h — numbered SQL migrations from the sql/ directory. */
#ifndef SUANLI_MIGRATE_H
#define SUANLI_MIGRATE_H

#include <libpq-fe.h>

/* Applies every migration of sql_dir not yet applied, in order, each in its own transaction,
 * recording its checksum. Refuses (returns -1, with a message) when an applied migration's
 * file has changed or is missing. Returns the number applied. */
int migrate_apply(PGconn *pg, const char *sql_dir);

/* 0 when the database has exactly the migrations of sql_dir, 1 when some are pending,
 * -1 on error (message logged). */
int migrate_status(PGconn *pg, const char *sql_dir);

/* The expected migration set, loaded once at start for /readyz: its count and a digest. */
int migrate_expected(const char *sql_dir, int *count, char digest[65]);

#endif
