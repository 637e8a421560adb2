/* query.c — declarative query-string decoding (see query.h). */
#include "query.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool known_key(void *cls, const char *key) {
    for (const struct query_field *f = cls; f != NULL && f->name != NULL; f++)
        if (strcmp(f->name, key) == 0)
            return true;
    return false;
}

/* "a, b or c" (joiner ", " and a last " or "), or "a, b, c" when last is ", ". */
static void choice_list(char *out, size_t outlen, const char *const *choices, const char *last) {
    size_t len = 0;
    out[0] = '\0';
    for (const char *const *c = choices; *c && len < outlen; c++) {
        const char *sep = c == choices ? "" : c[1] == NULL ? last : ", ";
        int n = snprintf(out + len, outlen - len, "%s%s", sep, *c);
        len += n > 0 ? (size_t)n : 0;
    }
}

static bool one_of(const char *s, size_t n, const char *const *choices, const char **match) {
    for (const char *const *c = choices; *c; c++) {
        if (strlen(*c) == n && strncmp(*c, s, n) == 0) {
            *match = *c;
            return true;
        }
    }
    return false;
}

/* Comma-separated choices, none empty and, for a set, none twice. */
static bool list_ok(const char *v, const struct query_field *f) {
    const char *seen[32];
    size_t nseen = 0;
    for (const char *p = v;; p++) {
        size_t n = strcspn(p, ",");
        const char *match;
        if (n == 0 || !one_of(p, n, f->choices, &match))
            return false;
        for (size_t i = 0; f->type == QF_SET && i < nseen; i++)
            if (seen[i] == match)
                return false;
        if (nseen < sizeof seen / sizeof seen[0])
            seen[nseen++] = match;
        p += n;
        if (*p == '\0')
            return true;
    }
}

/* An optional '-' and 1 to 19 digits, in [min, max]: no spaces, no '+', no hex. */
static bool int_ok(const char *v, int64_t min, int64_t max) {
    const char *d = v[0] == '-' ? v + 1 : v;
    size_t n = strlen(d);
    if (n == 0 || n > 19 || strspn(d, "0123456789") != n)
        return false;
    int64_t out;
    return util_parse_int64(v, min, max, &out);
}

/* Checks one given value; on failure writes the generic message into msg. */
static bool value_ok(const struct query_field *f, const char *v, const char **dst, char *msg,
                     size_t msglen) {
    char list[256];
    if (!util_is_utf8(v)) { /* every value may reach SQL, whose text must be UTF-8 */
        snprintf(msg, msglen, "must be UTF-8 text");
        return false;
    }
    switch (f->type) {
    case QF_STRING: {
        int64_t n = (int64_t)strlen(v);
        if (n >= f->min && n <= f->max && (f->ok == NULL || f->ok(v)))
            return true;
        snprintf(msg, msglen, "must be %lld to %lld characters long", (long long)f->min,
                 (long long)f->max);
        return false;
    }
    case QF_UUID:
        if (util_is_uuid(v))
            return true;
        snprintf(msg, msglen, "must be a UUID");
        return false;
    case QF_TIME:
        if (util_is_rfc3339(v))
            return true;
        snprintf(msg, msglen, "must be an RFC 3339 date-time with an offset");
        return false;
    case QF_INT:
        if (int_ok(v, f->min, f->max))
            return true;
        snprintf(msg, msglen, "must be an integer from %lld to %lld", (long long)f->min,
                 (long long)f->max);
        return false;
    case QF_DECIMAL:
        if (util_is_decimal(v, f->dmin, f->dmax))
            return true;
        snprintf(msg, msglen, "must be a decimal number from %g to %g", f->dmin, f->dmax);
        return false;
    case QF_ENUM:
        if (one_of(v, strlen(v), f->choices, dst))
            return true;
        choice_list(list, sizeof list, f->choices, " or ");
        snprintf(msg, msglen, "must be %s", list);
        return false;
    case QF_LIST:
    case QF_SET:
        if (list_ok(v, f))
            return true;
        choice_list(list, sizeof list, f->choices, ", ");
        snprintf(msg, msglen, "must be a comma-separated list of %s%s",
                 f->type == QF_SET ? "distinct " : "", list);
        return false;
    }
    return false;
}

/* The first query parameter that no field names, or NULL; every destination is NULL then. */
static const char *unknown_parameter(struct http_req *r, const struct query_field *fields) {
    const char *bad = http_query_unknown(r, known_key, (void *)fields);
    for (const struct query_field *f = fields; bad != NULL && f != NULL && f->name != NULL; f++)
        *f->dst = NULL;
    return bad;
}

static json_t *one_unknown(const char *key) {
    char name[256];
    snprintf(name, sizeof name, "%s", key);
    util_utf8_scrub(name);
    return json_pack("[{s:s, s:s}]", "field", name, "message", "unknown parameter");
}

static json_t *values_check(struct http_req *r, const struct query_field *fields) {
    json_t *errors = json_array();
    for (const struct query_field *f = fields; f != NULL && f->name != NULL; f++) {
        const char *v = http_query(r, f->name);
        *f->dst = v != NULL ? v : f->def;
        char msg[320];
        if (v == NULL || value_ok(f, v, f->dst, msg, sizeof msg))
            continue;
        *f->dst = NULL;
        util_utf8_scrub(msg);
        http_error_add(errors, f->name, f->message ? f->message : msg);
    }
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return NULL;
    }
    return errors;
}

json_t *qf_check(struct http_req *r, const struct query_field *fields) {
    const char *bad = unknown_parameter(r, fields);
    return bad != NULL ? one_unknown(bad) : values_check(r, fields);
}

bool qf_decode(struct http_req *r, const struct query_field *fields) {
    const char *bad = unknown_parameter(r, fields);
    if (bad != NULL) {
        json_t *errors = one_unknown(bad);
        http_problem_errors(r, P_INVALID_QUERY, errors, "unknown query parameter '%s'",
                            json_string_value(json_object_get(json_array_get(errors, 0), "field")));
        return false;
    }
    return http_errors_ok(r, P_INVALID_QUERY, values_check(r, fields));
}
