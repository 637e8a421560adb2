/* json.c — declarative JSON field checking. */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void add_error(json_t *errors, const char *prefix, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_error(json_t *errors, const char *prefix, const char *field, const char *fmt, ...) {
    if (json_array_size(errors) >= HTTP_MAX_ERRORS)
        return; /* the answer shows no more; do not build them */
    char name[256], msg[256];
    snprintf(name, sizeof name, "%s%s", prefix ? prefix : "", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    util_utf8_scrub(name); /* a long key may have been cut inside a character */
    util_utf8_scrub(msg);
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", name, "message", msg));
}

static const char *type_word(enum jf_type t) {
    switch (t) {
    case JF_STRING:
    case JF_UUID:
    case JF_TIME:
    case JF_ENUM:
        return "a string";
    case JF_INT:
        return "an integer";
    case JF_NUMBER:
        return "a number";
    case JF_BOOL:
        return "a boolean";
    case JF_ARRAY:
        return "an array";
    case JF_OBJECT:
        return "an object";
    }
    return "a value";
}

/* Checks one present value; returns false (after adding an error) when it is wrong. */
static bool check_value(const struct jf_field *f, json_t *v, json_t *errors, const char *prefix) {
    switch (f->type) {
    case JF_STRING: {
        if (!json_is_string(v))
            break;
        size_t len = json_string_length(v);
        int64_t max = f->max ? f->max : 1000;
        if ((int64_t)len > max || (int64_t)len < f->min) {
            add_error(errors, prefix, f->name, "must be %lld to %lld characters long",
                      (long long)f->min, (long long)max);
            return false;
        }
        if (strlen(json_string_value(v)) != len) {
            add_error(errors, prefix, f->name, "must not contain NUL characters");
            return false;
        }
        *(const char **)f->dst = json_string_value(v);
        return true;
    }
    case JF_UUID:
        if (!json_is_string(v))
            break;
        if (!util_is_uuid(json_string_value(v))) {
            add_error(errors, prefix, f->name, "must be a UUID");
            return false;
        }
        *(const char **)f->dst = json_string_value(v);
        return true;
    case JF_TIME:
        if (!json_is_string(v))
            break;
        if (!util_is_rfc3339(json_string_value(v))) {
            add_error(errors, prefix, f->name,
                      "must be an RFC 3339 date-time with an offset, e.g. 2026-01-31T08:00:00Z");
            return false;
        }
        *(const char **)f->dst = json_string_value(v);
        return true;
    case JF_ENUM:
        if (!json_is_string(v))
            break;
        for (const char *const *c = f->choices; *c; c++) {
            if (strcmp(*c, json_string_value(v)) == 0) {
                *(const char **)f->dst = *c;
                return true;
            }
        }
        {
            char list[256] = "";
            for (const char *const *c = f->choices; *c; c++) {
                if (strlen(list) + strlen(*c) + 3 >= sizeof list)
                    break;
                if (list[0])
                    strcat(list, ", ");
                strcat(list, *c);
            }
            add_error(errors, prefix, f->name, "must be one of: %s", list);
        }
        return false;
    case JF_INT:
        if (!json_is_integer(v))
            break;
        if (json_integer_value(v) < f->min || json_integer_value(v) > f->max) {
            add_error(errors, prefix, f->name, "must be from %lld to %lld", (long long)f->min,
                      (long long)f->max);
            return false;
        }
        *(int64_t *)f->dst = json_integer_value(v);
        return true;
    case JF_NUMBER: {
        if (!json_is_number(v))
            break;
        double d = json_number_value(v);
        if (!isfinite(d) || d < f->dmin || d > f->dmax) {
            add_error(errors, prefix, f->name, "must be from %g to %g", f->dmin, f->dmax);
            return false;
        }
        *(double *)f->dst = d;
        return true;
    }
    case JF_BOOL:
        if (!json_is_boolean(v))
            break;
        *(bool *)f->dst = json_is_true(v);
        return true;
    case JF_ARRAY:
        if (!json_is_array(v))
            break;
        if ((int64_t)json_array_size(v) < f->min || (int64_t)json_array_size(v) > f->max) {
            add_error(errors, prefix, f->name, "must have %lld to %lld elements", (long long)f->min,
                      (long long)f->max);
            return false;
        }
        *(json_t **)f->dst = v;
        return true;
    case JF_OBJECT:
        if (!json_is_object(v))
            break;
        *(json_t **)f->dst = v;
        return true;
    }
    add_error(errors, prefix, f->name, "must be %s", type_word(f->type));
    return false;
}

/* Nesting depth of a JSON text, counted before parsing so that a hostile 100 000-deep body
 * never reaches the recursive parser. Brackets inside strings do not count. */
static int jf_depth(const char *s, size_t len) {
    int depth = 0, max = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

json_t *jf_parse_object(const char *text, size_t len, char *why, size_t whylen) {
    if (len == 0) {
        snprintf(why, whylen, "the body is empty; a JSON object is required");
        return NULL;
    }
    if (jf_depth(text, len) > HTTP_MAX_JSON_DEPTH) {
        snprintf(why, whylen, "the JSON nests deeper than %d levels", HTTP_MAX_JSON_DEPTH);
        return NULL;
    }
    json_error_t err;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        snprintf(why, whylen, "invalid JSON at line %d column %d: %s", err.line, err.column,
                 err.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(why, whylen, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

json_t *jf_check(json_t *obj, const struct jf_field *fields, const char *prefix) {
    json_t *errors = json_array();
    if (!json_is_object(obj)) {
        add_error(errors, prefix, "", "must be an object");
        return errors;
    }
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        const struct jf_field *f = fields;
        while (f->name != NULL && strcmp(f->name, key) != 0)
            f++;
        if (f->name == NULL)
            add_error(errors, prefix, key, "is not a known field");
        if (json_array_size(errors) >= HTTP_MAX_ERRORS)
            break;
    }
    for (const struct jf_field *f = fields; f->name != NULL; f++) {
        json_t *v = json_object_get(obj, f->name);
        bool given = v != NULL && !json_is_null(v);
        if (f->present)
            *f->present = false;
        if (!given) {
            if (f->required)
                add_error(errors, prefix, f->name, "is required");
            continue;
        }
        if (check_value(f, v, errors, prefix) && f->present)
            *f->present = true;
    }
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return NULL;
    }
    return errors;
}

bool jf_decode_body(struct http_req *r, const struct jf_field *fields) {
    json_t *obj = http_body_object(r);
    if (obj == NULL)
        return false;
    return http_errors_ok(r, P_VALIDATION, jf_check(obj, fields, ""));
}
