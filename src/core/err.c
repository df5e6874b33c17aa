/*
 * err.c — the one table from pl_status to HTTP status, problem code and title.
 */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/banned.h"

static const struct {
    int status;
    int http;
    const char *code;
    const char *title;
} table[] = {
    {PL_EINVAL, 422, "validation_failed", "Validation failed"},
    {PL_EBADREQ, 400, "validation_failed", "Bad request"},
    {PL_ENOTFOUND, 404, "not_found", "Not found"},
    {PL_ECONFLICT, 409, "conflict", "Conflict"},
    {PL_EFORBIDDEN, 403, "forbidden", "Forbidden"},
    {PL_EUNAUTH, 401, "unauthorized", "Unauthorized"},
    {PL_ELIMIT, 403, "limit_exceeded", "Limit exceeded"},
    {PL_ETOOBIG, 413, "payload_too_large", "Payload too large"},
    {PL_EMETHOD, 405, "method_not_allowed", "Method not allowed"},
    {PL_EMEDIA, 415, "unsupported_media_type", "Unsupported media type"},
    {PL_ERATE, 429, "rate_limited", "Too many requests"},
    {PL_EUNAVAIL, 503, "unavailable", "Service unavailable"},
    {PL_EDB, 500, "internal_error", "Internal error"},
    {PL_EINTERNAL, 500, "internal_error", "Internal error"},
    {PL_EGONE, 410, "gone", "Gone"},
    {PL_EMOVED, 503, "tenant_moving", "Service unavailable"},
};

static int find(int status)
{
    size_t i;
    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].status == status)
            return (int)i;
    return (int)(sizeof(table) / sizeof(table[0])) - 2; /* internal */
}

/* snprintf may cut a multi-byte character in half; drop the partial tail so messages stay
 * valid UTF-8 (they are sent in JSON). */
static void utf8_trim(char *s)
{
    size_t n = strlen(s), i = n, need;
    unsigned char c;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
        i--;
    if (i == 0)
        return;
    c = (unsigned char)s[i - 1];
    need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (n - (i - 1) < need)
        s[i - 1] = '\0';
}

void pl_err_clear(pl_err_t *e)
{
    e->status = PL_OK;
    e->code = NULL;
    e->message[0] = '\0';
    e->nfields = 0;
}

int pl_err_set(pl_err_t *e, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    e->status = status;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    utf8_trim(e->message);
    return status;
}

void pl_err_field(pl_err_t *e, const char *field, const char *fmt, ...)
{
    va_list ap;
    pl_field_err_t *f;
    if (e->status == PL_OK) {
        e->status = PL_EINVAL;
        e->code = NULL;
        snprintf(e->message, sizeof(e->message), "the request has invalid fields");
    }
    if (e->nfields >= PL_ERR_MAX_FIELDS)
        return;
    f = &e->fields[e->nfields++];
    snprintf(f->field, sizeof(f->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
    utf8_trim(f->field);
    utf8_trim(f->message);
}

bool pl_err_is_set(const pl_err_t *e)
{
    return e->status != PL_OK;
}

int pl_status_http(int status)
{
    return table[find(status)].http;
}

const char *pl_status_code(int status)
{
    return table[find(status)].code;
}

const char *pl_status_title(int status)
{
    return table[find(status)].title;
}

const char *pl_err_code(const pl_err_t *e)
{
    return e->code ? e->code : pl_status_code(e->status);
}
