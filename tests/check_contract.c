/* check_contract.c — openapi.yaml against the server itself, both ways: every route of the table
 * in api/routes.c is described, every described operation is served, every path parameter is
 * declared, every problem type of server/problems.def is documented. Unit level: no server.
 *
 * The file ($SUANLI_OPENAPI_FILE, by default ./openapi.yaml) is read with libyaml into a
 * document tree; parameters may be inline or a $ref to `components.parameters`. */
#include "harness.h"

#include <check.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "api.h"

#define MAX_OPS 512

/* ---------------------------------------------------------------------------------------------
 * The parsed description
 * ------------------------------------------------------------------------------------------- */

struct spec_op {
    char method[8];         /* upper case, as in the route table */
    const char *path;       /* the path key */
    yaml_node_t *path_node; /* the path item (a mapping) */
    yaml_node_t *node;      /* the operation (a mapping) */
    size_t line;            /* 1-based, of the method key */
    char operation_id[128];
};

static struct {
    yaml_document_t doc;
    bool loaded;
    size_t npaths;
    struct spec_op ops[MAX_OPS];
    size_t nops;
    char error[512]; /* why the file could not be read, or "" */
} spec;

static const char *const http_methods[] = {"get",  "put",   "post",  "delete", "options",
                                           "head", "patch", "trace", NULL};

static bool is_method(const char *key) {
    for (const char *const *m = http_methods; *m; m++)
        if (strcmp(*m, key) == 0)
            return true;
    return false;
}

/* The text of a scalar node, or NULL for any other node. */
static const char *scalar(yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value of key in mapping m, or NULL. */
static yaml_node_t *member(yaml_node_t *m, const char *key) {
    if (m == NULL || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(&spec.doc, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(&spec.doc, p->value);
    }
    return NULL;
}

/* Indexes the operations (and their operationIds) of `paths`. */
static void spec_index_paths(void) {
    yaml_node_t *paths = member(yaml_document_get_root_node(&spec.doc), "paths");
    if (paths == NULL || paths->type != YAML_MAPPING_NODE) {
        snprintf(spec.error, sizeof spec.error, "no mapping 'paths' at the top level");
        return;
    }
    for (yaml_node_pair_t *p = paths->data.mapping.pairs.start; p < paths->data.mapping.pairs.top;
         p++) {
        const char *path = scalar(yaml_document_get_node(&spec.doc, p->key));
        yaml_node_t *item = yaml_document_get_node(&spec.doc, p->value);
        if (path == NULL || item == NULL || item->type != YAML_MAPPING_NODE)
            continue;
        spec.npaths++;
        for (yaml_node_pair_t *q = item->data.mapping.pairs.start; q < item->data.mapping.pairs.top;
             q++) {
            yaml_node_t *keynode = yaml_document_get_node(&spec.doc, q->key);
            const char *key = scalar(keynode);
            if (key == NULL || !is_method(key))
                continue;
            if (spec.nops == MAX_OPS) {
                snprintf(spec.error, sizeof spec.error, "more than %d operations", MAX_OPS);
                return;
            }
            struct spec_op *o = &spec.ops[spec.nops++];
            for (size_t k = 0; key[k] && k < sizeof o->method - 1; k++)
                o->method[k] = (char)toupper((unsigned char)key[k]);
            o->path = path;
            o->path_node = item;
            o->node = yaml_document_get_node(&spec.doc, q->value);
            o->line = keynode->start_mark.line + 1;
            const char *id = scalar(member(o->node, "operationId"));
            snprintf(o->operation_id, sizeof o->operation_id, "%s", id ? id : "");
        }
    }
}

/* Reads $SUANLI_OPENAPI_FILE (default ./openapi.yaml) and indexes it; on failure leaves the
 * reason in spec.error, which every test then reports. */
static void spec_load(void) {
    const char *file = getenv("SUANLI_OPENAPI_FILE");
    if (file == NULL || file[0] == '\0')
        file = "./openapi.yaml";
    FILE *f = fopen(file, "rb");
    if (f == NULL) {
        snprintf(spec.error, sizeof spec.error, "cannot read %s", file);
        return;
    }
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &spec.doc)) {
        snprintf(spec.error, sizeof spec.error, "%s: line %zu: %s", file,
                 parser.problem_mark.line + 1, parser.problem ? parser.problem : "not YAML");
    } else if (yaml_document_get_root_node(&spec.doc) == NULL) {
        snprintf(spec.error, sizeof spec.error, "%s is empty", file);
        yaml_document_delete(&spec.doc);
    } else {
        spec.loaded = true;
    }
    yaml_parser_delete(&parser);
    fclose(f);
    if (spec.loaded)
        spec_index_paths();
}

static void spec_free(void) {
    if (spec.loaded)
        yaml_document_delete(&spec.doc);
}

static const struct spec_op *spec_op_find(const char *method, const char *path) {
    for (size_t i = 0; i < spec.nops; i++)
        if (strcmp(spec.ops[i].method, method) == 0 && strcmp(spec.ops[i].path, path) == 0)
            return &spec.ops[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Parameters
 * ------------------------------------------------------------------------------------------- */

/* A parameter object, through its $ref to components.parameters when it has one. */
static yaml_node_t *parameter_resolve(yaml_node_t *param) {
    const char *ref = scalar(member(param, "$ref"));
    const char *prefix = "#/components/parameters/";
    if (ref == NULL)
        return param;
    if (strncmp(ref, prefix, strlen(prefix)) != 0)
        return NULL;
    yaml_node_t *components = member(yaml_document_get_root_node(&spec.doc), "components");
    return member(member(components, "parameters"), ref + strlen(prefix));
}

/* Whether the `parameters` list of the mapping owner declares the path parameter want. */
static bool parameters_declare(yaml_node_t *owner, const char *want) {
    yaml_node_t *list = member(owner, "parameters");
    if (list == NULL || list->type != YAML_SEQUENCE_NODE)
        return false;
    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
         it++) {
        yaml_node_t *param = parameter_resolve(yaml_document_get_node(&spec.doc, *it));
        const char *name = scalar(member(param, "name")), *in = scalar(member(param, "in"));
        if (name && in && strcmp(name, want) == 0 && strcmp(in, "path") == 0)
            return true;
    }
    return false;
}

/* Whether some scalar of the document mentions text as a whole word (not followed by a letter,
 * digit or '-'), e.g. a problem type "/problems/x" that is not "/problems/x-y". */
static bool spec_mentions(const char *text) {
    size_t n = strlen(text);
    for (yaml_node_t *node = spec.doc.nodes.start; node < spec.doc.nodes.top; node++) {
        const char *v = scalar(node);
        for (const char *at = v ? strstr(v, text) : NULL; at != NULL; at = strstr(at + 1, text))
            if (!(isalnum((unsigned char)at[n]) || at[n] == '-'))
                return true;
    }
    return false;
}

/* ---------------------------------------------------------------------------------------------
 * Reporting: a test lists every mismatch in its failure message; what does not fit in Check's
 * message buffer goes to stderr.
 * ------------------------------------------------------------------------------------------- */

#define REPORT_SIZE 6000

static char report[REPORT_SIZE];
static int report_count, report_overflow;

static void report_reset(void) {
    report[0] = '\0';
    report_count = report_overflow = 0;
}

static void report_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report_add(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t used = strlen(report);
    if (used + strlen(line) + 4 < sizeof report) {
        snprintf(report + used, sizeof report - used, "\n  %s", line);
    } else {
        fprintf(stderr, "  %s\n", line);
        report_overflow++;
    }
    report_count++;
}

/* The end of a failure message: how many more are on stderr, if any. */
static const char *report_more(void) {
    static char more[64];
    more[0] = '\0';
    if (report_overflow > 0)
        snprintf(more, sizeof more, "\n  (and %d more, listed on stderr)", report_overflow);
    return more;
}

static void spec_required(void) {
    ck_assert_msg(spec.error[0] == '\0', "%s", spec.error);
}

/* ---------------------------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------------------------- */

START_TEST(the_spec_has_paths_and_operations) {
    spec_required();
    ck_assert_msg(spec.npaths > 0, "no path items under paths");
    ck_assert_msg(spec.nops > 0, "no operations under paths");
    ck_assert_msg(spec_op_find("GET", "/healthz") != NULL, "GET /healthz was not parsed");
}
END_TEST

START_TEST(every_route_is_in_the_spec) {
    spec_required();
    report_reset();
    for (size_t i = 0; i < api_routes_len; i++)
        if (spec_op_find(api_routes[i].method, api_routes[i].pattern) == NULL)
            report_add("%s %s", api_routes[i].method, api_routes[i].pattern);
    ck_assert_msg(report_count == 0, "%d routes of api/routes.c are not in openapi.yaml:%s%s",
                  report_count, report, report_more());
}
END_TEST

START_TEST(every_spec_operation_is_served) {
    spec_required();
    report_reset();
    for (size_t i = 0; i < spec.nops; i++) {
        const struct spec_op *o = &spec.ops[i];
        bool served = false;
        for (size_t r = 0; r < api_routes_len && !served; r++)
            served = strcmp(api_routes[r].method, o->method) == 0 &&
                     strcmp(api_routes[r].pattern, o->path) == 0;
        if (!served)
            report_add("%s %s (line %zu)", o->method, o->path, o->line);
    }
    ck_assert_msg(report_count == 0, "%d operations of openapi.yaml are not in api/routes.c:%s%s",
                  report_count, report, report_more());
}
END_TEST

START_TEST(every_path_parameter_is_declared) {
    spec_required();
    report_reset();
    for (size_t i = 0; i < api_routes_len; i++) {
        const struct route *rt = &api_routes[i];
        const struct spec_op *o = spec_op_find(rt->method, rt->pattern);
        if (o == NULL)
            continue; /* every_route_is_in_the_spec reports it */
        for (const char *c = strchr(rt->pattern, '{'); c != NULL; c = strchr(c + 1, '{')) {
            const char *close = strchr(c, '}');
            ck_assert_ptr_nonnull(close);
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(close - c - 1), c + 1);
            if (!parameters_declare(o->path_node, name) && !parameters_declare(o->node, name))
                report_add("%s %s: {%s} (no parameter with name: %s, in: path)", rt->method,
                           rt->pattern, name, name);
        }
    }
    ck_assert_msg(report_count == 0, "%d path parameters are not declared:%s%s", report_count,
                  report, report_more());
}
END_TEST

START_TEST(every_problem_type_is_documented) {
    spec_required();
    report_reset();
    for (int p = 0; p < PROBLEM_COUNT; p++) {
        char type[128];
        snprintf(type, sizeof type, "/problems/%s", problem_slug((enum problem)p));
        if (!spec_mentions(type))
            report_add("%s (%u)", type, problem_status((enum problem)p));
    }
    ck_assert_msg(report_count == 0, "%d problem types are not documented:%s%s", report_count,
                  report, report_more());
}
END_TEST

START_TEST(every_spec_operation_has_a_unique_operation_id) {
    spec_required();
    report_reset();
    for (size_t i = 0; i < spec.nops; i++) {
        const struct spec_op *o = &spec.ops[i];
        if (o->operation_id[0] == '\0') {
            report_add("%s %s: no operationId", o->method, o->path);
            continue;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(spec.ops[k].operation_id, o->operation_id) == 0)
                report_add("%s %s: operationId %s is also %s %s", o->method, o->path,
                           o->operation_id, spec.ops[k].method, spec.ops[k].path);
    }
    ck_assert_msg(report_count == 0, "%d operationId problems:%s%s", report_count, report,
                  report_more());
}
END_TEST

int main(void) {
    spec_load();
    Suite *s = suite_create("contract");
    th_case(s, the_spec_has_paths_and_operations, 0, NULL, NULL);
    th_case(s, every_route_is_in_the_spec, 0, NULL, NULL);
    th_case(s, every_spec_operation_is_served, 0, NULL, NULL);
    th_case(s, every_path_parameter_is_declared, 0, NULL, NULL);
    th_case(s, every_problem_type_is_documented, 0, NULL, NULL);
    th_case(s, every_spec_operation_has_a_unique_operation_id, 0, NULL, NULL);
    int rc = th_run(s);
    spec_free();
    return rc;
}
