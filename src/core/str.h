/*
 * str.h — non-owning string slices for parsing.
 *
 * A pl_str_t points into memory owned by someone else (a request, a row, a literal);
 * it is never freed and is not NUL-terminated unless the owner says so.
 */
#ifndef PL_STR_H
#define PL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct pl_str {
    const char *ptr;
    size_t len;
} pl_str_t;

#define PL_STR(lit) ((pl_str_t){(lit), sizeof(lit) - 1})
#define PL_STR_NULL ((pl_str_t){NULL, 0})

static inline pl_str_t pl_str(const char *s)
{
    return (pl_str_t){s, s ? strlen(s) : 0};
}

static inline bool pl_str_eq(pl_str_t a, pl_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool pl_str_eq_cstr(pl_str_t a, const char *b)
{
    return pl_str_eq(a, pl_str(b));
}

static inline bool pl_str_starts(pl_str_t a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && memcmp(a.ptr, prefix, n) == 0;
}

#endif
