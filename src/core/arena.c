/*
 * arena.c — thin layer over h2o_mem_pool_t: allocation helpers and cleanup handlers.
 */
#include "core/arena.h"

#include <stdio.h>
#include <string.h>

#include "core/banned.h"

void pl_arena_init(pl_arena_t *a)
{
    h2o_mem_init_pool(a);
}

void pl_arena_release(pl_arena_t *a)
{
    h2o_mem_clear_pool(a);
}

void *pl_alloc(pl_arena_t *a, size_t n)
{
    return h2o_mem_alloc_pool(a, n ? n : 1);
}

void *pl_zalloc(pl_arena_t *a, size_t n)
{
    void *p = pl_alloc(a, n);
    memset(p, 0, n ? n : 1);
    return p;
}

char *pl_strndup(pl_arena_t *a, const char *s, size_t len)
{
    char *d;
    if (s == NULL)
        return NULL;
    if (len == (size_t)-1)
        len = strlen(s);
    d = pl_alloc(a, len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *pl_strdup(pl_arena_t *a, const char *s)
{
    return pl_strndup(a, s, (size_t)-1);
}

char *pl_vprintf(pl_arena_t *a, const char *fmt, va_list ap)
{
    va_list ap2;
    char small[256];
    int n;
    char *out;

    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return pl_strdup(a, "");
    out = pl_alloc(a, (size_t)n + 1);
    if ((size_t)n < sizeof(small))
        memcpy(out, small, (size_t)n + 1);
    else
        vsnprintf(out, (size_t)n + 1, fmt, ap);
    return out;
}

char *pl_printf(pl_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    s = pl_vprintf(a, fmt, ap);
    va_end(ap);
    return s;
}

struct deferred {
    void (*fn)(void *);
    void *arg;
};

static void run_deferred(void *p)
{
    struct deferred *d = p;
    d->fn(d->arg);
}

void pl_arena_defer(pl_arena_t *a, void (*fn)(void *), void *arg)
{
    struct deferred *d = h2o_mem_alloc_shared(a, sizeof(*d), run_deferred);
    d->fn = fn;
    d->arg = arg;
}
