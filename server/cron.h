/* cron.h — the one periodic runner (after Redis's serverCron): a single thread with a single
 * timed wait drives all background work of a server — the audit sealer (server/audit_seal.c),
 * the maintenance jobs and the retried registration of the signing keys (api/maintenance.c) —
 * each at its own period. Jobs run one after another on that thread, so each may use the
 * thread's database connection (server/db.h) without locking; the thread closes it on stop. */
#ifndef SUANLI_CRON_H
#define SUANLI_CRON_H

#include <stdint.h>

#include "buf.h"

/* What a job wants after a run. */
enum cron_next {
    CRON_LATER, /* run again one period from now */
    CRON_NOW,   /* more work is waiting: run again at once (after the other due jobs) */
    CRON_DONE,  /* never run again */
};

typedef enum cron_next (*cron_fn)(void *ctx);

#define CRON_MAX_JOBS 8

/* Adds a job before cron_start (name, a static string, labels its metric): first run first_ms from
 * the start, then every period_ms. 0 on success, -1 when the table is full or the runner already
 * started. */
int cron_add(const char *name, int64_t first_ms, int64_t period_ms, cron_fn run, void *ctx);

/* Starts the thread (a runner without jobs starts none). 0 on success. */
int cron_start(void);

/* Appends suanli_cron_runs_total{job="<name>"} (Prometheus text) for every job added: how many
 * runs of it have ended. */
void cron_render_metrics(struct buf *out);

/* Wakes the thread, waits for the job it may be running, joins it and forgets all jobs. Safe
 * to call more than once, and when never started. */
void cron_stop(void);

#endif
