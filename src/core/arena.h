/*
 * arena.h — per-request memory.
 *
 * A pl_arena_t is h2o's memory pool: everything a request allocates lives in it and dies
 * with it (h2o clears req->pool when the request ends). Outside a request (the CLI, the
 * tests) an arena is initialised with pl_arena_init() and released with pl_arena_release().
 * Allocation never returns NULL: out of memory aborts. Sizes that come from users must be
 * checked by the caller before allocating.
 *
 * pl_arena_defer() registers a cleanup (e.g. json_decref of a parsed body) that runs
 * when the arena is cleared, so request code never calls free().
 */
#ifndef PL_ARENA_H
#define PL_ARENA_H

#include <stdarg.h>
#include <stddef.h>
#include <h2o/memory.h>

typedef h2o_mem_pool_t pl_arena_t;

void pl_arena_init(pl_arena_t *a);
void pl_arena_release(pl_arena_t *a);

void *pl_alloc(pl_arena_t *a, size_t n);
void *pl_zalloc(pl_arena_t *a, size_t n);
/* Copies len bytes (or strlen(s) when len == (size_t)-1) and NUL-terminates. */
char *pl_strndup(pl_arena_t *a, const char *s, size_t len);
char *pl_strdup(pl_arena_t *a, const char *s);
char *pl_printf(pl_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *pl_vprintf(pl_arena_t *a, const char *fmt, va_list ap);

/* Runs fn(arg) when the arena is cleared. */
void pl_arena_defer(pl_arena_t *a, void (*fn)(void *), void *arg);

#endif
