/*
 * log.c — JSON log lines.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/banned.h"

static pl_loglevel min_level = PL_LOG_INFO; /* written once by pl_log_init before threads start */

static const char *names[] = {"debug", "info", "warn", "error"};

void pl_log_init(pl_loglevel level)
{
    min_level = level;
}

bool pl_log_enabled(pl_loglevel level)
{
    return level >= min_level;
}

int pl_log_level_parse(const char *s, pl_loglevel *out)
{
    int i;
    for (i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (pl_loglevel)i;
            return 0;
        }
    return -1;
}

void pl_log(pl_loglevel level, const char *msg, const char *fields)
{
    pl_buf_t b;
    char ts[40];
    ssize_t w;
    if (level < min_level)
        return;
    pl_buf_init(&b, NULL);
    pl_buf_adds(&b, "{\"ts\":\"");
    pl_buf_adds(&b, pl_rfc3339(pl_now_ms(), ts, sizeof(ts)));
    pl_buf_adds(&b, "\",\"level\":\"");
    pl_buf_adds(&b, names[level]);
    pl_buf_adds(&b, "\",\"msg\":\"");
    pl_buf_add_json_escaped(&b, msg, strlen(msg));
    pl_buf_addc(&b, '"');
    if (fields && *fields) {
        pl_buf_addc(&b, ',');
        pl_buf_adds(&b, fields);
    }
    pl_buf_adds(&b, "}\n");
    w = write(STDERR_FILENO, b.ptr, b.len);
    (void)w;
    pl_buf_release(&b);
}

void pl_logf(pl_loglevel level, const char *msg, const char *fmt, ...)
{
    char detail[1024];
    pl_buf_t f;
    va_list ap;
    if (level < min_level)
        return;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    pl_buf_init(&f, NULL);
    pl_buf_adds(&f, "\"detail\":\"");
    pl_buf_add_json_escaped(&f, detail, strlen(detail));
    pl_buf_addc(&f, '"');
    pl_log(level, msg, f.ptr);
    pl_buf_release(&f);
}
