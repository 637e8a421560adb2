/* witness.h — the witness URL: every signed audit checkpoint is also POSTed, as the export's
 * JSON checkpoint line, to SUANLI_AUDIT_WITNESS_URL (a service another party runs, which keeps
 * what it receives). The sealer only queues the line; one thread of libcurl delivers it,
 * retrying a failed POST a bounded number of times, so that a slow or absent witness never
 * holds up the sealer. The queue is bounded: when it is full a line is dropped and counted
 * (the witness file, SUANLI_AUDIT_WITNESS_FILE, and the database keep every checkpoint). */
#ifndef SUANLI_WITNESS_H
#define SUANLI_WITNESS_H

#include "buf.h"

#include <stddef.h>

#define WITNESS_QUEUE 64   /* checkpoint lines waiting to be POSTed at most */
#define WITNESS_ATTEMPTS 5 /* POSTs of one line before it is given up */

/* Starts the delivery thread when SUANLI_AUDIT_WITNESS_URL is set (else does nothing). Call
 * before other threads start: it initialises libcurl. 0 on success. */
int witness_url_start(void);

/* Queues one checkpoint line (without or with its trailing newline); never blocks. */
void witness_url_post(const char *line, size_t len);

/* Stops the thread (an attempt under way ends first; lines still queued are dropped and
 * counted). Safe when never started. */
void witness_url_stop(void);

/* Appends the witness URL's counters to /metrics. */
void witness_url_metrics(struct buf *b);

#endif
