/*
 * jsonw.h — a small streaming JSON writer into a pl_buf_t, for hot read paths where building
 * a jansson tree only to serialise it would cost more than the rest of the request.
 *
 * The writer tracks commas itself: callers emit key/value pairs and nested containers in
 * order. Strings are escaped; pl_jw_raw() inserts text that is already JSON (e.g. a column
 * that stores compact JSON written by jansson).
 */
#ifndef PL_JSONW_H
#define PL_JSONW_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

#define PL_JW_MAX_DEPTH 32

typedef struct pl_jw {
    pl_buf_t *b;
    int depth;
    bool need_comma[PL_JW_MAX_DEPTH];
} pl_jw_t;

void pl_jw_init(pl_jw_t *w, pl_buf_t *b);
void pl_jw_obj(pl_jw_t *w); /* { */
void pl_jw_arr(pl_jw_t *w); /* [ */
void pl_jw_end_obj(pl_jw_t *w);
void pl_jw_end_arr(pl_jw_t *w);
void pl_jw_key(pl_jw_t *w, const char *key);
void pl_jw_str(pl_jw_t *w, const char *s); /* NULL → null */
void pl_jw_int(pl_jw_t *w, int64_t v);
void pl_jw_bool(pl_jw_t *w, bool v);
void pl_jw_null(pl_jw_t *w);
void pl_jw_raw(pl_jw_t *w, const char *json);
/* RFC 3339 UTC; 0 → null when zero_is_null. */
void pl_jw_time(pl_jw_t *w, int64_t ms, bool zero_is_null);

#endif
