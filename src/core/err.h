/*
 * err.h — status codes and the error object every layer fills.
 *
 * Functions return 0 or a negative pl_status and, on failure, fill a pl_err_t: the status,
 * a stable machine-readable code (problem+json "code"), a lowercase concrete message and,
 * for validation, field errors. One table (err.c) maps a status to the HTTP status and the
 * default code; a caller may give a more specific code ("tenant_suspended").
 */
#ifndef PL_ERR_H
#define PL_ERR_H

#include <stdbool.h>

typedef enum pl_status {
    PL_OK = 0,
    PL_EINVAL = -1,     /* 422 validation_failed: well-formed input that breaks a rule */
    PL_EBADREQ = -2,    /* 400 validation_failed: malformed JSON, bad UTF-8, too deep */
    PL_ENOTFOUND = -3,  /* 404 not_found */
    PL_ECONFLICT = -4,  /* 409 conflict */
    PL_EFORBIDDEN = -5, /* 403 forbidden */
    PL_EUNAUTH = -6,    /* 401 unauthorized */
    PL_ELIMIT = -7,     /* 403 limit_exceeded */
    PL_ETOOBIG = -8,    /* 413 payload_too_large */
    PL_EMETHOD = -9,    /* 405 method_not_allowed */
    PL_EMEDIA = -10,    /* 415 unsupported_media_type */
    PL_ERATE = -11,     /* 429 rate_limited */
    PL_EUNAVAIL = -12,  /* 503 unavailable */
    PL_EDB = -13,       /* 500 internal_error: the store failed */
    PL_EINTERNAL = -14, /* 500 internal_error */
    PL_EGONE = -15,     /* 410 gone: an expired or used token */
    PL_EMOVED = -16,    /* 503 tenant_moving: the tenant's data is moving to another cell */
} pl_status;

#define PL_ERR_MAX_FIELDS 16

typedef struct pl_field_err {
    char field[64];
    char message[160];
} pl_field_err_t;

typedef struct pl_err {
    int status;       /* a pl_status */
    const char *code; /* NULL: the default code for status */
    char message[256];
    int nfields;
    pl_field_err_t fields[PL_ERR_MAX_FIELDS];
} pl_err_t;

void pl_err_clear(pl_err_t *e);
/* Sets status, code (NULL for the default) and a printf message; returns status. */
int pl_err_set(pl_err_t *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Adds a field error and makes the error a validation failure if it was not one yet. */
void pl_err_field(pl_err_t *e, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool pl_err_is_set(const pl_err_t *e);

int pl_status_http(int status);
const char *pl_status_code(int status);
const char *pl_status_title(int status);
const char *pl_err_code(const pl_err_t *e);

#endif
