/* web.c — the static web UI from SUANLI_WEB_DIR. Only a conservative set of path characters
 * is served, so no path can leave the directory. */
#include "api.h"

#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".woff2", "font/woff2"},
    {".map", "application/json"},
};

static const char *type_of(const char *path) {
    const char *dot = strrchr(path, '.');
    if (dot == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

static bool path_safe(const char *p) {
    if (p[0] != '/' || strstr(p, "..") != NULL || strstr(p, "//") != NULL || strlen(p) > 200)
        return false;
    for (const char *c = p; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '/' || *c == '.' || *c == '-' || *c == '_'))
            return false;
    return true;
}

void api_web_static(struct http_req *r) {
    const char *path = strcmp(r->url, "/") == 0 ? "/index.html" : r->url;
    const char *ctype = path_safe(path) ? type_of(path) : NULL;
    char file[PATH_MAX];
    size_t len;
    char *data = NULL;
    if (ctype != NULL && snprintf(file, sizeof file, "%s%s", cfg.web_dir, path) < (int)sizeof file)
        data = util_read_file(file, &len);
    if (data == NULL) {
        http_problem(r, P_ROUTE_NOT_FOUND, "no page %s", r->url);
        return;
    }
    http_reply_take(r, 200, ctype, data, len);
}

void api_system_docs(struct http_req *r) {
    if (!qf_decode(r, NULL))
        return;
    char file[PATH_MAX];
    size_t len;
    snprintf(file, sizeof file, "%s/docs.html", cfg.web_dir);
    char *data = util_read_file(file, &len);
    if (data == NULL) {
        http_problem(r, P_NOT_FOUND, "the documentation page is not installed");
        return;
    }
    http_reply_take(r, 200, "text/html; charset=utf-8", data, len);
}
