/*
 * jsonw.c — streaming JSON writer (see jsonw.h).
 */
#include "core/jsonw.h"

#include <string.h>

#include "core/clock.h"
#include "core/banned.h"

void pl_jw_init(pl_jw_t *w, pl_buf_t *b)
{
    w->b = b;
    w->depth = 0;
    w->need_comma[0] = false;
}

static void value_start(pl_jw_t *w)
{
    if (w->need_comma[w->depth])
        pl_buf_addc(w->b, ',');
    w->need_comma[w->depth] = true;
}

static void open(pl_jw_t *w, char ch)
{
    value_start(w);
    pl_buf_addc(w->b, ch);
    if (w->depth < PL_JW_MAX_DEPTH - 1)
        w->depth++;
    w->need_comma[w->depth] = false;
}

static void close_(pl_jw_t *w, char ch)
{
    pl_buf_addc(w->b, ch);
    if (w->depth > 0)
        w->depth--;
}

void pl_jw_obj(pl_jw_t *w)
{
    open(w, '{');
}

void pl_jw_arr(pl_jw_t *w)
{
    open(w, '[');
}

void pl_jw_end_obj(pl_jw_t *w)
{
    close_(w, '}');
}

void pl_jw_end_arr(pl_jw_t *w)
{
    close_(w, ']');
}

void pl_jw_key(pl_jw_t *w, const char *key)
{
    value_start(w);
    pl_buf_addc(w->b, '"');
    pl_buf_add_json_escaped(w->b, key, strlen(key));
    pl_buf_add(w->b, "\":", 2);
    w->need_comma[w->depth] = false; /* the value follows without a comma */
}

static void after_value(pl_jw_t *w)
{
    w->need_comma[w->depth] = true;
}

void pl_jw_str(pl_jw_t *w, const char *s)
{
    value_start(w);
    if (s == NULL) {
        pl_buf_add(w->b, "null", 4);
    } else {
        pl_buf_addc(w->b, '"');
        pl_buf_add_json_escaped(w->b, s, strlen(s));
        pl_buf_addc(w->b, '"');
    }
    after_value(w);
}

void pl_jw_int(pl_jw_t *w, int64_t v)
{
    char tmp[24];
    int i = 23;
    uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    value_start(w);
    tmp[i] = '\0';
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    pl_buf_add(w->b, tmp + i, (size_t)(23 - i));
    after_value(w);
}

void pl_jw_bool(pl_jw_t *w, bool v)
{
    value_start(w);
    pl_buf_adds(w->b, v ? "true" : "false");
    after_value(w);
}

void pl_jw_null(pl_jw_t *w)
{
    value_start(w);
    pl_buf_add(w->b, "null", 4);
    after_value(w);
}

void pl_jw_raw(pl_jw_t *w, const char *json)
{
    value_start(w);
    pl_buf_adds(w->b, json);
    after_value(w);
}

void pl_jw_time(pl_jw_t *w, int64_t ms, bool zero_is_null)
{
    char t[40];
    if (ms == 0 && zero_is_null) {
        pl_jw_null(w);
        return;
    }
    value_start(w);
    pl_buf_addc(w->b, '"');
    pl_buf_adds(w->b, pl_rfc3339(ms, t, sizeof(t)));
    pl_buf_addc(w->b, '"');
    after_value(w);
}
