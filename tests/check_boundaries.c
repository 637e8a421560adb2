/* check_boundaries.c — no well-formed value at a boundary answers 5xx, on any endpoint.
 *
 * Driven by openapi.yaml: for every operation with a JSON request body, the documented example
 * (ids replaced by the world's) is sent once with each property, in turn, set to each boundary
 * value its schema's type suggests: dates at the ends of the calendar and of the offsets,
 * leap days and impossible days, integers at and past the int32/int64/documented limits,
 * numbers at the ends of double, empty, long and unusual Unicode strings, nulls, empty and
 * large arrays; properties of array items the same way. Every query parameter of every GET
 * gets the same treatment as text, plus invalid UTF-8 and overlong forms. Each request runs as
 * the role that may make it, on objects of the world, so values go as deep as validation lets
 * them. The test counts the requests and fails listing each one that answered 5xx. */
#include "world.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static struct world w;
static yaml_document_t doc;
static char *program, *order_ref, *order_path, *voucher_ref, *voucher_path, *offer_path;
static long requests, failures;
static char report[8000];

static void up(void) {
    world_setup(&w, "boundaries", WORLD_OFFER);
}

static int down(void) {
    return world_teardown(&w);
}

/* ==== the description ===================================================================== */

static const char *scalar(yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *member(yaml_node_t *m, const char *key) {
    if (m == NULL || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(&doc, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(&doc, p->value);
    }
    return NULL;
}

/* A schema or parameter, through its $ref ("#/components/<kind>/<name>"). */
static yaml_node_t *resolve(yaml_node_t *n) {
    for (int depth = 0; depth < 8 && n != NULL; depth++) {
        const char *ref = scalar(member(n, "$ref"));
        if (ref == NULL || strncmp(ref, "#/", 2) != 0)
            return n;
        yaml_node_t *at = yaml_document_get_root_node(&doc);
        char path[256];
        snprintf(path, sizeof path, "%s", ref + 2);
        for (char *save, *seg = strtok_r(path, "/", &save); seg && at;
             seg = strtok_r(NULL, "/", &save))
            at = member(at, seg);
        n = at;
    }
    return n;
}

static json_t *to_json(yaml_node_t *n) {
    if (n == NULL)
        return json_null();
    if (n->type == YAML_MAPPING_NODE) {
        json_t *o = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
            json_object_set_new(o, scalar(yaml_document_get_node(&doc, p->key)),
                                to_json(yaml_document_get_node(&doc, p->value)));
        return o;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        json_t *a = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
            json_array_append_new(a, to_json(yaml_document_get_node(&doc, *i)));
        return a;
    }
    const char *v = scalar(n);
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_string(v);
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
        return json_boolean(v[0] == 't');
    if (strcmp(v, "null") == 0 || strcmp(v, "~") == 0)
        return json_null();
    char *end;
    long long ll = strtoll(v, &end, 10);
    if (*v && *end == '\0')
        return json_integer(ll);
    double d = strtod(v, &end);
    if (*v && *end == '\0')
        return json_real(d);
    return json_string(v);
}

/* The example of a request body: the media type's, its first named one's, or the schema's. */
static json_t *body_example(yaml_node_t *media, yaml_node_t *schema) {
    yaml_node_t *ex = member(media, "example");
    if (ex == NULL) {
        yaml_node_t *exs = member(media, "examples");
        if (exs && exs->type == YAML_MAPPING_NODE && exs->data.mapping.pairs.start < exs->data.mapping.pairs.top)
            ex = member(resolve(yaml_document_get_node(&doc, exs->data.mapping.pairs.start->value)),
                        "value");
    }
    if (ex == NULL)
        ex = member(schema, "example");
    return ex ? to_json(ex) : NULL;
}

/* ==== boundary values ===================================================================== */

static const char *const dates[] = {
    "0001-01-01T00:00:00Z",          "0001-01-01T00:00:00+15:59",  "0001-01-01T00:00:00-15:59",
    "9999-12-31T23:59:59Z",          "9999-12-31T23:59:59-15:59",  "9999-12-31T23:59:59.999999Z",
    "1970-01-01T00:00:00Z",          "2000-02-29T00:00:00Z",       "2100-02-29T00:00:00Z",
    "2023-02-29T00:00:00Z",          "2024-04-31T00:00:00Z",       "2030-01-01T00:00:00+16:00",
    "2030-01-01T00:00:00-23:59",     "2030-01-01T00:00:00+99:99",  "2030-12-31T23:59:60Z",
    "2030-01-01T24:00:00Z",          "0000-01-01T00:00:00Z",       "2030-01-01T00:00:00.1234567Z",
    "2030-01-01",                    "2030-01-01T00:00:00",        "2038-01-19T03:14:08Z",
    "294276-12-31T23:59:59Z",        "2030-01-01T00:00:00.000000+00:00",
};

static const char *const integers[] = {
    "0", "-1", "1", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967296",
    "9007199254740993", "9223372036854775807", "-9223372036854775808", "1e3", "1.5", "-0",
    "1000000000000", "99999999999999",
};

static const char *const numbers[] = {
    "0", "-0.0", "1e308", "-1e308", "1e-308", "5e-324", "1.7976931348623157e308",
    "2147483648.5", "0.1", "0.30000000000000004", "3.0000000000000004", "9223372036854775807",
    "-1", "1",
};

/* Strings: empty, long, and Unicode that is valid but unusual. */
static const char *const strings[] = {
    "",
    " ",
    "\\u0000",
    "a\\u0000b",
    "\\u00e9\\u0301",
    "\\ud83d\\ude00",
    "\\u202e\\u202d",
    "\\ufeff",
    "\\u200b",
    "\\uffff",
    "\\udbff\\udfff",
    "\\u0085\\u2028\\u2029",
    "\\u6570\\u636e\\u4e2d\\u5fc3",
    "'; DROP TABLE x; --",
    "%s%n",
    "../../etc/passwd",
};

static char *repeat(const char *unit, size_t n) {
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

/* Appends JSON texts of boundary values for a schema to out. */
static void schema_values(yaml_node_t *schema, json_t *out) {
    schema = resolve(schema);
    const char *type = scalar(member(schema, "type")), *format = scalar(member(schema, "format"));
    char buf[64];
    json_array_append_new(out, json_string("null"));
    yaml_node_t *en = member(schema, "enum");
    if (en && en->type == YAML_SEQUENCE_NODE)
        for (yaml_node_item_t *i = en->data.sequence.items.start; i < en->data.sequence.items.top; i++) {
            json_t *e = to_json(yaml_document_get_node(&doc, *i));
            char *t = json_dumps(e, JSON_ENCODE_ANY);
            json_array_append_new(out, json_string(t));
            free(t);
            json_decref(e);
        }
    if (type == NULL) {
        json_array_append_new(out, json_string("\"x\""));
        json_array_append_new(out, json_string("0"));
        return;
    }
    if (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0) {
        const char *const *v = strcmp(type, "integer") == 0 ? integers : numbers;
        size_t n = strcmp(type, "integer") == 0 ? sizeof integers / sizeof *integers
                                                : sizeof numbers / sizeof *numbers;
        for (size_t i = 0; i < n; i++)
            json_array_append_new(out, json_string(v[i]));
        const char *lims[] = {scalar(member(schema, "minimum")), scalar(member(schema, "maximum"))};
        for (int k = 0; k < 2; k++) {
            if (lims[k] == NULL)
                continue;
            double d = strtod(lims[k], NULL);
            for (int delta = -1; delta <= 1; delta++) {
                snprintf(buf, sizeof buf, "%.17g", d + delta);
                json_array_append_new(out, json_string(buf));
            }
        }
        return;
    }
    if (strcmp(type, "boolean") == 0) {
        json_array_append_new(out, json_string("true"));
        json_array_append_new(out, json_string("false"));
        json_array_append_new(out, json_string("\"true\""));
        return;
    }
    if (strcmp(type, "array") == 0) {
        json_array_append_new(out, json_string("[]"));
        json_array_append_new(out, json_string("[null]"));
        json_array_append_new(out, json_string("[{}]"));
        char *many = repeat("{},", 1000);
        many[strlen(many) - 1] = '\0';
        char *arr;
        if (asprintf(&arr, "[%s]", many) > 0) {
            json_array_append_new(out, json_string(arr));
            free(arr);
        }
        free(many);
        return;
    }
    if (strcmp(type, "object") == 0) {
        json_array_append_new(out, json_string("{}"));
        json_array_append_new(out, json_string("[]"));
        return;
    }
    /* strings */
    if (format && strcmp(format, "date-time") == 0) {
        for (size_t i = 0; i < sizeof dates / sizeof *dates; i++) {
            snprintf(buf, sizeof buf, "\"%s\"", dates[i]);
            json_array_append_new(out, json_string(buf));
        }
    }
    if (format && strcmp(format, "uuid") == 0) {
        json_array_append_new(out, json_string("\"00000000-0000-0000-0000-000000000000\""));
        json_array_append_new(out, json_string("\"ffffffff-ffff-ffff-ffff-ffffffffffff\""));
        json_array_append_new(out, json_string("\"FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF\""));
    }
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
        snprintf(buf, sizeof buf, "\"%s\"", strings[i]);
        json_array_append_new(out, json_string(buf));
    }
    const char *maxlen = scalar(member(schema, "maxLength"));
    size_t lens[] = {maxlen ? (size_t)atol(maxlen) : 64, maxlen ? (size_t)atol(maxlen) + 1 : 65,
                     4096, 70000};
    const char *units[] = {"a", "\\u00e9", "\\ud83d\\ude00"};
    for (size_t i = 0; i < 4; i++)
        for (size_t u = 0; u < 3; u++) {
            char *s = repeat(units[u], lens[i]), *q;
            if (asprintf(&q, "\"%s\"", s) > 0) {
                json_array_append_new(out, json_string(q));
                free(q);
            }
            free(s);
        }
}

/* Query values as text (percent-encoded as needed by the caller). */
static void query_values(yaml_node_t *schema, json_t *out) {
    json_t *js = json_array();
    schema_values(schema, js);
    size_t i;
    json_t *v;
    json_array_foreach(js, i, v) {
        json_error_t e;
        json_t *parsed = json_loads(json_string_value(v), JSON_DECODE_ANY, &e);
        if (json_is_string(parsed))
            json_array_append_new(out, json_string(json_string_value(parsed)));
        else if (parsed != NULL && !json_is_array(parsed) && !json_is_object(parsed))
            json_array_append(out, v);
        json_decref(parsed);
    }
    json_decref(js);
    const char *raw[] = {"\xff", "\xc0\x80", "\xed\xa0\x80", "a\xe4\xb8", "\xf4\x90\x80\x80",
                         "", ",", ",,", "-", "%"};
    for (size_t k = 0; k < sizeof raw / sizeof *raw; k++)
        json_array_append_new(out, json_stringn_nocheck(raw[k], strlen(raw[k])));
}

/* ==== sending ============================================================================= */

static const struct th_auth *who(const char *method, const char *path) {
    if (strncmp(path, "/v1/sessions", 12) == 0 || strcmp(path, "/v1/keys") == 0 ||
        strncmp(path, "/v1/vouchers/verify", 19) == 0)
        return strcmp(path, "/v1/sessions/current") == 0 ? &w.inst : NULL;
    if (strncmp(path, "/v1/organizations", 17) == 0 || strncmp(path, "/v1/users", 9) == 0)
        return &w.op;
    if (strncmp(path, "/v1/offers", 10) == 0)
        return strcmp(method, "GET") == 0 ? &w.inst : &w.prov;
    if (strncmp(path, "/v1/programs", 12) == 0 || strncmp(path, "/v1/vouchers", 12) == 0)
        return &w.admin;
    if (strncmp(path, "/v1/audit", 9) == 0 || strncmp(path, "/v1/reports", 11) == 0)
        return &w.auditor;
    return &w.inst;
}

/* The path with its {id} replaced by an object of the world of the right kind. */
static void fill_path(const char *tmpl, char *out, size_t outlen) {
    const char *id = "00000000-0000-4000-8000-000000000000";
    if (strncmp(tmpl, "/v1/offers/", 11) == 0)
        id = offer_path;
    else if (strncmp(tmpl, "/v1/orders/", 11) == 0)
        id = order_path;
    else if (strncmp(tmpl, "/v1/programs/", 13) == 0)
        id = program;
    else if (strncmp(tmpl, "/v1/vouchers/", 13) == 0)
        id = voucher_path;
    else if (strncmp(tmpl, "/v1/organizations/", 18) == 0)
        id = w.inst_org;
    const char *brace = strchr(tmpl, '{'), *close = brace ? strchr(brace, '}') : NULL;
    if (brace == NULL || close == NULL)
        snprintf(out, outlen, "%s", tmpl);
    else
        snprintf(out, outlen, "%.*s%s%s", (int)(brace - tmpl), tmpl, id, close + 1);
}

/* Ids in an example body become the world's, so that the request gets past its lookups. */
static void fill_ids(json_t *body) {
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        const char *id = NULL;
        if (strcmp(key, "offer_id") == 0)
            id = w.offer;
        else if (strcmp(key, "order_id") == 0)
            id = order_ref;
        else if (strcmp(key, "voucher_id") == 0)
            id = voucher_ref;
        else if (strcmp(key, "program_id") == 0)
            id = program;
        else if (strcmp(key, "institute_id") == 0 || strcmp(key, "organization_id") == 0)
            id = w.inst_org;
        else if (strcmp(key, "city_id") == 0)
            id = w.city;
        if (id != NULL && json_is_string(v)) {
            json_object_set_new(body, key, json_string(id));
            continue;
        }
        if (json_is_array(v)) {
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item) if (json_is_object(item)) fill_ids(item);
        }
    }
}

static void note(const char *method, const char *path, const char *body, const struct th_resp *r) {
    requests++;
    if (r->status < 500)
        return;
    failures++;
    size_t n = strlen(report);
    if (n < sizeof report - 300)
        snprintf(report + n, sizeof report - n, "\n  %ld %s %s %.120s", r->status, method, path,
                 body ? body : "");
    fprintf(stderr, "5xx: %ld %s %s %.300s -> %.300s\n", r->status, method, path,
            body ? body : "", r->body ? r->body : "");
}

static void send_body(const char *method, const char *path, const char *body) {
    const struct th_auth *by = who(method, path);
    char etag_header[160] = "If-Match: \"0\"";
    if (strcmp(method, "PATCH") == 0) { /* the current version, so that the body is looked at */
        struct th_resp g = th_req(&w.srv, "GET", path, by, NULL, NULL);
        note("GET", path, NULL, &g);
        char *etag = th_header(&g, "ETag");
        if (etag)
            snprintf(etag_header, sizeof etag_header, "If-Match: %s", etag);
        free(etag);
        th_resp_free(&g);
    }
    const char *headers[] = {etag_header, NULL};
    struct th_resp r = th_req(&w.srv, method, path, by, body, headers);
    note(method, path, body, &r);
    th_resp_free(&r);
}

/* The example with the value at key (and, inside the array at key, at each item's key sub)
 * replaced by each boundary value of its schema. */
static void mutate_body(const char *method, const char *path, json_t *base, yaml_node_t *schema) {
    char *base_text = json_dumps(base, JSON_COMPACT);
    send_body(method, path, base_text);
    free(base_text);
    yaml_node_t *props = member(resolve(schema), "properties");
    if (props == NULL || props->type != YAML_MAPPING_NODE)
        return;
    for (yaml_node_pair_t *p = props->data.mapping.pairs.start; p < props->data.mapping.pairs.top;
         p++) {
        const char *key = scalar(yaml_document_get_node(&doc, p->key));
        yaml_node_t *ps = resolve(yaml_document_get_node(&doc, p->value));
        json_t *values = json_array();
        schema_values(ps, values);
        size_t i;
        json_t *v;
        json_array_foreach(values, i, v) {
            json_t *b = json_deep_copy(base);
            json_object_set_new(b, key, json_string("@@@"));
            char *t = json_dumps(b, JSON_COMPACT);
            json_decref(b);
            char *at = strstr(t, "\"@@@\"");
            char *body;
            ck_assert(asprintf(&body, "%.*s%s%s", (int)(at - t), t, json_string_value(v), at + 5) > 0);
            send_body(method, path, body);
            free(body);
            free(t);
        }
        json_decref(values);
        /* one level down: the properties of an array's items, inside a one-item array */
        yaml_node_t *items = resolve(member(ps, "items"));
        json_t *first = json_array_get(json_object_get(base, key), 0);
        if (items && member(items, "properties") && json_is_object(first)) {
            json_t *inner = json_deep_copy(first);
            yaml_node_t *ip = member(items, "properties");
            for (yaml_node_pair_t *q = ip->data.mapping.pairs.start; q < ip->data.mapping.pairs.top;
                 q++) {
                const char *ikey = scalar(yaml_document_get_node(&doc, q->key));
                json_t *ivalues = json_array();
                schema_values(yaml_document_get_node(&doc, q->value), ivalues);
                json_array_foreach(ivalues, i, v) {
                    json_t *b = json_deep_copy(base), *it = json_deep_copy(inner);
                    json_object_set_new(it, ikey, json_string("@@@"));
                    json_object_set_new(b, key, json_pack("[o]", it));
                    char *t = json_dumps(b, JSON_COMPACT);
                    json_decref(b);
                    char *at = strstr(t, "\"@@@\"");
                    char *body;
                    ck_assert(asprintf(&body, "%.*s%s%s", (int)(at - t), t, json_string_value(v),
                                       at + 5) > 0);
                    send_body(method, path, body);
                    free(body);
                    free(t);
                }
                json_decref(ivalues);
            }
            json_decref(inner);
        }
    }
}

static void pct(const char *s, size_t n, char *out, size_t outlen) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, outlen - o, "%%%02X", c);
    }
    out[o] = '\0';
}

static void mutate_query(const char *path, yaml_node_t *params) {
    if (params == NULL || params->type != YAML_SEQUENCE_NODE)
        return;
    for (yaml_node_item_t *it = params->data.sequence.items.start;
         it < params->data.sequence.items.top; it++) {
        yaml_node_t *p = resolve(yaml_document_get_node(&doc, *it));
        const char *in = scalar(member(p, "in")), *name = scalar(member(p, "name"));
        if (in == NULL || name == NULL || strcmp(in, "query") != 0)
            continue;
        json_t *values = json_array();
        query_values(member(p, "schema"), values);
        size_t i;
        json_t *v;
        json_array_foreach(values, i, v) {
            size_t n = json_string_length(v);
            char *enc = malloc(n * 3 + 8), *url;
            pct(json_string_value(v), n, enc, n * 3 + 8);
            ck_assert(asprintf(&url, "%s?%s=%s", path, name, enc) > 0);
            struct th_resp r = th_req(&w.srv, "GET", url, who("GET", path), NULL, NULL);
            note("GET", url, NULL, &r);
            th_resp_free(&r);
            free(url);
            free(enc);
        }
        json_decref(values);
    }
}

START_TEST(no_boundary_value_answers_5xx) {
    const char *file = getenv("SUANLI_OPENAPI_FILE");
    FILE *f = fopen(file ? file : "openapi.yaml", "rb");
    ck_assert_ptr_nonnull(f);
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    ck_assert(yaml_parser_load(&parser, &doc));
    yaml_parser_delete(&parser);
    fclose(f);

    program = world_program(&w, NULL);
    offer_path = world_offer(&w, &w.prov, NULL);
    order_ref = world_order(&w, &w.inst, NULL, 1, 10, "2030-02-01T00:00:00Z");
    order_path = world_order(&w, &w.inst, NULL, 1, 10, "2030-02-02T00:00:00Z");
    voucher_ref = world_voucher_id(&w, program, w.inst_org, 100000);
    voucher_path = world_voucher_id(&w, program, w.inst_org, 100000);

    yaml_node_t *paths = member(yaml_document_get_root_node(&doc), "paths");
    for (yaml_node_pair_t *p = paths->data.mapping.pairs.start; p < paths->data.mapping.pairs.top;
         p++) {
        const char *tmpl = scalar(yaml_document_get_node(&doc, p->key));
        yaml_node_t *item = yaml_document_get_node(&doc, p->value);
        char path[256];
        fill_path(tmpl, path, sizeof path);
        for (yaml_node_pair_t *q = item->data.mapping.pairs.start; q < item->data.mapping.pairs.top;
             q++) {
            const char *m = scalar(yaml_document_get_node(&doc, q->key));
            yaml_node_t *op = yaml_document_get_node(&doc, q->value);
            if (m == NULL || op->type != YAML_MAPPING_NODE || strcmp(m, "delete") == 0)
                continue;
            char method[8] = "";
            for (size_t k = 0; m[k] && k < sizeof method - 1; k++)
                method[k] = (char)toupper((unsigned char)m[k]);
            if (strcmp(method, "GET") == 0) {
                mutate_query(path, member(op, "parameters"));
                mutate_query(path, member(item, "parameters"));
                continue;
            }
            yaml_node_t *media = member(member(resolve(member(op, "requestBody")), "content"),
                                        "application/json");
            yaml_node_t *schema = resolve(member(media, "schema"));
            json_t *base = body_example(media, schema);
            if (base == NULL || !json_is_object(base)) {
                json_decref(base);
                base = json_object();
            }
            fill_ids(base);
            mutate_body(method, path, base, schema);
            json_decref(base);
        }
    }
    fprintf(stderr, "check_boundaries: %ld requests, %ld answered 5xx\n", requests, failures);
    ck_assert_msg(requests > 1000, "only %ld requests were made", requests);
    ck_assert_msg(failures == 0, "%ld of %ld requests answered 5xx:%s", failures, requests, report);
    yaml_document_delete(&doc);
}
END_TEST

int main(void) {
    Suite *s = suite_create("boundaries");
    th_shared(up, down);
    th_case(s, no_boundary_value_answers_5xx, 1800, NULL, NULL);
    return th_run(s);
}
