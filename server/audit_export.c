/* audit_export.c — the JSON Lines export of the audit log (see audit.h): the producer that
 * streams it from one database snapshot, and the offline verifier that reads it back
 * (suanlid audit-verify) with the public keys alone. */
#include "audit_log.h"

#include "canon.h"
#include "util.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_EXPORT_LINES 500 /* lines produced per refill of the stream buffer at most */

/* ==== export ============================================================================== */

struct audit_export {
    struct audit_log log;
    bool scoped;
    char city[UUID_STR_LEN];
    struct buf out;
    size_t off;
    int stage; /* 0: header next, 1: lines, 2: all written */
    long long events, redacted, checkpoints;
};

int audit_export_open(const char *city_id, struct audit_export **out) {
    *out = NULL;
    struct audit_export *x = calloc(1, sizeof *x);
    if (x == NULL)
        return DB_HARD_ERROR;
    int rc = audit_log_open(&x->log);
    if (rc != 0) {
        audit_export_close(x);
        return rc;
    }
    if (city_id != NULL && city_id[0] != '\0') {
        x->scoped = true;
        snprintf(x->city, sizeof x->city, "%s", city_id);
    }
    *out = x;
    return 0;
}

void audit_export_close(struct audit_export *x) {
    if (x == NULL)
        return;
    audit_log_close(&x->log);
    buf_free(&x->out);
    free(x);
}

/* One event line: the event, or (outside the export's city) its leaf alone. A chained event
 * that is gone gets no line: the jump in positions shows it. */
static int export_entry(struct audit_export *x, const struct audit_log_item *it) {
    struct audit_entry e;
    char *canon = NULL;
    size_t len = 0;
    if (it->doc == NULL)
        return 0;
    if (audit_log_entry(it, &e, &canon, &len) != 0)
        return -1;
    char position[24] = "null", leaf[AUDIT_HEX_LEN + 2] = "null", hash[AUDIT_HEX_LEN + 2] = "null";
    if (it->position > 0)
        snprintf(position, sizeof position, "%lld", (long long)it->position);
    if (it->hash != NULL)
        snprintf(hash, sizeof hash, "\"%s\"", it->hash);
    if (x->scoped && (it->city == NULL || strcmp(it->city, x->city) != 0)) {
        char computed[AUDIT_HEX_LEN];
        util_hex(e.leaf, sizeof e.leaf, computed);
        buf_printf(
            &x->out,
            "{\"kind\":\"redacted\",\"position\":%s,\"seq\":%lld,\"leaf\":\"%s\",\"hash\":%s}\n",
            position, (long long)it->seq, computed, hash);
        x->redacted++;
    } else {
        if (it->leaf != NULL)
            snprintf(leaf, sizeof leaf, "\"%s\"", it->leaf);
        buf_printf(&x->out,
                   "{\"kind\":\"event\",\"position\":%s,\"seq\":%lld,\"leaf\":%s,\"hash\":%s,",
                   position, (long long)it->seq, leaf, hash);
        buf_put(&x->out, canon + 1, len - 1); /* the canonical members and the closing brace */
        buf_putc(&x->out, '\n');
        x->events++;
    }
    free(canon);
    return 0;
}

/* Appends the next lines (a page at most) to x->out. */
static int export_more(struct audit_export *x) {
    if (x->stage == 0) {
        char now[40];
        util_now_rfc3339(now, sizeof now);
        buf_printf(&x->out,
                   "{\"kind\":\"header\",\"format\":\"" AUDIT_EXPORT_FORMAT
                   "\",\"exported_at\":\"%s\",\"city_id\":",
                   now);
        if (x->scoped)
            buf_printf(&x->out, "\"%s\"}\n", x->city);
        else
            buf_puts(&x->out, "null}\n");
        x->stage = 1;
        return 0;
    }
    for (int i = 0; i < AUDIT_EXPORT_LINES && x->stage == 1; i++) {
        struct audit_log_item it;
        if (audit_log_next(&x->log, &it) != 0)
            return -1;
        if (it.kind == AUDIT_LOG_END) {
            buf_printf(
                &x->out,
                "{\"kind\":\"end\",\"events\":%lld,\"redacted\":%lld,\"checkpoints\":%lld}\n",
                x->events, x->redacted, x->checkpoints);
            x->stage = 2;
        } else if (it.kind == AUDIT_LOG_CHECKPOINT) {
            buf_printf(&x->out,
                       "{\"kind\":\"checkpoint\",\"size\":%lld,\"head_hash\":\"%s\",\"signed_at\":"
                       "\"%s\",\"kid\":\"%s\",\"signature\":\"%s\"}\n",
                       (long long)it.size, it.head, it.signed_at, it.kid, it.signature);
            x->checkpoints++;
        } else if (export_entry(x, &it) != 0) {
            return -1;
        }
    }
    return x->out.oom ? -1 : 0;
}

ssize_t audit_export_fill(struct audit_export *x, char *buf, size_t max) {
    while (x->off == x->out.len) {
        if (x->stage == 2)
            return 0;
        buf_clear(&x->out);
        x->off = 0;
        if (export_more(x) != 0)
            return -1;
    }
    size_t n = x->out.len - x->off < max ? x->out.len - x->off : max;
    memcpy(buf, x->out.p + x->off, n);
    x->off += n;
    return (ssize_t)n;
}

/* ==== offline verification ================================================================ */

/* A member holding a hash as 64 hex digits. */
static bool member_hash(const struct canon_member *x, unsigned char out[AUDIT_HASH_BYTES]) {
    char hex[AUDIT_HEX_LEN];
    return canon_member_str(x, hex, sizeof hex) && audit_unhex(hex, out, AUDIT_HASH_BYTES);
}

static const char *const line_meta[] = {"kind", "position", "seq", "leaf", "hash", NULL};

/* The entry of an "event" or "redacted" line; -1 if the line is not well-formed. */
static int entry_from_line(const struct canon_member *m, size_t n, bool redacted,
                           struct audit_entry *e) {
    memset(e, 0, sizeof *e);
    const struct canon_member *pos = canon_member_get(m, n, "position"),
                              *leaf = canon_member_get(m, n, "leaf"),
                              *hash = canon_member_get(m, n, "hash");
    if (!canon_member_int(canon_member_get(m, n, "seq"), &e->seq))
        return -1;
    if (!canon_member_is_null(pos) && (!canon_member_int(pos, &e->position) || e->position <= 0))
        return -1;
    if (!canon_member_is_null(hash) && !(e->has_claim_hash = member_hash(hash, e->claim_hash)))
        return -1;
    if ((e->position > 0) != e->has_claim_hash)
        return -1;
    e->present = true;
    if (redacted)
        return member_hash(leaf, e->leaf) ? 0 : -1;
    if (!canon_member_is_null(leaf) && !(e->has_claim_leaf = member_hash(leaf, e->claim_leaf)))
        return -1;
    if ((e->position > 0) != e->has_claim_leaf)
        return -1;
    struct buf canon = {0};
    canon_emit_members(&canon, m, n, line_meta);
    if (canon.oom) {
        buf_free(&canon);
        return -1;
    }
    audit_leaf(canon.p, canon.len, e->leaf);
    buf_free(&canon);
    return 0;
}

/* The checkpoint of a "checkpoint" line; -1 if the line is not well-formed. */
static int checkpoint_from_line(const struct canon_member *m, size_t n,
                                struct audit_checkpoint *cp) {
    memset(cp, 0, sizeof *cp);
    char sig[2 * sizeof cp->signature + 1];
    if (!canon_member_int(canon_member_get(m, n, "size"), &cp->size) ||
        !canon_member_str(canon_member_get(m, n, "head_hash"), cp->head_hex, sizeof cp->head_hex) ||
        !canon_member_str(canon_member_get(m, n, "signed_at"), cp->signed_at,
                          sizeof cp->signed_at) ||
        !canon_member_str(canon_member_get(m, n, "kid"), cp->kid, sizeof cp->kid) ||
        !canon_member_str(canon_member_get(m, n, "signature"), sig, sizeof sig) ||
        !audit_unhex(sig, cp->signature, sizeof cp->signature))
        return -1;
    return 0;
}

/* getline without the line end; -1 at the end of the file. */
static ssize_t read_line(FILE *f, char **line, size_t *cap) {
    ssize_t len = getline(line, cap, f);
    while (len > 0 && ((*line)[len - 1] == '\n' || (*line)[len - 1] == '\r'))
        (*line)[--len] = '\0';
    return len;
}

/* For reordering: another event line of the export recorded with this leaf. */
static int64_t file_find_leaf(void *ctx, const unsigned char leaf[AUDIT_HASH_BYTES],
                              int64_t not_position) {
    FILE *f = fopen(ctx, "r");
    if (f == NULL)
        return 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t found = 0;
    while (found == 0 && (len = read_line(f, &line, &cap)) >= 0) {
        struct canon_member *m;
        size_t n;
        unsigned char claim[AUDIT_HASH_BYTES];
        int64_t position;
        if (canon_parse_object(line, (size_t)len, &m, &n) != 0)
            continue;
        if (member_hash(canon_member_get(m, n, "leaf"), claim) &&
            canon_member_int(canon_member_get(m, n, "position"), &position) &&
            position != not_position && sodium_memcmp(claim, leaf, AUDIT_HASH_BYTES) == 0)
            found = position;
        canon_members_free(m, n);
    }
    free(line);
    fclose(f);
    return found;
}

struct export_counts {
    long long lines, events, redacted, checkpoints;
    bool header, end;
};

/* Feeds one line of an export to the verifier. */
static void verify_line(struct audit_verifier *v, struct export_counts *k, const char *line,
                        size_t len) {
    struct canon_member *m;
    size_t n;
    char kind[16];
    long long at = k->lines;
    if (canon_parse_object(line, len, &m, &n) != 0) {
        audit_verifier_fail(v, "malformed", "line %lld is not one JSON object", at);
        return;
    }
    if (!canon_member_str(canon_member_get(m, n, "kind"), kind, sizeof kind)) {
        audit_verifier_fail(v, "malformed", "line %lld has no kind", at);
    } else if (k->end) {
        audit_verifier_fail(v, "malformed", "line %lld follows the end line", at);
    } else if (!k->header) {
        char format[64];
        if (strcmp(kind, "header") != 0 ||
            !canon_member_str(canon_member_get(m, n, "format"), format, sizeof format) ||
            strcmp(format, AUDIT_EXPORT_FORMAT) != 0)
            audit_verifier_fail(v, "malformed",
                                "line 1 is not the header of a " AUDIT_EXPORT_FORMAT " export");
        k->header = true;
    } else if (strcmp(kind, "event") == 0 || strcmp(kind, "redacted") == 0) {
        struct audit_entry e;
        bool redacted = kind[0] == 'r';
        if (entry_from_line(m, n, redacted, &e) != 0) {
            audit_verifier_fail(v, "malformed", "line %lld is not a well-formed %s line", at, kind);
        } else {
            audit_verifier_entry(v, &e);
            *(redacted ? &k->redacted : &k->events) += 1;
        }
    } else if (strcmp(kind, "checkpoint") == 0) {
        struct audit_checkpoint cp;
        if (checkpoint_from_line(m, n, &cp) != 0) {
            audit_verifier_fail(v, "malformed", "line %lld is not a well-formed checkpoint", at);
        } else {
            audit_verifier_checkpoint(v, &cp);
            k->checkpoints++;
        }
    } else if (strcmp(kind, "end") == 0) {
        int64_t ev, rd, cps;
        k->end = true;
        if (!canon_member_int(canon_member_get(m, n, "events"), &ev) ||
            !canon_member_int(canon_member_get(m, n, "redacted"), &rd) ||
            !canon_member_int(canon_member_get(m, n, "checkpoints"), &cps) || ev != k->events ||
            rd != k->redacted || cps != k->checkpoints)
            audit_verifier_fail(v, "malformed",
                                "the end line's counts differ from the lines before it");
    } else {
        audit_verifier_fail(v, "malformed", "line %lld is of unknown kind %s", at, kind);
    }
    canon_members_free(m, n);
}

int audit_verify_export(const char *path, const struct keys_public *keys, int nkeys,
                        json_t **report, char **error) {
    *report = NULL;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (asprintf(error, "cannot open %s: %s", path, strerror(errno)) < 0)
            *error = NULL;
        return -1;
    }
    struct audit_verifier v;
    audit_verifier_init(&v, keys, nkeys, file_find_leaf, (void *)path);
    struct export_counts k = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (!v.failed && (len = read_line(f, &line, &cap)) >= 0) {
        k.lines++;
        if (len > 0)
            verify_line(&v, &k, line, (size_t)len);
    }
    free(line);
    fclose(f);
    if (!k.end)
        audit_verifier_fail(&v, "incomplete",
                            "the export ends after %lld lines without its end line", k.lines);
    audit_verifier_finish(&v);
    *report = audit_verifier_report(&v);
    json_object_set_new(*report, "lines_read", json_integer(k.lines));
    json_object_set_new(*report, "events", json_integer(k.events));
    json_object_set_new(*report, "redacted", json_integer(k.redacted));
    return 0;
}

/* ==== the witness file ==================================================================== */

/* The checkpoint of a line of kind "checkpoint"; -1 if it is anything else. */
static int witness_checkpoint(const char *line, size_t len, struct audit_checkpoint *cp) {
    struct canon_member *m;
    size_t n;
    char kind[16];
    if (canon_parse_object(line, len, &m, &n) != 0)
        return -1;
    int rc = canon_member_str(canon_member_get(m, n, "kind"), kind, sizeof kind) &&
                     strcmp(kind, "checkpoint") == 0
                 ? checkpoint_from_line(m, n, cp)
                 : -1;
    canon_members_free(m, n);
    return rc;
}

/* Reads the checkpoint lines of the export at path into *cps (malloc'd, may be NULL). */
static int export_checkpoints(const char *path, struct audit_checkpoint **cps, size_t *n,
                              char **error) {
    *cps = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (asprintf(error, "cannot open %s: %s", path, strerror(errno)) < 0)
            *error = NULL;
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, have = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = read_line(f, &line, &cap)) >= 0) {
        struct audit_checkpoint cp;
        if (strstr(line, "\"checkpoint\"") == NULL || witness_checkpoint(line, (size_t)len, &cp))
            continue;
        if (*n == have) {
            have = have ? 2 * have : 64;
            struct audit_checkpoint *more = realloc(*cps, have * sizeof **cps);
            if (more == NULL) {
                rc = -1;
                *error = NULL;
                break;
            }
            *cps = more;
        }
        (*cps)[(*n)++] = cp;
    }
    free(line);
    fclose(f);
    return rc;
}

int audit_verify_witness(const char *witness_path, const char *export_path,
                         const struct keys_public *keys, int nkeys, json_t *report, char **error) {
    *error = NULL;
    struct audit_checkpoint *cps;
    size_t ncps;
    if (export_checkpoints(export_path, &cps, &ncps, error) != 0)
        return -1;
    FILE *f = fopen(witness_path, "r");
    if (f == NULL) {
        if (asprintf(error, "cannot open %s: %s", witness_path, strerror(errno)) < 0)
            *error = NULL;
        free(cps);
        return -1;
    }
    char *line = NULL, detail[256] = "";
    size_t cap = 0;
    ssize_t len;
    long long lineno = 0, witnessed = 0, matched = 0, bad_size = 0;
    const char *reason = NULL;
    while (reason == NULL && (len = read_line(f, &line, &cap)) >= 0) {
        lineno++;
        if (len == 0)
            continue;
        struct audit_checkpoint w;
        if (witness_checkpoint(line, (size_t)len, &w) != 0) {
            reason = "malformed";
            snprintf(detail, sizeof detail, "witness line %lld is not a checkpoint line", lineno);
            break;
        }
        witnessed++;
        bad_size = w.size;
        if (!audit_checkpoint_signed(&w, keys, nkeys)) {
            reason = "witness-signature-invalid";
            snprintf(detail, sizeof detail,
                     "witness line %lld (checkpoint %lld, %s) does not verify under the keys",
                     lineno, (long long)w.size, w.kid);
            break;
        }
        const struct audit_checkpoint *e = NULL;
        for (size_t i = 0; i < ncps && e == NULL; i++)
            if (cps[i].size == w.size)
                e = &cps[i];
        if (e == NULL) {
            reason = "witness-missing";
            snprintf(detail, sizeof detail,
                     "checkpoint %lld, witnessed at %s, is not in the export: the log was cut",
                     (long long)w.size, w.signed_at);
        } else if (strcmp(e->head_hex, w.head_hex) != 0 || strcmp(e->signed_at, w.signed_at) != 0 ||
                   strcmp(e->kid, w.kid) != 0 ||
                   memcmp(e->signature, w.signature, sizeof w.signature) != 0) {
            reason = "witness-mismatch";
            snprintf(detail, sizeof detail,
                     "the export's checkpoint %lld is not the one witnessed at %s",
                     (long long)w.size, w.signed_at);
        } else {
            matched++;
        }
    }
    free(line);
    fclose(f);
    free(cps);
    json_t *bad = reason == NULL
                      ? json_null()
                      : json_pack("{s:I, s:I, s:s, s:s}", "line", (json_int_t)lineno, "size",
                                  (json_int_t)bad_size, "reason", reason, "detail", detail);
    json_object_set_new(report, "witness",
                        json_pack("{s:I, s:I, s:o}", "checkpoints", (json_int_t)witnessed,
                                  "matched", (json_int_t)matched, "first_bad", bad));
    if (reason != NULL)
        json_object_set_new(report, "ok", json_false());
    return 0;
}
