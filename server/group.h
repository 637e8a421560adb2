/* group.h — group commit: several requests' changes in one statement, so in one transaction
 * with one commit (SUANLI_GROUP_COMMIT=on). A request hands its statement's parameters to
 * group_exec and waits: the first waiting thread that finds no group of its lane running sends
 * every request of that lane queued by then (up to GROUP_MAX) as one statement and answers
 * each; a request is answered only after the group has committed. SUANLI_GROUP_COMMIT_LANES
 * lanes run at once. */
#ifndef SUANLI_GROUP_H
#define SUANLI_GROUP_H

#include <stdbool.h>

#define GROUP_MAX 64    /* requests in one group at most */
#define GROUP_PARAMS 12 /* parameters of one request at most */
#define GROUP_COLUMNS 8 /* columns of one request's answer at most */

/* One request's answer: rc is 1 with its row (cols[k] NULL for SQL NULL, else malloc'd), or
 * what db_exec returned for the whole group (< 0; outcome_unknown as db_last_error()'s) when
 * the group failed. Free with group_answer_free. */
struct group_answer {
    int rc;
    bool outcome_unknown;
    char *cols[GROUP_COLUMNS];
};

/* Runs one request in a group. batch_sql (a string literal) takes one jsonb parameter, an array
 * with one array of text parameters per request, and answers one row per request: its index
 * in that array first, then ncols columns (ncols <= GROUP_COLUMNS), which land in cols. A
 * request whose row is missing gets rc 0. Requests of one affinity (say, one credential) go
 * in the same lane, whose groups run one after another; other lanes' groups run beside. */
void group_exec(const char *batch_sql, const char *affinity, int nparams, const char *const *params,
                int ncols, struct group_answer *out);
void group_answer_free(struct group_answer *a);

/* How many groups were sent, how many requests they carried, and the most lanes that had a
 * group in flight at once (for /metrics). */
void group_stats(unsigned long long *groups, unsigned long long *requests,
                 unsigned long long *lanes_busy_max);

#endif
