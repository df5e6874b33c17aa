/*
 * buf.h — an owning, growable byte buffer for building strings.
 *
 * Invariants: ptr is always NUL-terminated (ptr[len] == '\0') once anything was appended
 * or pl_buf_cstr() was called; cap > len. With an arena the memory belongs to the arena
 * (pl_buf_release is a no-op); without one it is malloc'd and pl_buf_release frees it.
 */
#ifndef PL_BUF_H
#define PL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

typedef struct pl_buf {
    char *ptr;
    size_t len;
    size_t cap;
    pl_arena_t *arena;
} pl_buf_t;

void pl_buf_init(pl_buf_t *b, pl_arena_t *arena);
void pl_buf_release(pl_buf_t *b);
void pl_buf_reserve(pl_buf_t *b, size_t extra);
void pl_buf_add(pl_buf_t *b, const void *data, size_t len);
void pl_buf_adds(pl_buf_t *b, const char *s);
void pl_buf_addc(pl_buf_t *b, char c);
/* Decimal digits of v, without printf (hot paths). */
void pl_buf_add_u64(pl_buf_t *b, uint64_t v);
void pl_buf_addf(pl_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with JSON string escaping (no surrounding quotes). */
void pl_buf_add_json_escaped(pl_buf_t *b, const char *s, size_t len);
const char *pl_buf_cstr(pl_buf_t *b);
void pl_buf_reset(pl_buf_t *b);

#endif
