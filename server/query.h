/* query.h — declarative decoding of query strings, the twin of json.h's body specs: a handler
 * declares its parameters once, one call checks them all, refuses unknown ones and answers
 * 400 invalid-query naming every bad parameter.
 *
 * Every destination is a const char **: the value as the client sent it (already checked, so
 * it can go to SQL as a parameter), the field's default when it is absent, or NULL. */
#ifndef SUANLI_QUERY_H
#define SUANLI_QUERY_H

#include "http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum qf_type {
    QF_STRING,  /* [min, max] bytes; ok (if set) must accept it */
    QF_UUID,    /* canonical 8-4-4-4-12 */
    QF_TIME,    /* RFC 3339 with an offset, a real date (util_rfc3339_us) */
    QF_INT,     /* decimal integer in [min, max]: an optional '-' and digits, nothing else */
    QF_DECIMAL, /* plain decimal ("12", "0.85") in [dmin, dmax] (util_is_decimal) */
    QF_ENUM,    /* one of choices; the destination points at the choice */
    QF_LIST,    /* comma-separated, each one of choices, none empty */
    QF_SET,     /* QF_LIST with no choice twice */
};

struct query_field {
    const char *name;
    enum qf_type type;
    const char **dst;
    int64_t min, max;
    double dmin, dmax;
    const char *const *choices; /* QF_ENUM, QF_LIST, QF_SET: NULL-terminated */
    bool (*ok)(const char *s);  /* QF_STRING: an extra check, or NULL */
    const char *def;            /* the value when absent (NULL: absent stays NULL) */
    const char *message;        /* replaces the generic error message, or NULL */
};

#define QF_END                                                                                     \
    { NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL }

/* Parameter declarations, so that lists read as a schema. */
#define QF_STRING(n, d, lo, hi, check, msg)                                                        \
    { n, QF_STRING, d, lo, hi, 0, 0, NULL, check, NULL, msg }
#define QF_UUID(n, d)                                                                              \
    { n, QF_UUID, d, 0, 0, 0, 0, NULL, NULL, NULL, NULL }
#define QF_UUID_MSG(n, d, msg)                                                                     \
    { n, QF_UUID, d, 0, 0, 0, 0, NULL, NULL, NULL, msg }
#define QF_TIME(n, d)                                                                              \
    { n, QF_TIME, d, 0, 0, 0, 0, NULL, NULL, NULL, NULL }
#define QF_INT(n, d, lo, hi, def)                                                                  \
    { n, QF_INT, d, lo, hi, 0, 0, NULL, NULL, def, NULL }
#define QF_INT_MSG(n, d, lo, hi, msg)                                                              \
    { n, QF_INT, d, lo, hi, 0, 0, NULL, NULL, NULL, msg }
#define QF_DECIMAL(n, d, lo, hi)                                                                   \
    { n, QF_DECIMAL, d, 0, 0, lo, hi, NULL, NULL, NULL, NULL }
#define QF_ENUM(n, d, c)                                                                           \
    { n, QF_ENUM, d, 0, 0, 0, 0, c, NULL, NULL, NULL }
#define QF_LIST(n, d, c, msg)                                                                      \
    { n, QF_LIST, d, 0, 0, 0, 0, c, NULL, NULL, msg }
#define QF_SET(n, d, c)                                                                            \
    { n, QF_SET, d, 0, 0, 0, 0, c, NULL, NULL, NULL }

/* Checks the query string against fields (NULL: no parameter is accepted) and fills their
 * destinations. Returns NULL when all is well, else a new array of {field, message}, one per
 * bad parameter in the order of fields; an unknown parameter is the only error then. */
json_t *qf_check(struct http_req *r, const struct query_field *fields);

/* qf_check, replying 400 invalid-query on any error; false then. */
bool qf_decode(struct http_req *r, const struct query_field *fields);

#endif
