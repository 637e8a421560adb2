/* canon.h — canonical JSON: the byte form in which an audit event is hashed (see audit.h).
 *
 * The canonical form of a JSON object text: members sorted by the bytes of their (unescaped)
 * names, no whitespace, strings escaped only where JSON requires (\" \\ \b \f \n \r \t, other
 * control characters as \u00xx) and otherwise raw UTF-8, numbers exactly as written (never
 * through a double), nested objects likewise. Duplicate names, invalid UTF-8, nesting deeper
 * than 64 and anything that is not one JSON object are refused.
 *
 * The member-level calls let a reader of JSON Lines (the offline export verifier) pick members
 * out of a line and re-emit the rest canonically. */
#ifndef SUANLI_CANON_H
#define SUANLI_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The canonical form of json (len bytes); members named in skip (NULL-terminated; may be
 * NULL) are left out. *out is malloc'd and NUL-terminated; 0 on success, -1 on bad input. */
int canon_object(const char *json, size_t len, const char *const *skip, char **out,
                 size_t *out_len);

/* A member of an object: its unescaped name and its value already in canonical form. */
struct canon_member {
    char *name;
    size_t nlen;
    char *value;
    size_t vlen;
};

/* Parses a whole text that must be one JSON object into *m (sorted by name, *n of them; free
 * with canon_members_free). 0 on success, -1 on bad input. */
int canon_parse_object(const char *json, size_t len, struct canon_member **m, size_t *n);
void canon_members_free(struct canon_member *m, size_t n);
/* Appends the n bytes of s (UTF-8) as a JSON string, escaped only where JSON requires, as
 * above; PostgreSQL's json and jsonb print strings the same way. */
void canon_emit_string(struct buf *out, const char *s, size_t n);
/* Appends the canonical object of the members m (sorted), leaving out those named in skip. */
void canon_emit_members(struct buf *out, const struct canon_member *m, size_t n,
                        const char *const *skip);

/* The member called name, or NULL. */
const struct canon_member *canon_member_get(const struct canon_member *m, size_t n,
                                            const char *name);
bool canon_member_is_null(const struct canon_member *x);
/* A member that is an integer in int64 range; false if absent or not one. */
bool canon_member_int(const struct canon_member *x, int64_t *out);
/* A string member's text (no NUL inside, shorter than outlen); false if absent or not one. */
bool canon_member_str(const struct canon_member *x, char *out, size_t outlen);

#endif
