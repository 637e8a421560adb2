/* audit_log.h — inside the audit module: the log as verification walks it, read from the
 * database a page at a time in one snapshot of a connection of its own (server/db.h sessions).
 * Used by online verification (audit_log.c) and the export (audit_export.c). */
#ifndef SUANLI_AUDIT_LOG_H
#define SUANLI_AUDIT_LOG_H

#include "audit.h"
#include "db.h"

/* Entries by seq; after the entry at position p, the checkpoints of size <= p; at the end, the
 * checkpoints left (beyond the last position). */
struct audit_log {
    struct db_session *db;
    PGresult *ev, *cp;
    int ev_row, ev_rows, cp_row, cp_rows;
    long long ev_after, cp_after;
    bool ev_done, cp_done;
    int failed;   /* the db_status of the first failed page, or 0 */
    bool counted; /* holds one of the AUDIT_MAX_SESSIONS places */
    int64_t flush_upto;
};

enum audit_log_kind { AUDIT_LOG_END, AUDIT_LOG_ENTRY, AUDIT_LOG_CHECKPOINT };

/* Pointers into the current page: valid until the next audit_log_next. NULL for SQL NULL. */
struct audit_log_item {
    enum audit_log_kind kind;
    int64_t seq, position; /* position 0: not chained */
    const char *leaf, *hash, *city, *doc;
    int64_t size;
    const char *head, *signed_at, *kid, *signature;
};

/* Opens the log in a read-only snapshot; 0, AUDIT_TOO_MANY when AUDIT_MAX_SESSIONS run already,
 * or a db_status. Close it with audit_log_close whatever the result. */
int audit_log_open(struct audit_log *c);
/* The next item; 0, or the db_status of a failed page. */
int audit_log_next(struct audit_log *c, struct audit_log_item *it);
void audit_log_close(struct audit_log *c);

/* The entry of a log row; the canonical event goes to *canon (malloc'd) when canon is not NULL
 * and the event exists. -1 when the stored event is not canonicalisable. */
int audit_log_entry(const struct audit_log_item *it, struct audit_entry *e, char **canon,
                    size_t *canon_len);
/* The checkpoint of a log row; -1 when it is not well-formed. */
int audit_log_checkpoint(const struct audit_log_item *it, struct audit_checkpoint *cp);

#endif
