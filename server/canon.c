/* canon.c — see canon.h: a small JSON parser that renders the canonical form. */
#include "canon.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CANON_MAX_DEPTH 64

/* ==== the parser ==========================================================================
 * Keeps number lexemes as written, so that no value changes on its way through a double. */

struct jparse {
    const char *s;
    size_t n, i;
    int depth;
};

static int canon_value(struct jparse *p, struct buf *out);

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

static void put_utf8(struct buf *b, unsigned cp) {
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
    buf_put(b, u, n);
}

/* Decodes the string at p (on its opening quote) into its UTF-8 bytes. */
static int parse_string(struct jparse *p, struct buf *out) {
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
            buf_put(out, p->s + p->i, len);
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
            buf_putc(out, decoded[simple - "\"\\/bfnrt"]);
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

void canon_emit_string(struct buf *out, const char *s, size_t n) {
    buf_putc(out, '"');
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
            buf_put(out, s + run, i - run);
            buf_puts(out, esc);
            run = i + 1;
        }
    }
    buf_put(out, s + run, n - run);
    buf_putc(out, '"');
}

/* Copies a number lexeme after checking it against the JSON grammar. */
static int parse_number(struct jparse *p, struct buf *out) {
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
    buf_put(out, s + p->i, i - p->i);
    p->i = i;
    return 0;
}

void canon_members_free(struct canon_member *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(m[i].name);
        free(m[i].value);
    }
    free(m);
}

static int canon_member_cmp(const void *a, const void *b) {
    const struct canon_member *x = a, *y = b;
    int c = memcmp(x->name, y->name, x->nlen < y->nlen ? x->nlen : y->nlen);
    if (c != 0)
        return c;
    return (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

/* Parses the object at p (on its '{') into members with canonical values, sorted by name. */
static int parse_members(struct jparse *p, struct canon_member **out, size_t *count) {
    struct canon_member *m = NULL;
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
        struct buf name = {0}, value = {0};
        skip_ws(p);
        int rc = parse_string(p, &name);
        skip_ws(p);
        if (rc != 0 || p->i >= p->n || p->s[p->i] != ':') {
            buf_free(&name);
            goto fail;
        }
        p->i++;
        buf_reserve(&name, 0); /* so that an empty name is an allocated "" */
        if (canon_value(p, &value) != 0 || name.oom || value.oom) {
            buf_free(&name);
            buf_free(&value);
            goto fail;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            struct canon_member *nm = realloc(m, cap * sizeof *m);
            if (nm == NULL) {
                buf_free(&name);
                buf_free(&value);
                goto fail;
            }
            m = nm;
        }
        m[n++] = (struct canon_member){name.p, name.len, value.p, value.len};
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
        qsort(m, n, sizeof *m, canon_member_cmp);
    for (size_t k = 1; k < n; k++)
        if (canon_member_cmp(&m[k - 1], &m[k]) == 0)
            goto fail; /* a duplicate name would make the event ambiguous */
    p->depth--;
    *out = m;
    *count = n;
    return 0;
fail:
    canon_members_free(m, n);
    return -1;
}

void canon_emit_members(struct buf *out, const struct canon_member *m, size_t n,
                        const char *const *skip) {
    buf_putc(out, '{');
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        bool skipped = false;
        for (const char *const *s = skip; s && *s && !skipped; s++)
            skipped = strlen(*s) == m[i].nlen && memcmp(*s, m[i].name, m[i].nlen) == 0;
        if (skipped)
            continue;
        if (!first)
            buf_putc(out, ',');
        first = false;
        canon_emit_string(out, m[i].name, m[i].nlen);
        buf_putc(out, ':');
        buf_put(out, m[i].value, m[i].vlen);
    }
    buf_putc(out, '}');
}

static int canon_literal(struct jparse *p, struct buf *out, const char *word) {
    size_t len = strlen(word);
    if (p->n - p->i < len || memcmp(p->s + p->i, word, len) != 0)
        return -1;
    buf_put(out, word, len);
    p->i += len;
    return 0;
}

static int canon_value(struct jparse *p, struct buf *out) {
    skip_ws(p);
    if (p->i >= p->n)
        return -1;
    char c = p->s[p->i];
    if (c == '{') {
        struct canon_member *m;
        size_t n;
        if (parse_members(p, &m, &n) != 0)
            return -1;
        canon_emit_members(out, m, n, NULL);
        canon_members_free(m, n);
        return out->oom ? -1 : 0;
    }
    if (c == '[') {
        if (++p->depth > CANON_MAX_DEPTH)
            return -1;
        p->i++;
        buf_putc(out, '[');
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
                    buf_putc(out, ',');
                    continue;
                }
                if (p->i < p->n && p->s[p->i] == ']') {
                    p->i++;
                    break;
                }
                return -1;
            }
        }
        buf_putc(out, ']');
        p->depth--;
        return out->oom ? -1 : 0;
    }
    if (c == '"') {
        struct buf s = {0};
        int rc = parse_string(p, &s);
        if (rc == 0)
            canon_emit_string(out, s.p ? s.p : "", s.len);
        buf_free(&s);
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

/* ==== whole objects ======================================================================= */

int canon_parse_object(const char *json, size_t len, struct canon_member **m, size_t *n) {
    struct jparse p = {json, len, 0, 0};
    skip_ws(&p);
    if (parse_members(&p, m, n) != 0)
        return -1;
    skip_ws(&p);
    if (p.i != p.n) {
        canon_members_free(*m, *n);
        return -1;
    }
    return 0;
}

int canon_object(const char *json, size_t len, const char *const *skip, char **out,
                 size_t *out_len) {
    struct canon_member *m;
    size_t n;
    if (canon_parse_object(json, len, &m, &n) != 0)
        return -1;
    struct buf b = {0};
    canon_emit_members(&b, m, n, skip);
    canon_members_free(m, n);
    if (b.oom) {
        buf_free(&b);
        return -1;
    }
    *out = b.p;
    *out_len = b.len;
    return 0;
}

/* ==== members, for readers of JSON Lines ================================================ */

const struct canon_member *canon_member_get(const struct canon_member *m, size_t n,
                                            const char *name) {
    for (size_t i = 0; i < n; i++)
        if (m[i].nlen == strlen(name) && memcmp(m[i].name, name, m[i].nlen) == 0)
            return &m[i];
    return NULL;
}

bool canon_member_is_null(const struct canon_member *x) {
    return x != NULL && x->vlen == 4 && memcmp(x->value, "null", 4) == 0;
}

bool canon_member_int(const struct canon_member *x, int64_t *out) {
    char buf[24];
    if (x == NULL || x->vlen == 0 || x->vlen >= sizeof buf)
        return false;
    memcpy(buf, x->value, x->vlen);
    buf[x->vlen] = '\0';
    return util_parse_int64(buf, INT64_MIN, INT64_MAX, out);
}

bool canon_member_str(const struct canon_member *x, char *out, size_t outlen) {
    if (x == NULL || x->vlen < 2 || x->value[0] != '"')
        return false;
    struct jparse p = {x->value, x->vlen, 0, 0};
    struct buf s = {0};
    bool ok =
        parse_string(&p, &s) == 0 && s.len < outlen && memchr(s.p ? s.p : "", 0, s.len) == NULL;
    if (ok)
        snprintf(out, outlen, "%s", s.p ? s.p : "");
    buf_free(&s);
    return ok;
}
