/* group.c — see group.h. Leader and followers on one mutex: a request queues itself in its lane
 * and waits; whoever finds no group of its lane running takes that lane's queue (its own
 * request among it, or it waits for the next turn), runs it on its own thread's connection,
 * answers everyone in it, and wakes the waiters. No timer: a group is whatever arrived while
 * the lane's previous one ran. Lanes (SUANLI_GROUP_COMMIT_LANES) run at once, each on its own
 * connection; a request's lane follows its affinity (the credential), so one credential's
 * requests never run in two groups at once. Two credentials of one institute may: their groups
 * can then deadlock, PostgreSQL ends it, and the item that lost takes the usual path. */
#include "group.h"

#include "config.h"
#include "db.h"
#include "log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct item {
    const char *sql;
    int nparams, ncols;
    const char *const *params;
    struct group_answer *answer;
    unsigned lane;
    bool taken, done;
    struct item *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct item *head, *tail;
#define LANES_MAX 16            /* SUANLI_GROUP_COMMIT_LANES's upper bound (config.c) */
static bool running[LANES_MAX]; /* a group of that lane is in flight */
static int busy;                /* lanes with a group in flight; under mu */
static atomic_ullong groups_sent, requests_sent, busy_peak;

void group_stats(unsigned long long *groups, unsigned long long *requests,
                 unsigned long long *lanes_busy_max) {
    *groups = atomic_load(&groups_sent);
    *requests = atomic_load(&requests_sent);
    *lanes_busy_max = atomic_load(&busy_peak);
}

/* Takes up to GROUP_MAX queued items of sql and lane off the queue, in order; called with mu
 * held. */
static int take(const char *sql, unsigned lane, struct item **group) {
    int n = 0;
    struct item **link = &head;
    tail = NULL;
    while (*link != NULL) {
        struct item *it = *link;
        if (n < GROUP_MAX && it->sql == sql && it->lane == lane) {
            it->taken = true;
            group[n++] = it;
            *link = it->next;
        } else {
            tail = it;
            link = &it->next;
        }
    }
    return n;
}

static void answer_all(struct item **group, int n, int rc) {
    bool unknown = rc == DB_UNAVAILABLE && db_last_error()->outcome_unknown;
    for (int k = 0; k < n; k++) {
        group[k]->answer->rc = rc;
        group[k]->answer->outcome_unknown = unknown;
    }
}

/* Sends the group as one statement and fills every item's answer; called without mu. */
static void run(struct item **group, int n) {
    json_t *items = json_array();
    for (int k = 0; k < n; k++) {
        json_t *a = json_array();
        for (int p = 0; p < group[k]->nparams; p++)
            json_array_append_new(a, group[k]->params[p] ? json_string(group[k]->params[p])
                                                         : json_null());
        json_array_append_new(items, a);
    }
    char *text = json_dumps(items, JSON_COMPACT);
    json_decref(items);
    if (text == NULL) {
        answer_all(group, n, DB_HARD_ERROR);
        return;
    }
    const char *params[] = {text};
    PGresult *res;
    atomic_fetch_add(&groups_sent, 1);
    atomic_fetch_add(&requests_sent, (unsigned long long)n);
    int rc = db_exec(group[0]->sql, 1, params, &res);
    free(text);
    if (rc < 0) {
        answer_all(group, n, rc);
        return;
    }
    answer_all(group, n, 0);
    for (int row = 0; row < rc; row++) {
        int k = atoi(PQgetvalue(res, row, 0));
        if (k < 0 || k >= n || PQnfields(res) < 1 + group[k]->ncols)
            continue;
        struct group_answer *a = group[k]->answer;
        a->rc = 1;
        for (int c = 0; c < group[k]->ncols; c++)
            a->cols[c] = PQgetisnull(res, row, 1 + c) ? NULL : strdup(PQgetvalue(res, row, 1 + c));
    }
    PQclear(res);
}

/* The lane of an affinity: FNV-1a of its bytes modulo the lanes configured. */
static unsigned lane_of(const char *affinity) {
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)(affinity ? affinity : ""); *p; p++)
        h = (h ^ *p) * 16777619u;
    int64_t lanes = cfg.group_commit_lanes; /* 1..LANES_MAX once configured; 0 before */
    return h % (unsigned)(lanes < 1 ? 1 : lanes);
}

void group_exec(const char *batch_sql, const char *affinity, int nparams, const char *const *params,
                int ncols, struct group_answer *out) {
    memset(out, 0, sizeof *out);
    struct item self = {.sql = batch_sql,
                        .lane = lane_of(affinity),
                        .nparams = nparams,
                        .ncols = ncols < GROUP_COLUMNS ? ncols : GROUP_COLUMNS,
                        .params = params,
                        .answer = out};
    struct item *group[GROUP_MAX];
    pthread_mutex_lock(&mu);
    if (tail != NULL)
        tail->next = &self;
    else
        head = &self;
    tail = &self;
    while (!self.done) {
        if (running[self.lane] || self.taken) {
            pthread_cond_wait(&cv, &mu);
            continue;
        }
        running[self.lane] = true;
        if ((unsigned long long)++busy > atomic_load(&busy_peak))
            atomic_store(&busy_peak, (unsigned long long)busy); /* written under mu only */
        int n = take(batch_sql, self.lane, group);
        pthread_mutex_unlock(&mu);
        run(group, n);
        pthread_mutex_lock(&mu);
        for (int k = 0; k < n; k++)
            group[k]->done = true;
        running[self.lane] = false;
        busy--;
        pthread_cond_broadcast(&cv);
    }
    pthread_mutex_unlock(&mu);
}

void group_answer_free(struct group_answer *a) {
    for (int c = 0; c < GROUP_COLUMNS; c++) {
        free(a->cols[c]);
        a->cols[c] = NULL;
    }
}
