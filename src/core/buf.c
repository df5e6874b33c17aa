/*
 * buf.c — growable buffer (see buf.h for invariants).
 */
#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

void pl_buf_init(pl_buf_t *b, pl_arena_t *arena)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->arena = arena;
}

void pl_buf_release(pl_buf_t *b)
{
    if (b->arena == NULL)
        free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
}

void pl_buf_reserve(pl_buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1, ncap;
    char *np;
    if (need <= b->cap)
        return;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap *= 2;
    if (b->arena) {
        np = pl_alloc(b->arena, ncap);
        if (b->len)
            memcpy(np, b->ptr, b->len);
    } else {
        np = realloc(b->ptr, ncap);
        if (np == NULL)
            abort();
    }
    b->ptr = np;
    b->cap = ncap;
    b->ptr[b->len] = '\0';
}

void pl_buf_add(pl_buf_t *b, const void *data, size_t len)
{
    pl_buf_reserve(b, len);
    if (len)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
}

void pl_buf_adds(pl_buf_t *b, const char *s)
{
    pl_buf_add(b, s, strlen(s));
}

void pl_buf_addc(pl_buf_t *b, char c)
{
    pl_buf_add(b, &c, 1);
}

void pl_buf_addf(pl_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    pl_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void pl_buf_add_json_escaped(pl_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            pl_buf_add(b, "\\\"", 2);
            break;
        case '\\':
            pl_buf_add(b, "\\\\", 2);
            break;
        case '\n':
            pl_buf_add(b, "\\n", 2);
            break;
        case '\r':
            pl_buf_add(b, "\\r", 2);
            break;
        case '\t':
            pl_buf_add(b, "\\t", 2);
            break;
        default:
            if (c < 0x20) {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                pl_buf_add(b, e, 6);
            } else {
                pl_buf_addc(b, (char)c);
            }
        }
    }
}

const char *pl_buf_cstr(pl_buf_t *b)
{
    pl_buf_reserve(b, 0);
    return b->ptr;
}

void pl_buf_reset(pl_buf_t *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

void pl_buf_add_u64(pl_buf_t *b, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    pl_buf_add(b, tmp + sizeof(tmp) - n, n);
}
