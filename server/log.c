/* log.c — structured logging: every line is a JSON object, written with one write(2) so that
 * lines from worker threads never interleave. */
#include "log.h"

#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

static _Thread_local const char *request_id;

void log_set_request(const char *id) {
    request_id = id;
}

void log_set_level(enum log_level level) {
    min_level = level;
}

int log_level_parse(const char *s) {
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

bool log_enabled(enum log_level level) {
    return level >= min_level;
}

void log_json(enum log_level level, json_t *fields) {
    if (level < min_level) {
        json_decref(fields);
        return;
    }
    char now[40];
    util_now_rfc3339(now, sizeof now);
    json_t *line = json_pack("{s:s, s:s}", "time", now, "level", level_names[level]);
    if (request_id != NULL)
        json_object_set_new(line, "request_id", json_string(request_id));
    json_object_update(line, fields);
    json_decref(fields);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL; the buffer is not used as a string again */
    ssize_t rc = write(STDERR_FILENO, text, len + 1);
    (void)rc;
    free(text);
}

void log_msg(enum log_level level, const char *fmt, ...) {
    if (level < min_level)
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    util_utf8_scrub(buf);
    log_json(level, json_pack("{s:s}", "msg", buf));
}
