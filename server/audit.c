/* audit.c — see audit.h: canonical event bytes, the BLAKE2b chain, Ed25519 checkpoints, the
 * verifier, the sealer thread, online verification, the export stream, offline verification. */
#include "audit.h"

#include "config.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The sealers' advisory lock, in the two-key space so that it cannot meet the single-key locks
 * of migrate.c and sql/003. */
#define AUDIT_SEAL_LOCK "7243519, 4004"
#define AUDIT_SEAL_BATCH 1000 /* events chained per sealer transaction at most */
#define AUDIT_PAGE 500        /* rows per page when verifying and exporting */
#define AUDIT_MAX_SESSIONS 4  /* verifications and exports at once, per process */
#define CANON_MAX_DEPTH 64

/* ==== growable buffer ===================================================================== */

struct abuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void ab_reserve(struct abuf *b, size_t more) {
    if (b->oom || b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *np = realloc(b->p, cap);
    if (np == NULL) {
        b->oom = true;
        return;
    }
    b->p = np;
    b->cap = cap;
}

static void ab_put(struct abuf *b, const void *s, size_t n) {
    ab_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void ab_putc(struct abuf *b, char c) {
    ab_put(b, &c, 1);
}

static void ab_puts(struct abuf *b, const char *s) {
    ab_put(b, s, strlen(s));
}

static void ab_printf(struct abuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ab_printf(struct abuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    ab_reserve(b, (size_t)n);
    if (b->oom)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void ab_free(struct abuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

static bool hex_bytes(const char *hex, unsigned char *out, size_t n) {
    size_t binlen;
    return hex != NULL && strlen(hex) == 2 * n &&
           sodium_hex2bin(out, n, hex, 2 * n, NULL, &binlen, NULL) == 0 && binlen == n;
}

/* ==== canonical JSON ======================================================================
 * A small parser that keeps number lexemes as written (so that no value changes on its way
 * through a double) and renders the canonical form of audit.h. */

struct jparse {
    const char *s;
    size_t n, i;
    int depth;
};

/* A member of an object, its value already in canonical form. */
struct member {
    char *name;
    size_t nlen;
    char *value;
    size_t vlen;
};

static int canon_value(struct jparse *p, struct abuf *out);

static void skip_ws(struct jparse *p) {
    while (p->i < p->n &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (is_digit(c))
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(struct abuf *b, unsigned cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    ab_put(b, u, n);
}

/* Decodes the string at p (on its opening quote) into its UTF-8 bytes. */
static int parse_string(struct jparse *p, struct abuf *out) {
    if (p->i >= p->n || p->s[p->i] != '"')
        return -1;
    p->i++;
    while (p->i < p->n) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') {
            p->i++;
            return out->oom ? -1 : 0;
        }
        if (c < 0x20)
            return -1;
        if (c != '\\') {
            size_t len = util_utf8_len((const unsigned char *)p->s + p->i, p->n - p->i);
            if (len == 0)
                return -1;
            ab_put(out, p->s + p->i, len);
            p->i += len;
            continue;
        }
        if (p->i + 1 >= p->n)
            return -1;
        char e = p->s[p->i + 1];
        p->i += 2;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e != '\0' && simple != NULL) {
            static const char decoded[] = "\"\\/\b\f\n\r\t";
            ab_putc(out, decoded[simple - "\"\\/bfnrt"]);
            continue;
        }
        unsigned cp, lo;
        if (e != 'u' || p->i + 4 > p->n || hex4(p->s + p->i, &cp) != 0)
            return -1;
        p->i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (p->i + 6 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
                hex4(p->s + p->i + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            p->i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
            return -1;
        }
        put_utf8(out, cp);
    }
    return -1;
}

static void emit_string(struct abuf *out, const char *s, size_t n) {
    ab_putc(out, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char u[8];
        const char *esc = NULL;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof u, "\\u%04x", c);
                esc = u;
            }
        }
        if (esc != NULL) {
            ab_put(out, s + run, i - run);
            ab_puts(out, esc);
            run = i + 1;
        }
    }
    ab_put(out, s + run, n - run);
    ab_putc(out, '"');
}

/* Copies a number lexeme after checking it against the JSON grammar. */
static int parse_number(struct jparse *p, struct abuf *out) {
    const char *s = p->s;
    size_t n = p->n, i = p->i;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && is_digit(s[i]))
            i++;
    } else {
        return -1;
    }
    if (i < n && s[i] == '.') {
        if (++i >= n || !is_digit(s[i]))
            return -1;
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return -1;
        while (i < n && is_digit(s[i]))
            i++;
    }
    ab_put(out, s + p->i, i - p->i);
    p->i = i;
    return 0;
}

static void members_free(struct member *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(m[i].name);
        free(m[i].value);
    }
    free(m);
}

static int member_cmp(const void *a, const void *b) {
    const struct member *x = a, *y = b;
    int c = memcmp(x->name, y->name, x->nlen < y->nlen ? x->nlen : y->nlen);
    if (c != 0)
        return c;
    return (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

/* Parses the object at p (on its '{') into members with canonical values, sorted by name. */
static int parse_members(struct jparse *p, struct member **out, size_t *count) {
    struct member *m = NULL;
    size_t n = 0, cap = 0;
    if (p->i >= p->n || p->s[p->i] != '{' || ++p->depth > CANON_MAX_DEPTH)
        return -1;
    p->i++;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == '}') {
        p->i++;
        goto done;
    }
    for (;;) {
        struct abuf name = {0}, value = {0};
        skip_ws(p);
        int rc = parse_string(p, &name);
        skip_ws(p);
        if (rc != 0 || p->i >= p->n || p->s[p->i] != ':') {
            ab_free(&name);
            goto fail;
        }
        p->i++;
        ab_reserve(&name, 0); /* so that an empty name is an allocated "" */
        if (canon_value(p, &value) != 0 || name.oom || value.oom) {
            ab_free(&name);
            ab_free(&value);
            goto fail;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            struct member *nm = realloc(m, cap * sizeof *m);
            if (nm == NULL) {
                ab_free(&name);
                ab_free(&value);
                goto fail;
            }
            m = nm;
        }
        m[n++] = (struct member){name.p, name.len, value.p, value.len};
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == '}') {
            p->i++;
            break;
        }
        goto fail;
    }
done:
    if (n > 1)
        qsort(m, n, sizeof *m, member_cmp);
    for (size_t k = 1; k < n; k++)
        if (member_cmp(&m[k - 1], &m[k]) == 0)
            goto fail; /* a duplicate name would make the event ambiguous */
    p->depth--;
    *out = m;
    *count = n;
    return 0;
fail:
    members_free(m, n);
    return -1;
}

static void emit_members(struct abuf *out, const struct member *m, size_t n,
                         const char *const *skip) {
    ab_putc(out, '{');
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        bool skipped = false;
        for (const char *const *s = skip; s && *s && !skipped; s++)
            skipped = strlen(*s) == m[i].nlen && memcmp(*s, m[i].name, m[i].nlen) == 0;
        if (skipped)
            continue;
        if (!first)
            ab_putc(out, ',');
        first = false;
        emit_string(out, m[i].name, m[i].nlen);
        ab_putc(out, ':');
        ab_put(out, m[i].value, m[i].vlen);
    }
    ab_putc(out, '}');
}

static int canon_literal(struct jparse *p, struct abuf *out, const char *word) {
    size_t len = strlen(word);
    if (p->n - p->i < len || memcmp(p->s + p->i, word, len) != 0)
        return -1;
    ab_put(out, word, len);
    p->i += len;
    return 0;
}

static int canon_value(struct jparse *p, struct abuf *out) {
    skip_ws(p);
    if (p->i >= p->n)
        return -1;
    char c = p->s[p->i];
    if (c == '{') {
        struct member *m;
        size_t n;
        if (parse_members(p, &m, &n) != 0)
            return -1;
        emit_members(out, m, n, NULL);
        members_free(m, n);
        return out->oom ? -1 : 0;
    }
    if (c == '[') {
        if (++p->depth > CANON_MAX_DEPTH)
            return -1;
        p->i++;
        ab_putc(out, '[');
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ']') {
            p->i++;
        } else {
            for (;;) {
                if (canon_value(p, out) != 0)
                    return -1;
                skip_ws(p);
                if (p->i < p->n && p->s[p->i] == ',') {
                    p->i++;
                    ab_putc(out, ',');
                    continue;
                }
                if (p->i < p->n && p->s[p->i] == ']') {
                    p->i++;
                    break;
                }
                return -1;
            }
        }
        ab_putc(out, ']');
        p->depth--;
        return out->oom ? -1 : 0;
    }
    if (c == '"') {
        struct abuf s = {0};
        int rc = parse_string(p, &s);
        if (rc == 0)
            emit_string(out, s.p ? s.p : "", s.len);
        ab_free(&s);
        return rc;
    }
    if (c == '-' || is_digit(c))
        return parse_number(p, out);
    if (c == 't')
        return canon_literal(p, out, "true");
    if (c == 'f')
        return canon_literal(p, out, "false");
    return canon_literal(p, out, "null");
}

/* Parses a whole text that must be one JSON object. */
static int parse_object_text(const char *json, size_t len, struct member **m, size_t *n) {
    struct jparse p = {json, len, 0, 0};
    skip_ws(&p);
    if (parse_members(&p, m, n) != 0)
        return -1;
    skip_ws(&p);
    if (p.i != p.n) {
        members_free(*m, *n);
        return -1;
    }
    return 0;
}

int audit_canonical(const char *json, size_t len, const char *const *skip, char **out,
                    size_t *out_len) {
    struct member *m;
    size_t n;
    if (parse_object_text(json, len, &m, &n) != 0)
        return -1;
    struct abuf b = {0};
    emit_members(&b, m, n, skip);
    members_free(m, n);
    if (b.oom) {
        ab_free(&b);
        return -1;
    }
    *out = b.p;
    *out_len = b.len;
    return 0;
}

/* ==== chain and checkpoints =============================================================== */

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

/* ==== the verifier ======================================================================== */

void audit_verifier_init(struct audit_verifier *v, const struct audit_key *keys, int nkeys,
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
    const struct audit_key *key = NULL;
    for (int i = 0; i < v->nkeys && key == NULL; i++)
        if (strcmp(v->keys[i].kid, cp->kid) == 0)
            key = &v->keys[i];
    char msg[512];
    int len =
        audit_checkpoint_message(cp->size, cp->head_hex, cp->signed_at, cp->kid, msg, sizeof msg);
    if (key == NULL) {
        fail_at(v, size, false, 0, "checkpoint-signature-invalid",
                "checkpoint %lld is signed by %s, which is not among the keys", size, cp->kid);
        return;
    }
    if (len < 0 || !util_is_rfc3339(cp->signed_at) ||
        crypto_sign_verify_detached(cp->signature, (const unsigned char *)msg, (size_t)len,
                                    key->pk) != 0) {
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

/* ==== database access for the sealer, verification and export ============================= */

static char *audit_url;
static atomic_int sessions;

static bool session_enter(void) {
    if (atomic_fetch_add(&sessions, 1) < AUDIT_MAX_SESSIONS)
        return true;
    atomic_fetch_sub(&sessions, 1);
    return false;
}

static void session_leave(void) {
    atomic_fetch_sub(&sessions, 1);
}

/* A connection of its own for one verification or export. */
static PGconn *audit_connect(void) {
    if (audit_url == NULL)
        return NULL;
    char *err = NULL;
    PGconn *pg = db_connect_tool(audit_url, &err);
    if (pg == NULL)
        log_warn("audit: cannot connect to the database: %s", err ? err : "?");
    free(err);
    return pg;
}

static bool command(PGconn *pg, const char *sql) {
    PGresult *r = PQexec(pg, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        log_warn("audit: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

static PGresult *query(PGconn *pg, const char *sql, int n, const char *const *params) {
    PGresult *r = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    log_warn("audit: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}

static int failure_status(PGconn *pg) {
    return pg == NULL || PQstatus(pg) != CONNECTION_OK ? DB_UNAVAILABLE : DB_HARD_ERROR;
}

static const char *value_or_null(PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* The log in the order verification walks it: entries by seq; after the entry at position p,
 * the checkpoints of size <= p; at the end, the checkpoints left (beyond the last position). */
struct log_cursor {
    PGconn *pg;
    PGresult *ev, *cp;
    int ev_row, ev_rows, cp_row, cp_rows;
    long long ev_after, cp_after;
    bool ev_done, cp_done, failed;
    int64_t flush_upto;
};

enum log_item_kind { LOG_END, LOG_ENTRY, LOG_CHECKPOINT };

/* Pointers into the current page: valid until the next log_next. NULL for SQL NULL. */
struct log_item {
    enum log_item_kind kind;
    int64_t seq, position; /* position 0: not chained */
    const char *leaf, *hash, *city, *doc;
    int64_t size;
    const char *head, *signed_at, *kid, *signature;
};

static const char SQL_LOG_PAGE[] =
    "SELECT o_seq, o_position, o_leaf, o_hash, o_city, o_doc FROM audit_log_page($1, $2)";
static const char SQL_CHECKPOINT_PAGE[] =
    "SELECT o_size, o_head, o_signed_at, o_kid, o_signature FROM audit_checkpoint_page($1, $2)";

/* Makes row *row of the page valid, fetching the next page when needed; false at the end. */
static bool page_peek(struct log_cursor *c, const char *sql, PGresult **page, int *row, int *rows,
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
    *page = query(c->pg, sql, 2, params);
    *row = 0;
    *rows = *page ? PQntuples(*page) : 0;
    if (*page == NULL)
        c->failed = true;
    if (*rows == 0) {
        *done = true;
        return false;
    }
    *after = atoll(PQgetvalue(*page, *rows - 1, 0));
    return true;
}

static void take_checkpoint(struct log_cursor *c, struct log_item *it) {
    PGresult *r = c->cp;
    int i = c->cp_row++;
    it->kind = LOG_CHECKPOINT;
    it->size = atoll(PQgetvalue(r, i, 0));
    it->head = PQgetvalue(r, i, 1);
    it->signed_at = PQgetvalue(r, i, 2);
    it->kid = PQgetvalue(r, i, 3);
    it->signature = PQgetvalue(r, i, 4);
}

static int log_next(struct log_cursor *c, struct log_item *it) {
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
        return -1;
    if (have_ev) {
        PGresult *r = c->ev;
        int i = c->ev_row++;
        it->kind = LOG_ENTRY;
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
    it->kind = LOG_END;
    return 0;
}

static void log_close(struct log_cursor *c) {
    PQclear(c->ev);
    PQclear(c->cp);
    c->ev = c->cp = NULL;
}

/* The entry of a log row; the canonical event goes to *canon when canon is not NULL (and the
 * event exists). -1 when the stored event is not canonicalisable. */
static int entry_from_item(const struct log_item *it, struct audit_entry *e, char **canon,
                           size_t *canon_len) {
    memset(e, 0, sizeof *e);
    e->position = it->position;
    e->seq = it->seq;
    e->has_claim_leaf = it->leaf != NULL && hex_bytes(it->leaf, e->claim_leaf, AUDIT_HASH_BYTES);
    e->has_claim_hash = it->hash != NULL && hex_bytes(it->hash, e->claim_hash, AUDIT_HASH_BYTES);
    if (it->doc == NULL)
        return 0;
    char *c;
    size_t n;
    if (audit_canonical(it->doc, strlen(it->doc), NULL, &c, &n) != 0)
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

static int checkpoint_from_item(const struct log_item *it, struct audit_checkpoint *cp) {
    memset(cp, 0, sizeof *cp);
    cp->size = it->size;
    if (strlen(it->head) >= sizeof cp->head_hex || strlen(it->signed_at) >= sizeof cp->signed_at ||
        strlen(it->kid) >= sizeof cp->kid ||
        !hex_bytes(it->signature, cp->signature, sizeof cp->signature))
        return -1;
    strcpy(cp->head_hex, it->head);
    strcpy(cp->signed_at, it->signed_at);
    strcpy(cp->kid, it->kid);
    return 0;
}

/* ==== the sealer ========================================================================== */

static const char SQL_SEAL_LOCK[] = "SELECT pg_try_advisory_xact_lock(" AUDIT_SEAL_LOCK ")";
static const char SQL_SEAL_BEGIN[] =
    "SELECT head_position, head_seq, head_hash, settled_seq, checkpoint_size, checkpoint_age_ms, "
    "now_text FROM audit_seal_begin()";
static const char SQL_SEAL_EVENTS[] = "SELECT seq, doc FROM audit_seal_events($1, $2)";
static const char SQL_CHAIN_APPEND[] =
    "SELECT audit_chain_append($1::bigint[], $2::bigint[], $3::text[], $4::text[])";
static const char SQL_CHECKPOINT_ADD[] =
    "SELECT audit_checkpoint_add($1::bigint, $2, $3::timestamptz, $4, $5)";

/* Chains, after the head (head_pos, head_seq, head), the events of page that are safe to chain:
 * in seq order, each either at or below the settled horizon or right after the previous one (a
 * lower seq could otherwise still commit). Fills the four array literals; returns the count. */
static int seal_collect(PGresult *page, int64_t settled, int64_t *head_pos, int64_t *head_seq,
                        unsigned char head[AUDIT_HASH_BYTES], struct abuf lists[4]) {
    int chained = 0;
    for (int i = 0; i < PQntuples(page); i++) {
        int64_t seq = atoll(PQgetvalue(page, i, 0));
        if (seq > settled && seq != *head_seq + 1)
            break;
        char *canon;
        size_t len;
        if (audit_canonical(PQgetvalue(page, i, 1), (size_t)PQgetlength(page, i, 1), NULL, &canon,
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
        ab_printf(&lists[0], "%s%lld", sep, (long long)*head_pos);
        ab_printf(&lists[1], "%s%lld", sep, (long long)seq);
        ab_printf(&lists[2], "%s%s", sep, leaf_hex);
        ab_printf(&lists[3], "%s%s", sep, hash_hex);
    }
    for (int k = 0; k < 4; k++)
        ab_putc(&lists[k], '}');
    return chained;
}

static bool sign_checkpoint(PGconn *pg, int64_t size, const unsigned char head[AUDIT_HASH_BYTES],
                            const char *now) {
    const struct signing_key *key = keys_current();
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
    PGresult *r = query(pg, SQL_CHECKPOINT_ADD, 5, params);
    PQclear(r);
    return r != NULL;
}

int audit_seal_round(PGconn *pg, int64_t checkpoint_ms) {
    PGresult *r = NULL;
    struct abuf lists[4] = {{0}};
    int chained = -1;
    if (!command(pg, "BEGIN"))
        return -1;
    if ((r = query(pg, SQL_SEAL_LOCK, 0, NULL)) == NULL)
        goto out;
    if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        chained = 0; /* another replica's sealer is at work */
        goto out;
    }
    PQclear(r);
    if ((r = query(pg, SQL_SEAL_BEGIN, 0, NULL)) == NULL || PQntuples(r) != 1)
        goto out;
    int64_t head_pos = atoll(PQgetvalue(r, 0, 0)), head_seq = atoll(PQgetvalue(r, 0, 1));
    unsigned char head[AUDIT_HASH_BYTES] = {0};
    if (!PQgetisnull(r, 0, 2) && !hex_bytes(PQgetvalue(r, 0, 2), head, sizeof head))
        goto out;
    int64_t settled = atoll(PQgetvalue(r, 0, 3)), checkpoint_size = atoll(PQgetvalue(r, 0, 4));
    bool due = PQgetisnull(r, 0, 5) || atoll(PQgetvalue(r, 0, 5)) >= checkpoint_ms;
    char now[40], after[24], limit[16];
    snprintf(now, sizeof now, "%s", PQgetvalue(r, 0, 6));
    PQclear(r);

    snprintf(after, sizeof after, "%lld", (long long)head_seq);
    snprintf(limit, sizeof limit, "%d", AUDIT_SEAL_BATCH);
    const char *ev_params[] = {after, limit};
    if ((r = query(pg, SQL_SEAL_EVENTS, 2, ev_params)) == NULL)
        goto out;
    int n = seal_collect(r, settled, &head_pos, &head_seq, head, lists);
    PQclear(r);
    r = NULL;
    if (lists[0].oom || lists[1].oom || lists[2].oom || lists[3].oom)
        goto out;
    if (n > 0) {
        const char *params[] = {lists[0].p, lists[1].p, lists[2].p, lists[3].p};
        if ((r = query(pg, SQL_CHAIN_APPEND, 4, params)) == NULL)
            goto out;
    }
    if (head_pos > checkpoint_size && due && !sign_checkpoint(pg, head_pos, head, now))
        goto out;
    chained = n;
out:
    PQclear(r);
    for (int k = 0; k < 4; k++)
        ab_free(&lists[k]);
    if (PQstatus(pg) == CONNECTION_OK && !command(pg, chained >= 0 ? "COMMIT" : "ROLLBACK"))
        chained = -1;
    return chained;
}

static struct {
    pthread_t thread;
    bool started;
    bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} sealer = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Sleeps ms unless asked to stop; false when asked to stop. */
static bool sealer_wait(int64_t ms) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&sealer.mu);
    while (!sealer.stop && pthread_cond_timedwait(&sealer.cv, &sealer.mu, &until) != ETIMEDOUT)
        ;
    bool stop = sealer.stop;
    pthread_mutex_unlock(&sealer.mu);
    return !stop;
}

/* Rounds every SUANLI_AUDIT_SEAL_MS (at once again while a full batch was chained) on a
 * connection of its own, reconnecting after any failure. */
static void *sealer_main(void *unused) {
    (void)unused;
    PGconn *pg = NULL;
    bool failing = false;
    int64_t pause = 0;
    while (sealer_wait(pause)) {
        pause = cfg.audit_seal_ms;
        char *err = NULL;
        if (pg == NULL && (pg = db_connect_tool(audit_url, &err)) == NULL) {
            if (!failing)
                log_warn("audit sealer: cannot connect (%s); retrying", err ? err : "?");
            failing = true;
            free(err);
            continue;
        }
        int n = audit_seal_round(pg, cfg.audit_checkpoint_ms);
        if (n < 0) {
            if (!failing)
                log_warn("audit sealer: a round failed; retrying on a new connection");
            failing = true;
            PQfinish(pg);
            pg = NULL;
            continue;
        }
        if (failing)
            log_info("audit sealer: working again");
        failing = false;
        if (n == AUDIT_SEAL_BATCH)
            pause = 0;
    }
    PQfinish(pg);
    return NULL;
}

int audit_start(const char *database_url) {
    audit_url = strdup(database_url);
    if (audit_url == NULL)
        return -1;
    if (!cfg.audit_sealer) {
        log_info("audit sealer off (SUANLI_AUDIT_SEALER=off): events are not chained here");
        return 0;
    }
    sealer.stop = false;
    if (pthread_create(&sealer.thread, NULL, sealer_main, NULL) != 0) {
        log_error("audit sealer: cannot start its thread");
        return -1;
    }
    sealer.started = true;
    return 0;
}

void audit_stop(void) {
    if (sealer.started) {
        pthread_mutex_lock(&sealer.mu);
        sealer.stop = true;
        pthread_cond_signal(&sealer.cv);
        pthread_mutex_unlock(&sealer.mu);
        pthread_join(sealer.thread, NULL);
        sealer.started = false;
    }
    free(audit_url);
    audit_url = NULL;
}

/* ==== online verification ================================================================= */

static const char SQL_LEAF_POSITION[] = "SELECT audit_leaf_position($1, $2)";

static int64_t db_find_leaf(void *ctx, const unsigned char leaf[AUDIT_HASH_BYTES],
                            int64_t not_position) {
    char hex[AUDIT_HEX_LEN], np[24];
    util_hex(leaf, AUDIT_HASH_BYTES, hex);
    snprintf(np, sizeof np, "%lld", (long long)not_position);
    const char *params[] = {hex, np};
    PGresult *r = query(ctx, SQL_LEAF_POSITION, 2, params);
    int64_t pos = r && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? atoll(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return pos;
}

/* The server's keys as verification keys; malloc'd. */
static struct audit_key *keyring_keys(int *n) {
    struct audit_key *keys = calloc((size_t)(keyring.nkeys > 0 ? keyring.nkeys : 1), sizeof *keys);
    if (keys == NULL)
        return NULL;
    for (int i = 0; i < keyring.nkeys; i++) {
        memcpy(keys[i].pk, keyring.keys[i].pk, sizeof keys[i].pk);
        snprintf(keys[i].kid, sizeof keys[i].kid, "%s", keyring.keys[i].kid);
    }
    *n = keyring.nkeys;
    return keys;
}

int audit_verify_db(json_t **report) {
    *report = NULL;
    if (!session_enter())
        return AUDIT_TOO_MANY;
    int rc = DB_HARD_ERROR, nkeys = 0;
    struct log_cursor c = {0};
    struct audit_key *keys = keyring_keys(&nkeys);
    PGconn *pg = audit_connect();
    if (pg == NULL || keys == NULL ||
        !command(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) {
        rc = failure_status(pg);
        goto out;
    }
    struct audit_verifier v;
    audit_verifier_init(&v, keys, nkeys, db_find_leaf, pg);
    c.pg = pg;
    while (!v.failed) {
        struct log_item it;
        if (log_next(&c, &it) != 0) {
            rc = failure_status(pg);
            goto out;
        }
        if (it.kind == LOG_END)
            break;
        if (it.kind == LOG_ENTRY) {
            struct audit_entry e;
            if (entry_from_item(&it, &e, NULL, NULL) != 0)
                audit_verifier_fail(&v, "malformed", "the stored event seq %lld is not valid JSON",
                                    (long long)it.seq);
            else
                audit_verifier_entry(&v, &e);
        } else {
            struct audit_checkpoint cp;
            if (checkpoint_from_item(&it, &cp) != 0)
                audit_verifier_fail(&v, "malformed", "checkpoint %lld is not well-formed",
                                    (long long)it.size);
            else
                audit_verifier_checkpoint(&v, &cp);
        }
    }
    audit_verifier_finish(&v);
    *report = audit_verifier_report(&v);
    rc = *report ? 0 : DB_HARD_ERROR;
out:
    log_close(&c);
    PQfinish(pg);
    free(keys);
    session_leave();
    return rc;
}

/* ==== export ============================================================================== */

struct audit_export {
    PGconn *pg;
    struct log_cursor cur;
    bool scoped;
    char city[UUID_STR_LEN];
    struct abuf out;
    size_t off;
    int stage; /* 0: header next, 1: lines, 2: all written */
    long long events, redacted, checkpoints;
};

int audit_export_open(const char *city_id, struct audit_export **out) {
    *out = NULL;
    if (!session_enter())
        return AUDIT_TOO_MANY;
    struct audit_export *x = calloc(1, sizeof *x);
    if (x == NULL) {
        session_leave();
        return DB_HARD_ERROR;
    }
    x->pg = audit_connect();
    if (x->pg == NULL || !command(x->pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) {
        int rc = failure_status(x->pg);
        audit_export_close(x);
        return rc;
    }
    x->cur.pg = x->pg;
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
    log_close(&x->cur);
    PQfinish(x->pg);
    ab_free(&x->out);
    free(x);
    session_leave();
}

/* One event line: the event, or (outside the export's city) its leaf alone. A chained event
 * that is gone gets no line: the jump in positions shows it. */
static int export_entry(struct audit_export *x, const struct log_item *it) {
    struct audit_entry e;
    char *canon = NULL;
    size_t len = 0;
    if (it->doc == NULL)
        return 0;
    if (entry_from_item(it, &e, &canon, &len) != 0)
        return -1;
    char position[24] = "null", leaf[AUDIT_HEX_LEN + 2] = "null", hash[AUDIT_HEX_LEN + 2] = "null";
    if (it->position > 0)
        snprintf(position, sizeof position, "%lld", (long long)it->position);
    if (it->hash != NULL)
        snprintf(hash, sizeof hash, "\"%s\"", it->hash);
    if (x->scoped && (it->city == NULL || strcmp(it->city, x->city) != 0)) {
        char computed[AUDIT_HEX_LEN];
        util_hex(e.leaf, sizeof e.leaf, computed);
        ab_printf(
            &x->out,
            "{\"kind\":\"redacted\",\"position\":%s,\"seq\":%lld,\"leaf\":\"%s\",\"hash\":%s}\n",
            position, (long long)it->seq, computed, hash);
        x->redacted++;
    } else {
        if (it->leaf != NULL)
            snprintf(leaf, sizeof leaf, "\"%s\"", it->leaf);
        ab_printf(&x->out,
                  "{\"kind\":\"event\",\"position\":%s,\"seq\":%lld,\"leaf\":%s,\"hash\":%s,",
                  position, (long long)it->seq, leaf, hash);
        ab_put(&x->out, canon + 1, len - 1); /* the canonical members and the closing brace */
        ab_putc(&x->out, '\n');
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
        ab_printf(&x->out,
                  "{\"kind\":\"header\",\"format\":\"" AUDIT_EXPORT_FORMAT
                  "\",\"exported_at\":\"%s\",\"city_id\":",
                  now);
        if (x->scoped)
            ab_printf(&x->out, "\"%s\"}\n", x->city);
        else
            ab_puts(&x->out, "null}\n");
        x->stage = 1;
        return 0;
    }
    for (int i = 0; i < AUDIT_PAGE && x->stage == 1; i++) {
        struct log_item it;
        if (log_next(&x->cur, &it) != 0)
            return -1;
        if (it.kind == LOG_END) {
            ab_printf(&x->out,
                      "{\"kind\":\"end\",\"events\":%lld,\"redacted\":%lld,\"checkpoints\":%lld}\n",
                      x->events, x->redacted, x->checkpoints);
            x->stage = 2;
        } else if (it.kind == LOG_CHECKPOINT) {
            ab_printf(&x->out,
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
        x->out.len = 0;
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

static const struct member *member_get(const struct member *m, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (m[i].nlen == strlen(name) && memcmp(m[i].name, name, m[i].nlen) == 0)
            return &m[i];
    return NULL;
}

static bool member_is_null(const struct member *x) {
    return x != NULL && x->vlen == 4 && memcmp(x->value, "null", 4) == 0;
}

static bool member_int(const struct member *x, int64_t *out) {
    char buf[24];
    if (x == NULL || x->vlen == 0 || x->vlen >= sizeof buf)
        return false;
    memcpy(buf, x->value, x->vlen);
    buf[x->vlen] = '\0';
    return util_parse_int64(buf, INT64_MIN, INT64_MAX, out);
}

/* A string member's text (no NUL inside, shorter than outlen). */
static bool member_str(const struct member *x, char *out, size_t outlen) {
    if (x == NULL || x->vlen < 2 || x->value[0] != '"')
        return false;
    struct jparse p = {x->value, x->vlen, 0, 0};
    struct abuf s = {0};
    bool ok =
        parse_string(&p, &s) == 0 && s.len < outlen && memchr(s.p ? s.p : "", 0, s.len) == NULL;
    if (ok)
        snprintf(out, outlen, "%s", s.p ? s.p : "");
    ab_free(&s);
    return ok;
}

static bool member_hash(const struct member *x, unsigned char out[AUDIT_HASH_BYTES]) {
    char hex[AUDIT_HEX_LEN];
    return member_str(x, hex, sizeof hex) && hex_bytes(hex, out, AUDIT_HASH_BYTES);
}

static const char *const line_meta[] = {"kind", "position", "seq", "leaf", "hash", NULL};

/* The entry of an "event" or "redacted" line; -1 if the line is not well-formed. */
static int entry_from_line(const struct member *m, size_t n, bool redacted, struct audit_entry *e) {
    memset(e, 0, sizeof *e);
    const struct member *pos = member_get(m, n, "position"), *leaf = member_get(m, n, "leaf"),
                        *hash = member_get(m, n, "hash");
    if (!member_int(member_get(m, n, "seq"), &e->seq))
        return -1;
    if (!member_is_null(pos) && (!member_int(pos, &e->position) || e->position <= 0))
        return -1;
    if (!member_is_null(hash) && !(e->has_claim_hash = member_hash(hash, e->claim_hash)))
        return -1;
    if ((e->position > 0) != e->has_claim_hash)
        return -1;
    e->present = true;
    if (redacted)
        return member_hash(leaf, e->leaf) ? 0 : -1;
    if (!member_is_null(leaf) && !(e->has_claim_leaf = member_hash(leaf, e->claim_leaf)))
        return -1;
    if ((e->position > 0) != e->has_claim_leaf)
        return -1;
    struct abuf canon = {0};
    emit_members(&canon, m, n, line_meta);
    if (canon.oom) {
        ab_free(&canon);
        return -1;
    }
    audit_leaf(canon.p, canon.len, e->leaf);
    ab_free(&canon);
    return 0;
}

static int checkpoint_from_line(const struct member *m, size_t n, struct audit_checkpoint *cp) {
    memset(cp, 0, sizeof *cp);
    char sig[2 * sizeof cp->signature + 1];
    if (!member_int(member_get(m, n, "size"), &cp->size) ||
        !member_str(member_get(m, n, "head_hash"), cp->head_hex, sizeof cp->head_hex) ||
        !member_str(member_get(m, n, "signed_at"), cp->signed_at, sizeof cp->signed_at) ||
        !member_str(member_get(m, n, "kid"), cp->kid, sizeof cp->kid) ||
        !member_str(member_get(m, n, "signature"), sig, sizeof sig) ||
        !hex_bytes(sig, cp->signature, sizeof cp->signature))
        return -1;
    return 0;
}

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
        struct member *m;
        size_t n;
        unsigned char claim[AUDIT_HASH_BYTES];
        int64_t position;
        if (parse_object_text(line, (size_t)len, &m, &n) != 0)
            continue;
        if (member_hash(member_get(m, n, "leaf"), claim) &&
            member_int(member_get(m, n, "position"), &position) && position != not_position &&
            sodium_memcmp(claim, leaf, AUDIT_HASH_BYTES) == 0)
            found = position;
        members_free(m, n);
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
    struct member *m;
    size_t n;
    char kind[16];
    long long at = k->lines;
    if (parse_object_text(line, len, &m, &n) != 0) {
        audit_verifier_fail(v, "malformed", "line %lld is not one JSON object", at);
        return;
    }
    if (!member_str(member_get(m, n, "kind"), kind, sizeof kind)) {
        audit_verifier_fail(v, "malformed", "line %lld has no kind", at);
    } else if (k->end) {
        audit_verifier_fail(v, "malformed", "line %lld follows the end line", at);
    } else if (!k->header) {
        char format[64];
        if (strcmp(kind, "header") != 0 ||
            !member_str(member_get(m, n, "format"), format, sizeof format) ||
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
        if (!member_int(member_get(m, n, "events"), &ev) ||
            !member_int(member_get(m, n, "redacted"), &rd) ||
            !member_int(member_get(m, n, "checkpoints"), &cps) || ev != k->events ||
            rd != k->redacted || cps != k->checkpoints)
            audit_verifier_fail(v, "malformed",
                                "the end line's counts differ from the lines before it");
    } else {
        audit_verifier_fail(v, "malformed", "line %lld is of unknown kind %s", at, kind);
    }
    members_free(m, n);
}

int audit_verify_export(const char *path, const struct audit_key *keys, int nkeys, json_t **report,
                        char **error) {
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

/* Adds the key of a PASERK (and checks its claimed kid) to keys. */
static int add_key(const char *paserk, const char *kid, struct audit_key *keys, int *n,
                   char **error) {
    struct audit_key *k = &keys[*n];
    if (paserk == NULL || paserk_k4_public_decode(paserk, k->pk) != 0) {
        if (asprintf(error, "key %d is not a k4.public PASERK", *n + 1) < 0)
            *error = NULL;
        return -1;
    }
    paserk_k4_pid(k->pk, k->kid);
    if (kid != NULL && strcmp(kid, k->kid) != 0) {
        if (asprintf(error, "key %d: kid %s is not the id of its key (%s)", *n + 1, kid, k->kid) <
            0)
            *error = NULL;
        return -1;
    }
    (*n)++;
    return 0;
}

int audit_keys_load(const char *path, struct audit_key **keys_out, int *nkeys, char **error) {
    *keys_out = NULL;
    *nkeys = 0;
    *error = NULL;
    size_t len;
    char *text = util_read_file(path, &len);
    if (text == NULL) {
        if (asprintf(error, "cannot read %s: %s", path, strerror(errno)) < 0)
            *error = NULL;
        return -1;
    }
    json_t *doc = json_loadb(text, len, 0, NULL);
    json_t *items = json_is_array(doc) ? doc : json_object_get(doc, "items");
    size_t cap = json_is_array(items) ? json_array_size(items) : 1;
    for (size_t i = 0; i < len; i++)
        cap += text[i] == '\n';
    struct audit_key *keys = calloc(cap + 1, sizeof *keys);
    int n = 0, rc = keys ? 0 : -1;
    if (rc == 0 && json_is_array(items)) {
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item) {
            const char *paserk = json_is_string(item)
                                     ? json_string_value(item)
                                     : json_string_value(json_object_get(item, "paserk"));
            const char *kid = json_string_value(json_object_get(item, "kid"));
            if ((rc = add_key(paserk, kid, keys, &n, error)) != 0)
                break;
        }
    } else if (rc == 0 && json_is_object(doc)) {
        rc = add_key(json_string_value(json_object_get(doc, "paserk")),
                     json_string_value(json_object_get(doc, "kid")), keys, &n, error);
    } else if (rc == 0) {
        char *save = NULL;
        for (char *l = strtok_r(text, "\r\n", &save); l && rc == 0;
             l = strtok_r(NULL, "\r\n", &save))
            if (l[strspn(l, " \t")] != '\0')
                rc = add_key(l + strspn(l, " \t"), NULL, keys, &n, error);
    }
    json_decref(doc);
    free(text);
    if (rc == 0 && n == 0) {
        if (asprintf(error, "%s holds no keys", path) < 0)
            *error = NULL;
        rc = -1;
    }
    if (rc != 0) {
        free(keys);
        return -1;
    }
    *keys_out = keys;
    *nkeys = n;
    return 0;
}

int audit_verify_command(const char *export_path, const char *keys_path) {
    struct audit_key *keys;
    int nkeys;
    char *error = NULL;
    json_t *report = NULL;
    if (audit_keys_load(keys_path, &keys, &nkeys, &error) != 0) {
        fprintf(stderr, "suanlid audit-verify: %s\n", error ? error : "cannot load the keys");
        free(error);
        return 2;
    }
    int rc = audit_verify_export(export_path, keys, nkeys, &report, &error);
    free(keys);
    if (rc != 0) {
        fprintf(stderr, "suanlid audit-verify: %s\n", error ? error : "cannot read the export");
        free(error);
        return 2;
    }
    bool ok = json_is_true(json_object_get(report, "ok"));
    char *text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", text ? text : "{}");
    free(text);
    json_decref(report);
    return ok ? 0 : 1;
}
