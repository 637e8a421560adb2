/* log.h — one JSON object per line on stderr. */
#ifndef SUANLI_LOG_H
#define SUANLI_LOG_H

#include <jansson.h>
#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; -1 if none of them. */
int log_level_parse(const char *s);

/* Names the request the calling thread is serving (NULL: none): until it is cleared, every
 * line this thread logs carries "request_id" (as PgBouncer prefixes lines with the
 * connection). The dispatcher sets it; id must outlive the request. */
void log_set_request(const char *id);

/* printf-style message at level; the line carries time, level and msg. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether a line of this level would be written (SUANLI_LOG_LEVEL). */
bool log_enabled(enum log_level level);

/* Writes fields (stolen) as one line, adding time and level; used by the access log. */
void log_json(enum log_level level, json_t *fields);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
