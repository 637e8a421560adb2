/* buf.c — see buf.h. */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_reserve(struct buf *b, size_t more) {
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
    if (b->cap == 0)
        np[0] = '\0';
    b->p = np;
    b->cap = cap;
}

void buf_put(struct buf *b, const void *s, size_t n) {
    buf_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void buf_putc(struct buf *b, char c) {
    buf_put(b, &c, 1);
}

void buf_puts(struct buf *b, const char *s) {
    buf_put(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    buf_reserve(b, (size_t)n);
    if (b->oom)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

int buf_read_stream(struct buf *b, FILE *f) {
    for (;;) {
        buf_reserve(b, 4096);
        if (b->oom) {
            errno = ENOMEM;
            return -1;
        }
        size_t n = fread(b->p + b->len, 1, b->cap - b->len - 1, f);
        b->len += n;
        b->p[b->len] = '\0';
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        errno = EIO;
        return -1;
    }
    return 0;
}

void buf_clear(struct buf *b) {
    b->len = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}

void buf_free(struct buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}
