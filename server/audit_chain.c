/* audit_chain.c — see audit.h: the BLAKE2b chain, the checkpoint message and the verifier that
 * recomputes both, fed by the database (audit_log.c) or by an export file (audit_export.c). */
#include "audit.h"

#include "util.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ==== chain and checkpoints =============================================================== */

bool audit_unhex(const char *hex, unsigned char *out, size_t n) {
    size_t binlen;
    return hex != NULL && strlen(hex) == 2 * n &&
           sodium_hex2bin(out, n, hex, 2 * n, NULL, &binlen, NULL) == 0 && binlen == n;
}

void audit_leaf(const char *canonical, size_t len, unsigned char leaf[AUDIT_HASH_BYTES]) {
    crypto_generichash(leaf, AUDIT_HASH_BYTES, (const unsigned char *)canonical, len, NULL, 0);
}

void audit_chain_step(const unsigned char prev[AUDIT_HASH_BYTES], int64_t seq,
                      const unsigned char leaf[AUDIT_HASH_BYTES],
                      unsigned char out[AUDIT_HASH_BYTES]) {
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)((uint64_t)seq >> (56 - 8 * i));
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, AUDIT_HASH_BYTES);
    crypto_generichash_update(&st, prev, AUDIT_HASH_BYTES);
    crypto_generichash_update(&st, be, sizeof be);
    crypto_generichash_update(&st, leaf, AUDIT_HASH_BYTES);
    crypto_generichash_final(&st, out, AUDIT_HASH_BYTES);
}

int audit_checkpoint_message(int64_t size, const char *head_hex, const char *signed_at,
                             const char *kid, char *out, size_t outlen) {
    int n = snprintf(out, outlen,
                     "{\"head_hash\":\"%s\",\"kid\":\"%s\",\"signed_at\":\"%s\",\"size\":%lld,"
                     "\"type\":\"" AUDIT_CHECKPOINT_TYPE "\"}",
                     head_hex, kid, signed_at, (long long)size);
    return n < 0 || (size_t)n >= outlen ? -1 : n;
}

bool audit_checkpoint_signed(const struct audit_checkpoint *cp, const struct keys_public *keys,
                             int nkeys) {
    const struct keys_public *key = NULL;
    for (int i = 0; i < nkeys && key == NULL; i++)
        if (strcmp(keys[i].kid, cp->kid) == 0)
            key = &keys[i];
    char msg[512];
    int len =
        audit_checkpoint_message(cp->size, cp->head_hex, cp->signed_at, cp->kid, msg, sizeof msg);
    return key != NULL && len >= 0 && util_is_rfc3339(cp->signed_at) &&
           crypto_sign_verify_detached(cp->signature, (const unsigned char *)msg, (size_t)len,
                                       key->pk) == 0;
}

/* ==== the verifier ======================================================================== */

void audit_verifier_init(struct audit_verifier *v, const struct keys_public *keys, int nkeys,
                         audit_leaf_finder find_leaf, void *find_ctx) {
    memset(v, 0, sizeof *v);
    v->keys = keys;
    v->nkeys = nkeys;
    v->find_leaf = find_leaf;
    v->find_ctx = find_ctx;
}

static void fail_at(struct audit_verifier *v, int64_t position, bool has_seq, int64_t seq,
                    const char *reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void fail_at(struct audit_verifier *v, int64_t position, bool has_seq, int64_t seq,
                    const char *reason, const char *fmt, ...) {
    if (v->failed)
        return;
    v->failed = true;
    v->bad_position = position;
    v->bad_has_seq = has_seq;
    v->bad_seq = seq;
    v->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->detail, sizeof v->detail, fmt, ap);
    va_end(ap);
}

void audit_verifier_fail(struct audit_verifier *v, const char *reason, const char *fmt, ...) {
    if (v->failed)
        return;
    char detail[sizeof v->detail];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    fail_at(v, v->size + 1, false, 0, reason, "%s", detail);
}

void audit_verifier_entry(struct audit_verifier *v, const struct audit_entry *e) {
    if (v->failed)
        return;
    long long seq = (long long)e->seq, expected = (long long)v->size + 1;
    if (e->position == 0) {
        if (v->size > 0 && e->seq <= v->last_seq) {
            fail_at(v, expected, true, e->seq, "inserted",
                    "event seq %lld lies inside the chained range but has no chain position", seq);
            return;
        }
        v->unchained++;
        if (!v->pending) {
            v->pending = true;
            v->pending_seq = e->seq;
        }
        return;
    }
    if (v->pending) {
        fail_at(v, expected, true, v->pending_seq, "inserted",
                "event seq %lld comes before chained position %lld but was never chained",
                (long long)v->pending_seq, expected);
        return;
    }
    if (e->position > expected) {
        fail_at(v, expected, false, 0, "missing",
                "position %lld is gone: the log goes from position %lld to %lld", expected,
                (long long)v->size, (long long)e->position);
        return;
    }
    if (v->deferred) {
        fail_at(v, expected, true, e->seq, "malformed",
                "checkpoint %lld comes before the event at position %lld",
                (long long)v->deferred_size, expected);
        return;
    }
    if (e->position < expected || (v->size > 0 && e->seq <= v->last_seq)) {
        fail_at(v, (long long)e->position, true, e->seq, "chain-altered",
                "position %lld (seq %lld) repeats or goes back in the chain",
                (long long)e->position, seq);
        return;
    }
    if (!e->present) {
        fail_at(v, expected, true, e->seq, "missing",
                "the event chained at position %lld (seq %lld) is gone", expected, seq);
        return;
    }
    if (e->has_claim_leaf && sodium_memcmp(e->leaf, e->claim_leaf, AUDIT_HASH_BYTES) != 0) {
        int64_t other = v->find_leaf ? v->find_leaf(v->find_ctx, e->leaf, e->position) : 0;
        if (other > 0)
            fail_at(v, expected, true, e->seq, "reordered",
                    "the event at position %lld (seq %lld) carries the content chained at "
                    "position %lld",
                    expected, seq, (long long)other);
        else
            fail_at(v, expected, true, e->seq, "edited",
                    "the event at position %lld (seq %lld) is not what was chained there", expected,
                    seq);
        return;
    }
    unsigned char h[AUDIT_HASH_BYTES];
    audit_chain_step(v->head, e->seq, e->leaf, h);
    if (e->has_claim_hash && sodium_memcmp(h, e->claim_hash, AUDIT_HASH_BYTES) != 0) {
        if (e->has_claim_leaf)
            fail_at(v, expected, true, e->seq, "chain-altered",
                    "the recorded chain hash at position %lld does not follow from the events "
                    "before it",
                    expected);
        else
            fail_at(v, expected, true, e->seq, "edited",
                    "the redacted event at position %lld (seq %lld) does not match its chain "
                    "hash",
                    expected, seq);
        return;
    }
    memcpy(v->head, h, sizeof h);
    v->size = expected;
    v->last_seq = e->seq;
}

void audit_verifier_checkpoint(struct audit_verifier *v, const struct audit_checkpoint *cp) {
    if (v->failed)
        return;
    long long size = (long long)cp->size;
    if (cp->size > v->size) {
        /* Either the positions up to it are gone for good (truncated), or one is missing and the
         * next event says so: decided by what follows. */
        if (!v->deferred) {
            v->deferred = true;
            v->deferred_size = cp->size;
        }
        return;
    }
    if (cp->size < v->size || cp->size <= v->sealed) {
        fail_at(v, size, false, 0, "malformed",
                "checkpoint %lld is out of place (after position %lld)", size, (long long)v->size);
        return;
    }
    bool known = false;
    for (int i = 0; i < v->nkeys && !known; i++)
        known = strcmp(v->keys[i].kid, cp->kid) == 0;
    if (!known) {
        fail_at(v, size, false, 0, "checkpoint-signature-invalid",
                "checkpoint %lld is signed by %s, which is not among the keys", size, cp->kid);
        return;
    }
    if (!audit_checkpoint_signed(cp, v->keys, v->nkeys)) {
        fail_at(v, size, false, 0, "checkpoint-signature-invalid",
                "the signature of checkpoint %lld (signed at %s) does not verify under %s", size,
                cp->signed_at, cp->kid);
        return;
    }
    char head[AUDIT_HEX_LEN];
    util_hex(v->head, sizeof v->head, head);
    if (strcmp(head, cp->head_hex) != 0) {
        fail_at(v, (long long)v->sealed + 1, false, 0, "checkpoint-head-mismatch",
                "the chain recomputed from the events does not reach the head signed for "
                "positions %lld to %lld at %s",
                (long long)v->sealed + 1, size, cp->signed_at);
        return;
    }
    v->sealed = cp->size;
    v->checkpoints++;
}

void audit_verifier_finish(struct audit_verifier *v) {
    if (v->deferred)
        fail_at(v, v->size + 1, false, 0, "truncated",
                "checkpoint %lld is signed for %lld positions; the log ends at position %lld",
                (long long)v->deferred_size, (long long)v->deferred_size, (long long)v->size);
}

json_t *audit_verifier_report(const struct audit_verifier *v) {
    char head[AUDIT_HEX_LEN];
    util_hex(v->head, sizeof v->head, head);
    json_t *bad = json_null();
    if (v->failed)
        bad = json_pack("{s:I, s:o, s:s, s:s}", "position", (json_int_t)v->bad_position, "seq",
                        v->bad_has_seq ? json_integer(v->bad_seq) : json_null(), "reason",
                        v->reason, "detail", v->detail);
    return json_pack("{s:b, s:I, s:I, s:I, s:I, s:s, s:o}", "ok", !v->failed, "chain_size",
                     (json_int_t)v->size, "sealed_size", (json_int_t)v->sealed,
                     "checkpoints_verified", (json_int_t)v->checkpoints, "unchained_events",
                     (json_int_t)v->unchained, "head_hash", head, "first_bad", bad);
}
