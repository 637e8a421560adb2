/* check_contract.c — openapi.yaml against the server itself, both ways: every route of the table
 * in api/routes.c is described, every described operation is served, every path parameter is
 * declared, every problem type of server/problems.def is documented. Unit level: no server.
 *
 * No YAML library is available to C here, so the `paths:` block is read by indentation, as
 * openapi.yaml is written: path keys at two spaces, their methods (and path-level `parameters`)
 * at four, an operation's keys at six; parameters in block style, inline or as a $ref to
 * `components.parameters`. The file is $SUANLI_OPENAPI_FILE, by default ./openapi.yaml. */
#include <check.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define MAX_PATHS 256
#define MAX_OPS 512

/* ---------------------------------------------------------------------------------------------
 * The parsed description
 * ------------------------------------------------------------------------------------------- */

struct spec_path {
    char name[256];
    size_t first, end; /* its lines: [first, end) */
};

struct spec_op {
    char method[8]; /* upper case, as in the route table */
    size_t path;    /* index in spec.paths */
    size_t first, end;
    char operation_id[128];
};

static struct {
    char *text; /* the whole file */
    char *buf;  /* a copy cut into lines */
    char **lines;
    size_t nlines;
    struct spec_path paths[MAX_PATHS];
    size_t npaths;
    struct spec_op ops[MAX_OPS];
    size_t nops;
    char error[512]; /* why the file could not be read, or "" */
} spec;

static const char *const http_methods[] = {"get",  "put",   "post",  "delete", "options",
                                           "head", "patch", "trace", NULL};

static size_t indent_of(const char *line) {
    size_t n = 0;
    while (line[n] == ' ')
        n++;
    return n;
}

/* Blank lines and comments carry no structure. */
static bool is_structural(const char *line) {
    const char *p = line + indent_of(line);
    return *p != '\0' && *p != '#';
}

/* Copies the key of a "key: value" or "key:" line (after indentation and an optional "- ") into
 * out, without quotes; false when the line is not a mapping entry. */
static bool line_key(const char *line, char *out, size_t outlen) {
    const char *p = line + indent_of(line);
    if (p[0] == '-' && p[1] == ' ')
        p += 2;
    size_t n;
    if (*p == '\'' || *p == '"') {
        const char *close = strchr(p + 1, *p);
        if (close == NULL || close[1] != ':')
            return false;
        p++;
        n = (size_t)(close - p);
    } else {
        const char *colon = p;
        while ((colon = strchr(colon, ':')) != NULL && colon[1] != '\0' && colon[1] != ' ')
            colon++;
        if (colon == NULL)
            return false;
        n = (size_t)(colon - p);
    }
    if (n == 0 || n >= outlen)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* Copies the scalar value of a "key: value" line into out, without quotes or a trailing
 * comment; "" when there is none. */
static void line_value(const char *line, char *out, size_t outlen) {
    out[0] = '\0';
    const char *p = line + indent_of(line);
    if (p[0] == '-' && p[1] == ' ')
        p += 2;
    if (*p == '\'' || *p == '"') {
        const char *close = strchr(p + 1, *p);
        if (close == NULL)
            return;
        p = close + 1;
    }
    p = strstr(p, ": ");
    if (p == NULL)
        return;
    p += 2;
    while (*p == ' ')
        p++;
    size_t n;
    if (*p == '\'' || *p == '"') {
        const char *close = strchr(p + 1, *p);
        p++;
        n = close ? (size_t)(close - p) : strlen(p);
    } else {
        const char *hash = strstr(p, " #");
        n = hash ? (size_t)(hash - p) : strlen(p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
    }
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static bool is_method(const char *key) {
    for (const char *const *m = http_methods; *m; m++)
        if (strcmp(*m, key) == 0)
            return true;
    return false;
}

/* The whole file, NUL-terminated and malloc'd; NULL if it cannot be read. */
static char *file_read(const char *file) {
    FILE *f = fopen(file, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, len = 0, got;
    char *text = malloc(cap + 1);
    while (text != NULL && (got = fread(text + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            char *bigger = realloc(text, cap + 1);
            if (bigger == NULL)
                free(text);
            text = bigger;
        }
    }
    fclose(f);
    if (text != NULL)
        text[len] = '\0';
    return text;
}

/* Cuts a copy of spec.text into spec.lines. */
static bool spec_split_lines(void) {
    spec.buf = strdup(spec.text);
    if (spec.buf == NULL)
        return false;
    size_t nl = 1;
    for (const char *c = spec.buf; *c; c++)
        nl += *c == '\n';
    spec.lines = calloc(nl, sizeof *spec.lines);
    if (spec.lines == NULL)
        return false;
    for (char *next = NULL, *l = spec.buf; l != NULL; l = next) {
        next = strchr(l, '\n');
        if (next != NULL)
            *next++ = '\0';
        size_t n = strlen(l);
        if (n > 0 && l[n - 1] == '\r')
            l[n - 1] = '\0';
        spec.lines[spec.nlines++] = l;
    }
    return true;
}

/* Closes the open path and operation blocks at line i. */
static void spec_close_blocks(size_t i, bool path_too) {
    if (path_too && spec.npaths > 0 && spec.paths[spec.npaths - 1].end == 0)
        spec.paths[spec.npaths - 1].end = i;
    if (spec.nops > 0 && spec.ops[spec.nops - 1].end == 0)
        spec.ops[spec.nops - 1].end = i;
}

/* Indexes the paths, operations and operationIds of the `paths:` block. */
static void spec_index_paths(void) {
    size_t i = 0;
    while (i < spec.nlines && strcmp(spec.lines[i], "paths:") != 0)
        i++;
    if (i == spec.nlines) {
        snprintf(spec.error, sizeof spec.error, "no line 'paths:'");
        return;
    }
    char key[256];
    for (i++; i < spec.nlines; i++) {
        const char *l = spec.lines[i];
        if (!is_structural(l))
            continue;
        size_t ind = indent_of(l);
        if (ind == 0)
            break;
        if (ind == 2 && line_key(l, key, sizeof key)) {
            spec_close_blocks(i, true);
            if (spec.npaths == MAX_PATHS) {
                snprintf(spec.error, sizeof spec.error, "more than %d paths", MAX_PATHS);
                return;
            }
            struct spec_path *p = &spec.paths[spec.npaths++];
            snprintf(p->name, sizeof p->name, "%s", key);
            p->first = i;
        } else if (ind == 4 && spec.npaths > 0 && line_key(l, key, sizeof key)) {
            spec_close_blocks(i, false);
            if (!is_method(key))
                continue;
            if (spec.nops == MAX_OPS) {
                snprintf(spec.error, sizeof spec.error, "more than %d operations", MAX_OPS);
                return;
            }
            struct spec_op *o = &spec.ops[spec.nops++];
            for (size_t k = 0; key[k] && k < sizeof o->method - 1; k++)
                o->method[k] = (char)toupper((unsigned char)key[k]);
            o->path = spec.npaths - 1;
            o->first = i;
        } else if (ind == 6 && spec.nops > 0 && spec.ops[spec.nops - 1].end == 0 &&
                   line_key(l, key, sizeof key) && strcmp(key, "operationId") == 0) {
            struct spec_op *o = &spec.ops[spec.nops - 1];
            line_value(l, o->operation_id, sizeof o->operation_id);
        }
    }
    spec_close_blocks(i, true);
}

/* Reads $SUANLI_OPENAPI_FILE (default ./openapi.yaml) and indexes it; on failure leaves the
 * reason in spec.error, which every test then reports. */
static void spec_load(void) {
    const char *file = getenv("SUANLI_OPENAPI_FILE");
    if (file == NULL || file[0] == '\0')
        file = "./openapi.yaml";
    spec.text = file_read(file);
    if (spec.text == NULL) {
        snprintf(spec.error, sizeof spec.error, "cannot read %s", file);
        return;
    }
    if (!spec_split_lines()) {
        snprintf(spec.error, sizeof spec.error, "out of memory");
        return;
    }
    spec_index_paths();
}

static void spec_free(void) {
    free(spec.text);
    free(spec.buf);
    free(spec.lines);
}

static const struct spec_path *spec_path_find(const char *name) {
    for (size_t i = 0; i < spec.npaths; i++)
        if (strcmp(spec.paths[i].name, name) == 0)
            return &spec.paths[i];
    return NULL;
}

static const struct spec_op *spec_op_find(const char *method, const char *path) {
    for (size_t i = 0; i < spec.nops; i++)
        if (strcmp(spec.ops[i].method, method) == 0 &&
            strcmp(spec.paths[spec.ops[i].path].name, path) == 0)
            return &spec.ops[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Parameters
 * ------------------------------------------------------------------------------------------- */

/* The `name` and `in` of components.parameters.<ref>; false when it is not there. */
static bool component_parameter(const char *ref, char *name, char *in, size_t len) {
    size_t i = 0;
    while (i < spec.nlines && strncmp(spec.lines[i], "components:", 11) != 0)
        i++;
    char key[256];
    bool in_parameters = false, in_entry = false;
    for (i++; i < spec.nlines; i++) {
        const char *l = spec.lines[i];
        if (!is_structural(l))
            continue;
        size_t ind = indent_of(l);
        if (ind == 0)
            break;
        if (!line_key(l, key, sizeof key))
            continue;
        if (ind == 2) {
            in_parameters = strcmp(key, "parameters") == 0;
            in_entry = false;
        } else if (ind == 4 && in_parameters) {
            if (in_entry)
                break;
            in_entry = strcmp(key, ref) == 0;
        } else if (ind == 6 && in_entry) {
            if (strcmp(key, "name") == 0)
                line_value(l, name, len);
            else if (strcmp(key, "in") == 0)
                line_value(l, in, len);
        }
    }
    return name[0] != '\0';
}

/* Whether the `parameters:` list at indentation ind among lines [first, end) declares the path
 * parameter `want`. Its items are "- " at ind or deeper; an item's keys sit two columns right
 * of its dash, and anything deeper (schemas, examples) is skipped. */
static bool parameters_declare(size_t first, size_t end, size_t ind, const char *want) {
    char key[256], value[256];
    for (size_t i = first; i < end; i++) {
        const char *l = spec.lines[i];
        if (!is_structural(l) || indent_of(l) != ind || !line_key(l, key, sizeof key) ||
            strcmp(key, "parameters") != 0)
            continue;
        char name[256] = "", in[256] = "";
        size_t dash = SIZE_MAX; /* the indentation of this list's dashes */
        for (size_t j = i + 1; j < end; j++) {
            const char *m = spec.lines[j];
            if (!is_structural(m))
                continue;
            size_t mi = indent_of(m);
            bool item = m[mi] == '-' && m[mi + 1] == ' ';
            if (mi < ind || (mi == ind && !item))
                break;
            if (item && (dash == SIZE_MAX || mi == dash)) {
                if (strcmp(name, want) == 0 && strcmp(in, "path") == 0)
                    return true;
                name[0] = in[0] = '\0';
                dash = mi;
            }
            size_t key_column = item ? mi + 2 : mi;
            if (dash == SIZE_MAX || key_column != dash + 2 || !line_key(m, key, sizeof key))
                continue;
            line_value(m, value, sizeof value);
            if (strcmp(key, "name") == 0)
                snprintf(name, sizeof name, "%s", value);
            else if (strcmp(key, "in") == 0)
                snprintf(in, sizeof in, "%s", value);
            else if (strcmp(key, "$ref") == 0 &&
                     strncmp(value, "#/components/parameters/", 24) == 0)
                component_parameter(value + 24, name, in, sizeof name);
        }
        if (strcmp(name, want) == 0 && strcmp(in, "path") == 0)
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
    ck_assert_msg(spec.npaths > 0, "no path keys (two-space indented) under paths:");
    ck_assert_msg(spec.nops > 0, "no operations (four-space indented methods) under paths:");
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
                     strcmp(api_routes[r].pattern, spec.paths[o->path].name) == 0;
        if (!served)
            report_add("%s %s (line %zu)", o->method, spec.paths[o->path].name, o->first + 1);
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
        const struct spec_path *p = spec_path_find(rt->pattern);
        if (o == NULL || p == NULL)
            continue; /* every_route_is_in_the_spec reports it */
        for (const char *c = strchr(rt->pattern, '{'); c != NULL; c = strchr(c + 1, '{')) {
            const char *close = strchr(c, '}');
            ck_assert_ptr_nonnull(close);
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(close - c - 1), c + 1);
            if (!parameters_declare(p->first + 1, p->end, 4, name) &&
                !parameters_declare(o->first + 1, o->end, 6, name))
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
        size_t n = strlen(type);
        bool found = false;
        for (const char *at = strstr(spec.text, type); at != NULL && !found;
             at = strstr(at + 1, type)) {
            char next = at[n];
            found = !(isalnum((unsigned char)next) || next == '-');
        }
        if (!found)
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
            report_add("%s %s: no operationId", o->method, spec.paths[o->path].name);
            continue;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(spec.ops[k].operation_id, o->operation_id) == 0)
                report_add("%s %s: operationId %s is also %s %s", o->method,
                           spec.paths[o->path].name, o->operation_id, spec.ops[k].method,
                           spec.paths[spec.ops[k].path].name);
    }
    ck_assert_msg(report_count == 0, "%d operationId problems:%s%s", report_count, report,
                  report_more());
}
END_TEST

int main(void) {
    spec_load();
    Suite *s = suite_create("contract");
    TCase *tc = tcase_create("openapi.yaml and the route table");
    tcase_add_test(tc, the_spec_has_paths_and_operations);
    tcase_add_test(tc, every_route_is_in_the_spec);
    tcase_add_test(tc, every_spec_operation_is_served);
    tcase_add_test(tc, every_path_parameter_is_declared);
    tcase_add_test(tc, every_problem_type_is_documented);
    tcase_add_test(tc, every_spec_operation_has_a_unique_operation_id);
    suite_add_tcase(s, tc);
    SRunner *runner = srunner_create(s);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    spec_free();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
