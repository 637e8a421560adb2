/* buf.h — the growable byte buffer of the whole program.
 *
 * A buffer starts zeroed ({0}); appending never fails loudly: an allocation failure sets oom,
 * after which appends do nothing, so that a caller builds a whole text and checks oom once.
 * p is NUL-terminated whenever len > 0 or after buf_reserve; the owner frees it with buf_free
 * or takes p for itself. */
#ifndef SUANLI_BUF_H
#define SUANLI_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

/* Makes room for more bytes plus the terminating NUL (p is allocated afterwards, even for 0). */
void buf_reserve(struct buf *b, size_t more);
void buf_put(struct buf *b, const void *s, size_t n);
void buf_putc(struct buf *b, char c);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends what is left to read of f (p is allocated afterwards, even for nothing). 0, or -1
 * with errno set on a read error or when out of memory (what was read stays in the buffer). */
int buf_read_stream(struct buf *b, FILE *f);
/* Empties the buffer and keeps its memory for reuse. */
void buf_clear(struct buf *b);
void buf_free(struct buf *b);

#endif
