/*
 * log.h — structured JSON logs, one line per event, to stderr.
 *
 * Every line has "ts", "level" and "msg"; callers add more fields as a JSON fragment
 * ("\"request_id\":\"…\",\"tenant_id\":\"…\""), built with pl_buf_add_json_escaped for
 * user text. A line is written with one write(2), so lines from threads never interleave.
 * The level is set once at start (pl_log_init) and only read afterwards.
 */
#ifndef PL_LOG_H
#define PL_LOG_H

#include <stdbool.h>

typedef enum { PL_LOG_DEBUG = 0, PL_LOG_INFO = 1, PL_LOG_WARN = 2, PL_LOG_ERROR = 3 } pl_loglevel;

void pl_log_init(pl_loglevel level);
/* true when a line of this level would be written (to skip building it otherwise) */
bool pl_log_enabled(pl_loglevel level);
int pl_log_level_parse(const char *s, pl_loglevel *out);
/* fields: a JSON object body without braces, or NULL. */
void pl_log(pl_loglevel level, const char *msg, const char *fields);
void pl_logf(pl_loglevel level, const char *msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
