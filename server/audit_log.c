/* audit_log.c — see audit_log.h: the audit log read page by page from one database snapshot,
 * and online verification (audit_verify_db) over it. */
#include "audit_log.h"

#include "config.h"
#include "keys.h"
#include "util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_PAGE 500       /* rows per page when verifying and exporting */
#define AUDIT_MAX_SESSIONS 4 /* verifications and exports at once, per process */

static const char SQL_SNAPSHOT[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
static const char SQL_LOG_PAGE[] =
    "SELECT o_seq, o_position, o_leaf, o_hash, o_city, o_doc FROM audit_log_page($1, $2)";
static const char SQL_CHECKPOINT_PAGE[] =
    "SELECT o_size, o_head, o_signed_at, o_kid, o_signature FROM audit_checkpoint_page($1, $2)";
static const char SQL_LEAF_POSITION[] = "SELECT audit_leaf_position($1, $2)";
/* Seconds the oldest unchained event of the snapshot has waited since it was written. */
static const char SQL_UNCHAINED_AGE[] =
    "SELECT floor(extract(epoch FROM now() - at))::bigint FROM audit_events WHERE seq = $1";

/* ==== the cursor ========================================================================== */

static atomic_int sessions;

int audit_log_open(struct audit_log *c) {
    memset(c, 0, sizeof *c);
    if (atomic_fetch_add(&sessions, 1) >= AUDIT_MAX_SESSIONS) {
        atomic_fetch_sub(&sessions, 1);
        return AUDIT_TOO_MANY;
    }
    c->counted = true;
    return db_session_open(SQL_SNAPSHOT, &c->db);
}

void audit_log_close(struct audit_log *c) {
    PQclear(c->ev);
    PQclear(c->cp);
    c->ev = c->cp = NULL;
    db_session_close(c->db);
    c->db = NULL;
    if (c->counted)
        atomic_fetch_sub(&sessions, 1);
    c->counted = false;
}

static const char *value_or_null(PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Makes row *row of the page valid, fetching the next page when needed; false at the end. */
static bool page_peek(struct audit_log *c, const char *sql, PGresult **page, int *row, int *rows,
                      long long *after, bool *done) {
    if (*page != NULL && *row < *rows)
        return true;
    if (*done || c->failed)
        return false;
    PQclear(*page);
    char a[24], l[16];
    snprintf(a, sizeof a, "%lld", *after);
    snprintf(l, sizeof l, "%d", AUDIT_PAGE);
    const char *params[] = {a, l};
    int rc = db_session_exec(c->db, sql, 2, params, page);
    *row = 0;
    *rows = rc > 0 ? rc : 0;
    if (rc < 0)
        c->failed = rc;
    if (*rows == 0) {
        *done = true;
        return false;
    }
    *after = atoll(PQgetvalue(*page, *rows - 1, 0));
    return true;
}

static void take_checkpoint(struct audit_log *c, struct audit_log_item *it) {
    PGresult *r = c->cp;
    int i = c->cp_row++;
    it->kind = AUDIT_LOG_CHECKPOINT;
    it->size = atoll(PQgetvalue(r, i, 0));
    it->head = PQgetvalue(r, i, 1);
    it->signed_at = PQgetvalue(r, i, 2);
    it->kid = PQgetvalue(r, i, 3);
    it->signature = PQgetvalue(r, i, 4);
}

int audit_log_next(struct audit_log *c, struct audit_log_item *it) {
    memset(it, 0, sizeof *it);
    bool have_cp = page_peek(c, SQL_CHECKPOINT_PAGE, &c->cp, &c->cp_row, &c->cp_rows, &c->cp_after,
                             &c->cp_done);
    if (have_cp && atoll(PQgetvalue(c->cp, c->cp_row, 0)) <= c->flush_upto) {
        take_checkpoint(c, it);
        return 0;
    }
    bool have_ev =
        page_peek(c, SQL_LOG_PAGE, &c->ev, &c->ev_row, &c->ev_rows, &c->ev_after, &c->ev_done);
    if (c->failed)
        return c->failed;
    if (have_ev) {
        PGresult *r = c->ev;
        int i = c->ev_row++;
        it->kind = AUDIT_LOG_ENTRY;
        it->seq = atoll(PQgetvalue(r, i, 0));
        it->position = PQgetisnull(r, i, 1) ? 0 : atoll(PQgetvalue(r, i, 1));
        it->leaf = value_or_null(r, i, 2);
        it->hash = value_or_null(r, i, 3);
        it->city = value_or_null(r, i, 4);
        it->doc = value_or_null(r, i, 5);
        if (it->position > 0)
            c->flush_upto = it->position;
        return 0;
    }
    if (have_cp) {
        take_checkpoint(c, it);
        return 0;
    }
    it->kind = AUDIT_LOG_END;
    return 0;
}

/* ==== rows as verifier input ============================================================== */

int audit_log_entry(const struct audit_log_item *it, struct audit_entry *e, char **canon,
                    size_t *canon_len) {
    memset(e, 0, sizeof *e);
    e->position = it->position;
    e->seq = it->seq;
    e->has_claim_leaf = it->leaf != NULL && audit_unhex(it->leaf, e->claim_leaf, AUDIT_HASH_BYTES);
    e->has_claim_hash = it->hash != NULL && audit_unhex(it->hash, e->claim_hash, AUDIT_HASH_BYTES);
    if (it->doc == NULL)
        return 0;
    char *c;
    size_t n;
    if (canon_object(it->doc, strlen(it->doc), NULL, &c, &n) != 0)
        return -1;
    audit_leaf(c, n, e->leaf);
    e->present = true;
    if (canon != NULL) {
        *canon = c;
        *canon_len = n;
    } else {
        free(c);
    }
    return 0;
}

int audit_log_checkpoint(const struct audit_log_item *it, struct audit_checkpoint *cp) {
    memset(cp, 0, sizeof *cp);
    cp->size = it->size;
    if (strlen(it->head) >= sizeof cp->head_hex || strlen(it->signed_at) >= sizeof cp->signed_at ||
        strlen(it->kid) >= sizeof cp->kid ||
        !audit_unhex(it->signature, cp->signature, sizeof cp->signature))
        return -1;
    strcpy(cp->head_hex, it->head);
    strcpy(cp->signed_at, it->signed_at);
    strcpy(cp->kid, it->kid);
    return 0;
}

/* ==== online verification ================================================================= */

/* For reordering: the chain position, other than not_position, that recorded leaf. */
static int64_t db_find_leaf(void *ctx, const unsigned char leaf[AUDIT_HASH_BYTES],
                            int64_t not_position) {
    char hex[AUDIT_HEX_LEN], np[24];
    util_hex(leaf, AUDIT_HASH_BYTES, hex);
    snprintf(np, sizeof np, "%lld", (long long)not_position);
    const char *params[] = {hex, np};
    PGresult *r;
    int rc = db_session_exec(ctx, SQL_LEAF_POSITION, 2, params, &r);
    int64_t pos = rc == 1 && !PQgetisnull(r, 0, 0) ? atoll(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return pos;
}

/* The age of the oldest unchained event (v->pending_seq) into report as unchained_age_s, and
 * a failure when it exceeds SUANLI_AUDIT_UNCHAINED_MAX_S: a sealer that stopped (or a
 * cut-off chain that nobody extends) must not read as a healthy log. */
static int unchained_age(struct db_session *db, struct audit_verifier *v, int64_t *age) {
    *age = -1;
    if (v->failed || !v->pending)
        return 0;
    char seq[24];
    snprintf(seq, sizeof seq, "%lld", (long long)v->pending_seq);
    const char *params[] = {seq};
    PGresult *r;
    int rc = db_session_exec(db, SQL_UNCHAINED_AGE, 1, params, &r);
    if (rc < 0)
        return rc;
    if (rc == 1 && !PQgetisnull(r, 0, 0))
        *age = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (*age > cfg.audit_unchained_max_s)
        audit_verifier_fail(v, "unchained-too-long",
                            "%lld committed events are not chained; the oldest (seq %lld) has "
                            "waited %lld s, more than SUANLI_AUDIT_UNCHAINED_MAX_S=%lld",
                            (long long)v->unchained, (long long)v->pending_seq, (long long)*age,
                            (long long)cfg.audit_unchained_max_s);
    return 0;
}

int audit_verify_db(json_t **report) {
    *report = NULL;
    int nkeys = 0;
    struct keys_public *keys = NULL;
    struct audit_log c;
    int rc = audit_log_open(&c);
    if (rc != 0)
        goto out;
    rc = DB_HARD_ERROR;
    if (keys_public_from_keyring(KEYS_PUBLIC_VOUCHER | KEYS_PUBLIC_CHECKPOINT, &keys, &nkeys) != 0)
        goto out;
    struct audit_verifier v;
    audit_verifier_init(&v, keys, nkeys, db_find_leaf, c.db);
    while (!v.failed) {
        struct audit_log_item it;
        if ((rc = audit_log_next(&c, &it)) != 0)
            goto out;
        if (it.kind == AUDIT_LOG_END)
            break;
        if (it.kind == AUDIT_LOG_ENTRY) {
            struct audit_entry e;
            if (audit_log_entry(&it, &e, NULL, NULL) != 0)
                audit_verifier_fail(&v, "malformed", "the stored event seq %lld is not valid JSON",
                                    (long long)it.seq);
            else
                audit_verifier_entry(&v, &e);
        } else {
            struct audit_checkpoint cp;
            if (audit_log_checkpoint(&it, &cp) != 0)
                audit_verifier_fail(&v, "malformed", "checkpoint %lld is not well-formed",
                                    (long long)it.size);
            else
                audit_verifier_checkpoint(&v, &cp);
        }
    }
    audit_verifier_finish(&v);
    int64_t age;
    if ((rc = unchained_age(c.db, &v, &age)) != 0)
        goto out;
    *report = audit_verifier_report(&v);
    if (*report != NULL)
        json_object_set_new(*report, "unchained_age_s", age >= 0 ? json_integer(age) : json_null());
    rc = *report ? 0 : DB_HARD_ERROR;
out:
    audit_log_close(&c);
    free(keys);
    return rc;
}
