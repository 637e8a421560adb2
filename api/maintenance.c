/* maintenance.c — upkeep every server runs in the background, so that nothing depends on a
 * cron the operator could forget: releasing expired vouchers, dropping idempotency records
 * past their 48 hours (maintenance_tick in sql/003_vouchers.sql, bounded batches, safe on
 * every replica at once), and registering the signing keys if that failed at start. Both are
 * jobs of the periodic runner (server/cron.h), which main.c starts and stops. */
#include "api.h"

#include "cron.h"
#include "log.h"

#define MAINTENANCE_INTERVAL_MS 2000

static const char SQL_TICK[] = "SELECT maintenance_tick()";

/* One bounded batch of expiry releases and idempotency clean-up. */
static enum cron_next maintenance_tick(void *unused) {
    (void)unused;
    int rc = db_exec(SQL_TICK, 0, NULL, NULL);
    if (rc < 0 && rc != DB_UNAVAILABLE)
        log_warn("maintenance: %s (%s)", db_last_error()->message, db_last_error()->detail);
    return CRON_LATER;
}

/* Retries registering the signing keys until it succeeds once. */
static enum cron_next keys_sync(void *unused) {
    (void)unused;
    if (!api_vouchers_sync_keys())
        return CRON_LATER;
    log_info("signing keys registered");
    return CRON_DONE;
}

int api_maintenance_start(bool sync_keys) {
    if (sync_keys && cron_add("signing_key_registration", MAINTENANCE_INTERVAL_MS,
                              MAINTENANCE_INTERVAL_MS, keys_sync, NULL) != 0)
        return -1;
    return cron_add("maintenance", MAINTENANCE_INTERVAL_MS, MAINTENANCE_INTERVAL_MS,
                    maintenance_tick, NULL);
}

void api_maintenance_stop(void) {
    cron_stop(); /* the runner stops as a whole: its jobs may call into api/ */
}
