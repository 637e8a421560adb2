/* audit_seal.c — the sealer (see audit.h): chains the events shortly after they commit and
 * signs checkpoints. It runs as a job of the periodic runner (server/cron.h) on the runner's
 * database connection (server/db.h), one replica at a time under an advisory lock. */
#include "audit.h"

#include "buf.h"
#include "canon.h"
#include "config.h"
#include "cron.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "util.h"
#include "witness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The sealers' advisory lock, in the two-key space so that it cannot meet the single-key locks
 * of migrate.c and sql/003. */
#define AUDIT_SEAL_LOCK "7243519, 4004"
#define AUDIT_SEAL_BATCH 1000 /* events chained per sealer transaction at most */

static const char SQL_SEAL_LOCK[] = "SELECT pg_try_advisory_xact_lock(" AUDIT_SEAL_LOCK ")";
static const char SQL_SEAL_BEGIN[] =
    "SELECT head_position, head_seq, head_hash, settled_seq, checkpoint_size, checkpoint_age_ms, "
    "now_text FROM audit_seal_begin()";
static const char SQL_SEAL_EVENTS[] = "SELECT seq, doc FROM audit_seal_events($1, $2)";
static const char SQL_CHAIN_APPEND[] =
    "SELECT audit_chain_append($1::bigint[], $2::bigint[], $3::text[], $4::text[])";
static const char SQL_CHECKPOINT_ADD[] =
    "SELECT audit_checkpoint_add($1::bigint, $2, $3::timestamptz, $4, $5)";

/* ==== chaining ============================================================================ */

/* Chains, after the head (head_pos, head_seq, head), the events of page that are safe to chain:
 * in seq order, each either at or below the settled horizon or right after the previous one (a
 * lower seq could otherwise still commit). Fills the four array literals; returns the count. */
static int seal_collect(PGresult *page, int64_t settled, int64_t *head_pos, int64_t *head_seq,
                        unsigned char head[AUDIT_HASH_BYTES], struct buf lists[4]) {
    int chained = 0;
    for (int i = 0; i < PQntuples(page); i++) {
        int64_t seq = atoll(PQgetvalue(page, i, 0));
        if (seq > settled && seq != *head_seq + 1)
            break;
        char *canon;
        size_t len;
        if (canon_object(PQgetvalue(page, i, 1), (size_t)PQgetlength(page, i, 1), NULL, &canon,
                         &len) != 0) {
            log_error("audit sealer: event seq %lld is not canonical JSON; chaining stops there",
                      (long long)seq);
            break;
        }
        unsigned char leaf[AUDIT_HASH_BYTES], h[AUDIT_HASH_BYTES];
        char leaf_hex[AUDIT_HEX_LEN], hash_hex[AUDIT_HEX_LEN];
        audit_leaf(canon, len, leaf);
        free(canon);
        audit_chain_step(head, seq, leaf, h);
        memcpy(head, h, sizeof h);
        util_hex(leaf, sizeof leaf, leaf_hex);
        util_hex(h, sizeof h, hash_hex);
        *head_pos += 1;
        *head_seq = seq;
        const char *sep = chained++ ? "," : "{";
        buf_printf(&lists[0], "%s%lld", sep, (long long)*head_pos);
        buf_printf(&lists[1], "%s%lld", sep, (long long)seq);
        buf_printf(&lists[2], "%s%s", sep, leaf_hex);
        buf_printf(&lists[3], "%s%s", sep, hash_hex);
    }
    for (int k = 0; k < 4; k++)
        buf_putc(&lists[k], '}');
    return chained;
}

/* ==== the witness file ==================================================================== */

/* Appends line to SUANLI_AUDIT_WITNESS_FILE and waits until it is on disk. The file lies outside
 * the database, so a superuser who cuts the tail of the log (events, chain and checkpoints
 * together) cannot cut it there too: `suanlid audit-verify --witness` compares the two. */
static int witness_append(const char *line, size_t len) {
    int fd =
        open(cfg.audit_witness_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < len;) {
        ssize_t n = write(fd, line + off, len - off);
        if (n < 0 && errno != EINTR)
            rc = -1;
        else if (n > 0)
            off += (size_t)n;
    }
    if (rc == 0)
        rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* ==== one round =========================================================================== */

/* Signs the checkpoint {size, head} at now with the checkpoint key and stores it; its witness
 * line (the export's checkpoint line) goes to witness, written once the round commits. */
static bool sign_checkpoint(int64_t size, const unsigned char head[AUDIT_HASH_BYTES],
                            const char *now, struct buf *witness) {
    const struct signing_key *key = keys_checkpoint_signer();
    if (key == NULL)
        return false;
    char head_hex[AUDIT_HEX_LEN], msg[512], sig_hex[129], size_s[24];
    unsigned char sig[crypto_sign_BYTES];
    util_hex(head, AUDIT_HASH_BYTES, head_hex);
    int len = audit_checkpoint_message(size, head_hex, now, key->kid, msg, sizeof msg);
    if (len < 0)
        return false;
    crypto_sign_detached(sig, NULL, (const unsigned char *)msg, (size_t)len, key->sk);
    util_hex(sig, sizeof sig, sig_hex);
    snprintf(size_s, sizeof size_s, "%lld", (long long)size);
    const char *params[] = {size_s, head_hex, now, key->kid, sig_hex};
    if (cfg.audit_witness_file != NULL || cfg.audit_witness_url != NULL)
        buf_printf(witness,
                   "{\"kind\":\"checkpoint\",\"size\":%s,\"head_hash\":\"%s\",\"signed_at\":"
                   "\"%s\",\"kid\":\"%s\",\"signature\":\"%s\"}\n",
                   size_s, head_hex, now, key->kid, sig_hex);
    return !witness->oom && db_exec(SQL_CHECKPOINT_ADD, 5, params, NULL) >= 0;
}

int audit_seal_round(int64_t checkpoint_ms) {
    PGresult *r = NULL;
    struct buf lists[4] = {{0}}, witness = {0};
    int chained = -1;
    if (db_begin() != 0)
        return -1;
    if (db_exec(SQL_SEAL_LOCK, 0, NULL, &r) != 1)
        goto out;
    if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        chained = 0; /* another replica's sealer is at work */
        goto out;
    }
    PQclear(r);
    if (db_exec(SQL_SEAL_BEGIN, 0, NULL, &r) != 1)
        goto out;
    int64_t head_pos = atoll(PQgetvalue(r, 0, 0)), head_seq = atoll(PQgetvalue(r, 0, 1));
    unsigned char head[AUDIT_HASH_BYTES] = {0};
    if (!PQgetisnull(r, 0, 2) && !audit_unhex(PQgetvalue(r, 0, 2), head, sizeof head))
        goto out;
    int64_t settled = atoll(PQgetvalue(r, 0, 3)), checkpoint_size = atoll(PQgetvalue(r, 0, 4));
    bool due = PQgetisnull(r, 0, 5) || atoll(PQgetvalue(r, 0, 5)) >= checkpoint_ms;
    char now[40], after[24], limit[16];
    snprintf(now, sizeof now, "%s", PQgetvalue(r, 0, 6));
    PQclear(r);

    snprintf(after, sizeof after, "%lld", (long long)head_seq);
    snprintf(limit, sizeof limit, "%d", AUDIT_SEAL_BATCH);
    const char *ev_params[] = {after, limit};
    if (db_exec(SQL_SEAL_EVENTS, 2, ev_params, &r) < 0)
        goto out;
    int n = seal_collect(r, settled, &head_pos, &head_seq, head, lists);
    PQclear(r);
    r = NULL;
    if (lists[0].oom || lists[1].oom || lists[2].oom || lists[3].oom)
        goto out;
    if (n > 0) {
        const char *params[] = {lists[0].p, lists[1].p, lists[2].p, lists[3].p};
        if (db_exec(SQL_CHAIN_APPEND, 4, params, NULL) < 0)
            goto out;
    }
    if (head_pos > checkpoint_size && due && !sign_checkpoint(head_pos, head, now, &witness))
        goto out;
    chained = n;
out:
    PQclear(r);
    for (int k = 0; k < 4; k++)
        buf_free(&lists[k]);
    if (chained >= 0 && db_commit() != 0)
        chained = -1;
    if (chained < 0)
        db_rollback();
    else if (witness.len > 0 && cfg.audit_witness_file != NULL &&
             witness_append(witness.p, witness.len) != 0)
        log_error("audit sealer: cannot append the checkpoint to the witness file %s: %s",
                  cfg.audit_witness_file, strerror(errno));
    if (chained >= 0 && witness.len > 0)
        witness_url_post(witness.p, witness.len); /* queued; does nothing without the URL */
    buf_free(&witness);
    return chained;
}

/* ==== the job ============================================================================= */

static bool failing;

/* A round every SUANLI_AUDIT_SEAL_MS, at once again while a full batch was chained; a failed
 * round is retried a period later (db.c reconnects a lost connection on its own). */
static enum cron_next seal_job(void *unused) {
    (void)unused;
    int n = audit_seal_round(cfg.audit_checkpoint_ms);
    if (n < 0) {
        if (!failing)
            log_warn("audit sealer: a round failed (%s %s); retrying", db_last_error()->sqlstate,
                     db_last_error()->message);
        failing = true;
        return CRON_LATER;
    }
    if (failing)
        log_info("audit sealer: working again");
    failing = false;
    return n == AUDIT_SEAL_BATCH ? CRON_NOW : CRON_LATER;
}

int audit_start(void) {
    if (!cfg.audit_sealer) {
        log_info("audit sealer off (SUANLI_AUDIT_SEALER=off): events are not chained here");
        return 0;
    }
    if (keyring.ncheckpoint == 0)
        log_warn("the key file has no checkpoint key: audit checkpoints are signed with the "
                 "voucher key; add one with `suanlid keygen --checkpoint` (README, Security)");
    failing = false;
    if (witness_url_start() != 0)
        return -1;
    return cron_add("audit_sealer", 0, cfg.audit_seal_ms, seal_job, NULL);
}
