/* audit.h — the tamper-evident audit log (DESIGN.md §2 "Audit log", invariant I5).
 *
 * Writers append events to audit_events inside their own transactions (sql/001 audit_append)
 * and never wait for each other. A sealer thread in every server (one at a time across
 * replicas, under an advisory lock) chains the events shortly after they commit and signs
 * checkpoints; verification recomputes everything from the events and the public keys:
 *
 *   canonical_p = the event's content as canonical JSON (canon_object; sql/004
 *                 audit_event_doc lists the members; seq is not among them)
 *   leaf_p      = BLAKE2b-256(canonical_p)
 *   hash_p      = BLAKE2b-256(hash_{p-1} || seq_p as 8 bytes big-endian || leaf_p),
 *                 hash_0 = 32 zero bytes
 *   checkpoint  = Ed25519 signature, by the key with PASERK id kid, over audit_checkpoint_message
 *                 {head_hash = hash_size, kid, signed_at, size, type}
 *
 * Hashing the leaf rather than the event bytes into the chain lets an export for one city carry
 * a foreign event as its leaf alone ("redacted") and still be verified end to end.
 *
 * The module's files: canon.c (canonical JSON), audit_chain.c (chain, checkpoint message,
 * verifier), audit_seal.c (the sealer, a job of server/cron.c), audit_log.c (the log read from
 * one database snapshot; online verification), audit_export.c (the export stream and the
 * offline verifier of an export). Public keys are read by server/keys.c. */
#ifndef SUANLI_AUDIT_H
#define SUANLI_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "canon.h"
#include "keys.h"

#define AUDIT_HASH_BYTES 32
#define AUDIT_HEX_LEN (2 * AUDIT_HASH_BYTES + 1)
#define AUDIT_EXPORT_FORMAT "suanli-audit-export/1"
#define AUDIT_CHECKPOINT_TYPE "suanli.audit.checkpoint.v1"

/* ==== canonical bytes, chain and checkpoints ============================================== */

/* canonical_p is canon_object() of the event's document (server/canon.h). */

/* Decodes exactly n bytes from 2n hex digits; false if hex is anything else. */
bool audit_unhex(const char *hex, unsigned char *out, size_t n);

void audit_leaf(const char *canonical, size_t len, unsigned char leaf[AUDIT_HASH_BYTES]);
void audit_chain_step(const unsigned char prev[AUDIT_HASH_BYTES], int64_t seq,
                      const unsigned char leaf[AUDIT_HASH_BYTES],
                      unsigned char out[AUDIT_HASH_BYTES]);

/* The bytes a checkpoint signature covers: {"head_hash":…,"kid":…,"signed_at":…,"size":…,
 * "type":"suanli.audit.checkpoint.v1"}. Returns the length, or -1 if it does not fit. */
int audit_checkpoint_message(int64_t size, const char *head_hex, const char *signed_at,
                             const char *kid, char *out, size_t outlen);

/* ==== verification ======================================================================== */

/* One position of the log as verification walks it, in seq order. */
struct audit_entry {
    int64_t position; /* its chain position; 0 = not in the chain */
    int64_t seq;
    bool present; /* the event exists (its content, or for a redacted one its leaf) */
    unsigned char leaf[AUDIT_HASH_BYTES]; /* recomputed from the content, or given */
    bool has_claim_leaf;                  /* the leaf the chain recorded */
    unsigned char claim_leaf[AUDIT_HASH_BYTES];
    bool has_claim_hash; /* the chain hash the chain recorded */
    unsigned char claim_hash[AUDIT_HASH_BYTES];
};

struct audit_checkpoint {
    int64_t size;
    char head_hex[AUDIT_HEX_LEN];
    char signed_at[40];
    char kid[PASERK_K4_PID_LEN];
    unsigned char signature[64];
};

/* Whether cp's signature verifies under the key of its kid among keys (and signed_at is an
 * RFC 3339 time). */
bool audit_checkpoint_signed(const struct audit_checkpoint *cp, const struct keys_public *keys,
                             int nkeys);

/* Looks for another chain position whose recorded leaf is leaf (a reordered event); 0 if none. */
typedef int64_t (*audit_leaf_finder)(void *ctx, const unsigned char leaf[AUDIT_HASH_BYTES],
                                     int64_t not_position);

/* Recomputes the chain from entries and checkpoints fed in log order and remembers the first
 * position that does not verify, with its reason:
 *   edited            the event's content is not what was chained at its position
 *   reordered         the event carries the content chained at another position
 *   missing           a chained event (or a whole position) is gone
 *   inserted          an event sits inside the chained range without a chain position
 *   chain-altered     the recorded chain itself was rewritten
 *   truncated         a signed checkpoint covers positions the log no longer has
 *   checkpoint-signature-invalid   a checkpoint's signature does not verify (or unknown kid)
 *   checkpoint-head-mismatch       the recomputed chain does not reach a checkpoint's head
 *   malformed / incomplete         (offline) an export line is not understood / the export ends
 *                                  before its "end" line */
struct audit_verifier {
    const struct keys_public *keys;
    int nkeys;
    audit_leaf_finder find_leaf;
    void *find_ctx;

    int64_t size; /* positions verified */
    unsigned char head[AUDIT_HASH_BYTES];
    int64_t last_seq;
    int64_t sealed; /* size of the last verified checkpoint */
    int64_t checkpoints;
    int64_t unchained; /* events after the chain's head, not chained yet */
    bool pending;      /* an unchained event was seen after the last chained one */
    int64_t pending_seq;
    bool deferred; /* a checkpoint beyond the positions seen so far: truncated, unless a gap */
    int64_t deferred_size;

    bool failed;
    int64_t bad_position;
    bool bad_has_seq;
    int64_t bad_seq;
    const char *reason;
    char detail[256];
};

void audit_verifier_init(struct audit_verifier *v, const struct keys_public *keys, int nkeys,
                         audit_leaf_finder find_leaf, void *find_ctx);
void audit_verifier_entry(struct audit_verifier *v, const struct audit_entry *e);
void audit_verifier_checkpoint(struct audit_verifier *v, const struct audit_checkpoint *cp);
/* Ends the walk: a checkpoint still beyond the last position means the log was truncated. */
void audit_verifier_finish(struct audit_verifier *v);
/* Records a failure at the next position (used for unreadable input). */
void audit_verifier_fail(struct audit_verifier *v, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* {ok, chain_size, sealed_size, checkpoints_verified, unchained_events, head_hash, first_bad}. */
json_t *audit_verifier_report(const struct audit_verifier *v);

/* ==== the server side: sealer, online verification, export ================================ */

/* Unless SUANLI_AUDIT_SEALER=off, adds the sealer to the periodic runner (server/cron.h; call
 * before cron_start): a round at once, then every SUANLI_AUDIT_SEAL_MS. 0 on success. */
int audit_start(void);

/* One sealer round on this thread's database connection: chains what is safely committed and
 * signs a checkpoint when one is due. Returns the number of events chained, or -1 on error. */
int audit_seal_round(int64_t checkpoint_ms);

/* Returned by audit_verify_db and audit_export_open when too many run at once. */
#define AUDIT_TOO_MANY (-100)

/* Verifies the whole log in the database (one consistent snapshot, on a connection of its
 * own) against the server's keys. *report as audit_verifier_report. A db_status on failure. */
int audit_verify_db(json_t **report);

/* The JSON Lines export: a "header" line, one line per event in seq order ("event", or
 * "redacted" — position, seq, leaf, hash only — for events outside city_id when city_id is
 * not NULL), each "checkpoint" after the event of its size, and an "end" line with the counts.
 * Read from one snapshot on a connection of its own, a page at a time (constant memory). */
struct audit_export;
int audit_export_open(const char *city_id, struct audit_export **out);
/* Copies the next bytes into buf: > 0 bytes, 0 at the end, -1 on a database error. */
ssize_t audit_export_fill(struct audit_export *x, char *buf, size_t max);
void audit_export_close(struct audit_export *x);

/* ==== offline verification (suanlid audit-verify) ========================================= */

/* Verifies an export file with keys; *report as audit_verifier_report plus line counts.
 * 0 when the file was read (the report says whether it verified), -1 with *error otherwise. */
int audit_verify_export(const char *path, const struct keys_public *keys, int nkeys,
                        json_t **report, char **error);

/* Proves the export's checkpoints are the witnessed ones: every line of the witness file
 * (SUANLI_AUDIT_WITNESS_FILE, one checkpoint line each) must verify under keys and appear in the
 * export with the same head, time, kid and signature. Adds "witness": {checkpoints, matched,
 * first_bad} to report and clears its "ok" on a difference:
 *   witness-missing            a witnessed checkpoint is not in the export (the tail was cut)
 *   witness-mismatch           the export's checkpoint of that size differs from the witnessed
 *   witness-signature-invalid  a witness line does not verify under the keys
 *   malformed                  a witness line is not a checkpoint line
 * 0, or -1 with *error when a file cannot be read. */
int audit_verify_witness(const char *witness_path, const char *export_path,
                         const struct keys_public *keys, int nkeys, json_t *report, char **error);

#endif
