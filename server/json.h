/* json.h — declarative decoding of request bodies (jf_: JSON fields; query.h is its twin for
 * query strings) (after GNU Taler's TALER_MHD_parse_json_data):
 * a handler declares its fields once, one call checks them all and answers 400 naming every
 * bad field. Unknown fields are refused (no mass assignment). */
#ifndef SUANLI_JSON_H
#define SUANLI_JSON_H

#include "http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum jf_type {
    JF_STRING, /* const char **; max = maximum length in bytes (0 = 1000), min = minimum */
    JF_INT,    /* int64_t *; [min, max] */
    JF_NUMBER, /* double *; [dmin, dmax]; integers are accepted */
    JF_BOOL,   /* bool * */
    JF_UUID,   /* const char ** */
    JF_TIME,   /* const char **; RFC 3339 with an offset */
    JF_ENUM,   /* const char **; one of choices */
    JF_ARRAY,  /* json_t ** (borrowed); max = maximum length */
    JF_OBJECT, /* json_t ** (borrowed) */
};

struct jf_field {
    const char *name;
    enum jf_type type;
    void *dst;
    bool required;
    int64_t min, max;
    double dmin, dmax;
    const char *const *choices; /* JF_ENUM: NULL-terminated */
    bool *present;              /* optional: set to whether the field was given */
};

/* Terminates a field list. */
#define JF_END                                                                                     \
    { NULL, 0, NULL, false, 0, 0, 0, 0, NULL, NULL }

/* Field declarations, so that lists read as a schema. */
#define JF_REQ_STRING(n, d, lo, hi)                                                                \
    { n, JF_STRING, d, true, lo, hi, 0, 0, NULL, NULL }
#define JF_OPT_STRING(n, d, lo, hi, p)                                                             \
    { n, JF_STRING, d, false, lo, hi, 0, 0, NULL, p }
#define JF_REQ_INT(n, d, lo, hi)                                                                   \
    { n, JF_INT, d, true, lo, hi, 0, 0, NULL, NULL }
#define JF_OPT_INT(n, d, lo, hi, p)                                                                \
    { n, JF_INT, d, false, lo, hi, 0, 0, NULL, p }
#define JF_REQ_NUMBER(n, d, lo, hi)                                                                \
    { n, JF_NUMBER, d, true, 0, 0, lo, hi, NULL, NULL }
#define JF_OPT_NUMBER(n, d, lo, hi, p)                                                             \
    { n, JF_NUMBER, d, false, 0, 0, lo, hi, NULL, p }
#define JF_OPT_BOOL(n, d, p)                                                                       \
    { n, JF_BOOL, d, false, 0, 0, 0, 0, NULL, p }
#define JF_REQ_UUID(n, d)                                                                          \
    { n, JF_UUID, d, true, 0, 0, 0, 0, NULL, NULL }
#define JF_OPT_UUID(n, d, p)                                                                       \
    { n, JF_UUID, d, false, 0, 0, 0, 0, NULL, p }
#define JF_REQ_TIME(n, d)                                                                          \
    { n, JF_TIME, d, true, 0, 0, 0, 0, NULL, NULL }
#define JF_OPT_TIME(n, d, p)                                                                       \
    { n, JF_TIME, d, false, 0, 0, 0, 0, NULL, p }
#define JF_REQ_ENUM(n, d, c)                                                                       \
    { n, JF_ENUM, d, true, 0, 0, 0, 0, c, NULL }
#define JF_OPT_ENUM(n, d, c, p)                                                                    \
    { n, JF_ENUM, d, false, 0, 0, 0, 0, c, p }
#define JF_REQ_ARRAY(n, d, lo, hi)                                                                 \
    { n, JF_ARRAY, d, true, lo, hi, 0, 0, NULL, NULL }
#define JF_OPT_ARRAY(n, d, lo, hi, p)                                                              \
    { n, JF_ARRAY, d, false, lo, hi, 0, 0, NULL, p }
#define JF_OPT_OBJECT(n, d, p)                                                                     \
    { n, JF_OBJECT, d, false, 0, 0, 0, 0, NULL, p }

/* Parses text as one JSON object: nesting deeper than HTTP_MAX_JSON_DEPTH is refused before
 * the parser sees it, duplicate keys are refused. NULL with a reason in why on failure. */
json_t *jf_parse_object(const char *text, size_t len, char *why, size_t whylen);

/* Checks obj against fields. Returns NULL when every field is right, else a new array of
 * {field, message} (prefix is prepended to field names, e.g. "vouchers[3]."). */
json_t *jf_check(json_t *obj, const struct jf_field *fields, const char *prefix);

/* Parses the request body and checks it; on any error replies 400/415 and returns false. */
bool jf_decode_body(struct http_req *r, const struct jf_field *fields);

#endif
