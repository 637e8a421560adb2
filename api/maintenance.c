/* maintenance.c — upkeep every server runs in the background, so that nothing depends on a
 * cron the operator could forget: releasing expired vouchers, dropping idempotency records
 * past their 48 hours (maintenance_tick in sql/003_vouchers.sql, bounded batches, safe on
 * every replica at once), and registering the signing keys if that failed at start. */
#include "api.h"

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define MAINTENANCE_INTERVAL_MS 2000

static pthread_t thread;
static bool running;
static bool stopping;
static bool keys_pending;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;

static const char SQL_TICK[] = "SELECT maintenance_tick()";

/* Sleeps one interval; false when asked to stop. */
static bool nap(void) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += MAINTENANCE_INTERVAL_MS / 1000;
    until.tv_nsec += (long)(MAINTENANCE_INTERVAL_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lock);
    while (!stopping && pthread_cond_timedwait(&wake, &lock, &until) != ETIMEDOUT)
        ;
    bool go_on = !stopping;
    pthread_mutex_unlock(&lock);
    return go_on;
}

static void *maintenance_main(void *unused) {
    (void)unused;
    while (nap()) {
        if (keys_pending && api_vouchers_sync_keys()) {
            keys_pending = false;
            log_info("signing keys registered");
        }
        int rc = db_exec(SQL_TICK, 0, NULL, NULL);
        if (rc < 0 && rc != DB_UNAVAILABLE)
            log_warn("maintenance: %s (%s)", db_last_error()->message, db_last_error()->detail);
    }
    db_thread_cleanup();
    return NULL;
}

int api_maintenance_start(bool sync_keys) {
    keys_pending = sync_keys;
    stopping = false;
    if (pthread_create(&thread, NULL, maintenance_main, NULL) != 0) {
        log_error("cannot start the maintenance thread");
        return -1;
    }
    running = true;
    return 0;
}

void api_maintenance_stop(void) {
    if (!running)
        return;
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    running = false;
}
