/* reports.c — subsidy and performance (绩效) reports for city administrators and auditors
 * (JSON, or RFC 4180 CSV with Accept: text/csv) and anomaly flags with their explanations.
 * sql/functions/reports derives every figure from the ledger and the domain tables and scopes
 * it to the caller's city. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ==== query parameters ==================================================================== */

static const char *const GROUPS[] = {"program", "institute", "provider", "region",
                                     "zone",    "month",     "funder",   NULL};

/* The representation the Accept header asks for: 0 JSON, 1 CSV, -1 none we have. Media ranges
 * with q=0 are refused ones; otherwise the first range we can serve wins. */
static int report_format(struct http_req *r) {
    const char *accept = http_header(r, "Accept");
    if (accept == NULL || *accept == '\0')
        return 0;
    char *copy = strdup(accept), *save = NULL;
    int found = -1;
    for (char *range = strtok_r(copy, ",", &save); range != NULL && found < 0;
         range = strtok_r(NULL, ",", &save)) {
        char *params = strchr(range, ';');
        bool refused = false;
        if (params != NULL) {
            *params++ = '\0';
            const char *q = strstr(params, "q=");
            refused = q != NULL && strtod(q + 2, NULL) <= 0.0;
        }
        while (*range == ' ' || *range == '\t')
            range++;
        size_t n = strlen(range);
        while (n > 0 && (range[n - 1] == ' ' || range[n - 1] == '\t'))
            range[--n] = '\0';
        if (refused)
            continue;
        if (strcasecmp(range, "text/csv") == 0 || strcasecmp(range, "text/*") == 0)
            found = 1;
        else if (strcasecmp(range, "application/json") == 0 ||
                 strcasecmp(range, "application/*") == 0 || strcmp(range, "*/*") == 0)
            found = 0;
    }
    free(copy);
    return found;
}

/* ==== RFC 4180 CSV ======================================================================== */

/* One field, quoted when it holds a comma, a quote, CR or LF, with quotes doubled. A text cell
 * that a spreadsheet would read as a formula (it begins with = + - @, a tab or a CR) gets a
 * leading apostrophe (OWASP "CSV injection"); numbers are ours and never need it. */
static void csv_field(struct buf *c, bool first, const char *s, bool text) {
    if (!first)
        buf_putc(c, ',');
    bool quoted = strpbrk(s, ",\"\r\n") != NULL;
    if (quoted)
        buf_putc(c, '"');
    if (text && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL)
        buf_putc(c, '\'');
    for (const char *p = s; *p != '\0';) {
        size_t run = strcspn(p, "\"");
        buf_put(c, p, run);
        p += run;
        if (*p == '"') {
            buf_puts(c, "\"\"");
            p++;
        }
    }
    if (quoted)
        buf_putc(c, '"');
}

static void csv_value(struct buf *c, bool first, json_t *v) {
    char num[32];
    if (json_is_string(v)) {
        csv_field(c, first, json_string_value(v), true);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        csv_field(c, first, num, false);
    } else {
        csv_field(c, first, "", false);
    }
}

static const char *const MEASURES[] = {"vouchers_issued_fen",
                                       "vouchers_issued_count",
                                       "redeemed_fen",
                                       "reversed_fen",
                                       "released_fen",
                                       "orders",
                                       "gross_fen",
                                       "subsidy_fen",
                                       "net_fen",
                                       NULL};

/* The columns of a report: each group's key (and name) in the order asked, then the measures. */
static json_t *csv_columns(json_t *report) {
    json_t *cols = json_array(), *g;
    size_t i;
    json_array_foreach(json_object_get(report, "group_by"), i, g) {
        const char *name = json_string_value(g);
        if (strcmp(name, "region") == 0 || strcmp(name, "zone") == 0 ||
            strcmp(name, "month") == 0 || strcmp(name, "funder") == 0) {
            json_array_append_new(cols, json_string(name));
        } else {
            json_array_append_new(cols, json_sprintf("%s_id", name));
            json_array_append_new(cols, json_sprintf("%s_name", name));
        }
    }
    for (const char *const *m = MEASURES; *m; m++)
        json_array_append_new(cols, json_string(*m));
    return cols;
}

/* The report as RFC 4180 CSV with a header row and CRLF line ends; malloc'd, NULL when out of
 * memory. */
static char *report_csv(json_t *report, size_t *len) {
    struct buf c = {0};
    json_t *cols = csv_columns(report), *col, *item;
    size_t i, j;
    json_array_foreach(cols, j, col) csv_field(&c, j == 0, json_string_value(col), false);
    buf_puts(&c, "\r\n");
    json_array_foreach(json_object_get(report, "items"), i, item) {
        json_array_foreach(cols, j, col)
            csv_value(&c, j == 0, json_object_get(item, json_string_value(col)));
        buf_puts(&c, "\r\n");
    }
    json_decref(cols);
    if (c.oom) {
        buf_free(&c);
        return NULL;
    }
    *len = c.len;
    return c.p;
}

/* ==== handlers ============================================================================ */

static const char SQL_SUBSIDIES[] =
    "SELECT report_subsidies($1::jsonb, $2::text[], $3::timestamptz, $4::timestamptz)";
static const char SQL_ANOMALIES[] = "SELECT report_anomalies($1::jsonb, $2::uuid, $3::int)";

void api_reports_subsidies(struct http_req *r) {
    const char *group_by, *from, *to;
    const struct query_field query[] = {
        QF_SET("group_by", &group_by, GROUPS),
        QF_TIME("from", &from),
        QF_TIME("to", &to),
        QF_END,
    };
    if (!qf_decode(r, query))
        return;
    int format = report_format(r);
    if (format < 0) {
        http_problem(r, P_NOT_ACCEPTABLE, "Accept: this report is application/json or text/csv");
        return;
    }
    http_add_header(r, "Vary", "Accept");
    char groups[128]; /* a PostgreSQL array literal of the known names */
    snprintf(groups, sizeof groups, "{%s}", group_by ? group_by : "");
    const char *params[] = {api_actor(r), groups, from, to};
    if (format == 0) {
        api_reply_sql_read(r, 200, SQL_SUBSIDIES, 4, params, "no report");
        return;
    }
    PGresult *res;
    int rc = db_exec_read(SQL_SUBSIDIES, 4, params, &res);
    if (rc < 0) {
        http_db_fail(r, rc);
        return;
    }
    json_t *report = rc == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    size_t len = 0;
    char *csv = report ? report_csv(report, &len) : NULL;
    json_decref(report);
    if (csv == NULL) {
        http_problem(r, P_INTERNAL, "the report could not be rendered");
        return;
    }
    http_reply_take(r, 200, "text/csv; charset=utf-8; header=present", csv, len);
    http_add_header(r, "Content-Disposition", "attachment; filename=\"suanli-subsidies.csv\"");
}

void api_reports_anomalies(struct http_req *r) {
    const char *program, *limit;
    const struct query_field query[] = {
        QF_UUID("program_id", &program),
        QF_INT("limit", &limit, 1, API_MAX_LIMIT, "100"),
        QF_END,
    };
    if (!qf_decode(r, query))
        return;
    const char *params[] = {api_actor(r), program, limit};
    api_reply_sql_read(r, 200, SQL_ANOMALIES, 3, params, "no such programme");
}

/* ==== shared with other CSV endpoints ===================================================== */

int api_report_format(struct http_req *r) {
    return report_format(r);
}

char *api_csv_rows(json_t *rows, const char *const *cols, size_t *len) {
    struct buf c = {0};
    json_t *row;
    size_t i;
    for (size_t j = 0; cols[j]; j++)
        csv_field(&c, j == 0, cols[j], false);
    buf_puts(&c, "\r\n");
    json_array_foreach(rows, i, row) {
        for (size_t j = 0; cols[j]; j++)
            csv_value(&c, j == 0, json_object_get(row, cols[j]));
        buf_puts(&c, "\r\n");
    }
    if (c.oom) {
        buf_free(&c);
        return NULL;
    }
    *len = c.len;
    return c.p;
}

static const char SQL_PERFORMANCE[] =
    "SELECT report_performance($1::jsonb, $2::uuid, $3::timestamptz, $4::timestamptz)";
static const char SQL_PERFORMANCE_CSV[] = "SELECT report_performance_csv("
                                          "report_performance($1::jsonb, $2::uuid, "
                                          "$3::timestamptz, $4::timestamptz))";
static const char *const FORMATS[] = {"json", "csv", NULL};

/* ?format=csv (for a download link, which cannot set Accept) wins over the Accept header. */
void api_reports_performance(struct http_req *r) {
    const char *program, *from, *to, *format_name;
    const struct query_field query[] = {
        QF_UUID("program_id", &program),
        QF_TIME("from", &from),
        QF_TIME("to", &to),
        QF_ENUM("format", &format_name, FORMATS),
        QF_END,
    };
    if (!qf_decode(r, query))
        return;
    int format = format_name != NULL ? strcmp(format_name, "csv") == 0 : report_format(r);
    if (format < 0) {
        http_problem(r, P_NOT_ACCEPTABLE, "Accept: this report is application/json or text/csv");
        return;
    }
    http_add_header(r, "Vary", "Accept");
    const char *params[] = {api_actor(r), program, from, to};
    if (format == 0) {
        api_reply_sql_read(r, 200, SQL_PERFORMANCE, 4, params, "no such programme");
        return;
    }
    PGresult *res;
    int rc = db_exec_read(SQL_PERFORMANCE_CSV, 4, params, &res);
    if (rc < 0) {
        http_db_fail(r, rc);
        return;
    }
    if (rc == 0 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        http_problem(r, P_NOT_FOUND, "no such programme");
        return;
    }
    http_reply_raw(r, 200, "text/csv; charset=utf-8; header=present", PQgetvalue(res, 0, 0),
                   (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    http_add_header(r, "Content-Disposition", "attachment; filename=\"suanli-performance.csv\"");
}
