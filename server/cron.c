/* cron.c — see cron.h. */
#include "cron.h"

#include "db.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

struct cron_job {
    const char *name;
    int64_t period_ms;
    cron_fn run;
    void *ctx;
    int64_t due_ms;     /* monotonic time of the next run; -1 when done */
    atomic_ullong runs; /* runs ended, read by /metrics from other threads */
};

static struct {
    struct cron_job jobs[CRON_MAX_JOBS];
    int njobs;
    pthread_t thread;
    bool started;
    bool stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} cron = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ==== jobs ================================================================================ */

int cron_add(const char *name, int64_t first_ms, int64_t period_ms, cron_fn run, void *ctx) {
    if (cron.started || cron.njobs == CRON_MAX_JOBS) {
        log_error("cron: cannot add job %s", name);
        return -1;
    }
    struct cron_job *j = &cron.jobs[cron.njobs++];
    *j = (struct cron_job){
        .name = name, .period_ms = period_ms, .run = run, .ctx = ctx, .due_ms = first_ms};
    atomic_init(&j->runs, 0);
    return 0;
}

void cron_render_metrics(struct buf *out) {
    if (cron.njobs == 0)
        return;
    buf_puts(out, "# HELP suanli_cron_runs_total Runs of each background job that have ended.\n"
                  "# TYPE suanli_cron_runs_total counter\n");
    for (int i = 0; i < cron.njobs; i++)
        buf_printf(out, "suanli_cron_runs_total{job=\"%s\"} %llu\n", cron.jobs[i].name,
                   atomic_load(&cron.jobs[i].runs));
}

/* The earliest due time of the jobs left; -1 when none is left. */
static int64_t next_due(void) {
    int64_t next = -1;
    for (int i = 0; i < cron.njobs; i++)
        if (cron.jobs[i].due_ms >= 0 && (next < 0 || cron.jobs[i].due_ms < next))
            next = cron.jobs[i].due_ms;
    return next;
}

/* ==== the thread ========================================================================== */

/* Sleeps until the monotonic time until_ms (forever when negative) unless asked to stop;
 * false when asked to stop. This is the program's one timed wait. */
static bool cron_wait(int64_t until_ms) {
    struct timespec until = {.tv_sec = (time_t)(until_ms / 1000),
                             .tv_nsec = (long)(until_ms % 1000) * 1000000L};
    pthread_mutex_lock(&cron.mu);
    while (!cron.stopping) {
        int rc = until_ms < 0 ? pthread_cond_wait(&cron.cv, &cron.mu)
                              : pthread_cond_timedwait(&cron.cv, &cron.mu, &until);
        if (rc == ETIMEDOUT)
            break;
    }
    bool go_on = !cron.stopping;
    pthread_mutex_unlock(&cron.mu);
    return go_on;
}

/* Runs every due job once, in the order they were added, and schedules its next run. */
static void run_due(void) {
    for (int i = 0; i < cron.njobs; i++) {
        struct cron_job *j = &cron.jobs[i];
        if (j->due_ms < 0 || j->due_ms > mono_ms())
            continue;
        enum cron_next next = j->run(j->ctx);
        atomic_fetch_add(&j->runs, 1);
        j->due_ms = next == CRON_DONE  ? -1
                    : next == CRON_NOW ? mono_ms()
                                       : mono_ms() + j->period_ms;
    }
}

static void *cron_main(void *unused) {
    (void)unused;
    while (cron_wait(next_due()))
        run_due();
    db_thread_cleanup();
    return NULL;
}

int cron_start(void) {
    if (cron.started || cron.njobs == 0)
        return 0;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cron.cv, &attr);
    pthread_condattr_destroy(&attr);
    int64_t start = mono_ms();
    for (int i = 0; i < cron.njobs; i++)
        cron.jobs[i].due_ms += start;
    cron.stopping = false;
    if (pthread_create(&cron.thread, NULL, cron_main, NULL) != 0) {
        log_error("cron: cannot start the background thread");
        pthread_cond_destroy(&cron.cv);
        return -1;
    }
    cron.started = true;
    return 0;
}

void cron_stop(void) {
    if (cron.started) {
        pthread_mutex_lock(&cron.mu);
        cron.stopping = true;
        pthread_cond_signal(&cron.cv);
        pthread_mutex_unlock(&cron.mu);
        pthread_join(cron.thread, NULL);
        pthread_cond_destroy(&cron.cv);
        cron.started = false;
    }
    cron.njobs = 0;
}
