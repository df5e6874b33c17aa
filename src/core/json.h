/*
 * json.h — request-body parsing and declarative input schemas on top of jansson.
 *
 * A route declares a pl_schema_t; the pipeline parses the body with pl_json_parse_body()
 * (depth limit, strict UTF-8, no duplicate keys, an object at the top) and validates it
 * with pl_schema_validate(), which reports every bad field at once. Handlers therefore
 * read fields without re-checking types. The same schema renders into the OpenAPI
 * document (pl_schema_openapi), so the two cannot drift apart.
 */
#ifndef PL_JSON_H
#define PL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define PL_JSON_MAX_DEPTH 64

typedef enum pl_type {
    PL_T_STRING = 1,
    PL_T_INT,
    PL_T_BOOL,
    PL_T_OBJECT, /* with sub: a nested schema; without: free-form, max = max bytes */
    PL_T_ARRAY,  /* of strings; min/max = number of items */
    PL_T_EMAIL,
    PL_T_ENUM, /* a string among values[] */
} pl_type_t;

#define PL_F_REQUIRED 1u
#define PL_F_NULLABLE 2u

typedef struct pl_schema pl_schema_t;

typedef struct pl_field {
    const char *name;
    pl_type_t type;
    unsigned flags;
    long min, max;             /* string length in characters, integer value, items, bytes; max 0 = none */
    const char *const *values; /* PL_T_ENUM: NULL-terminated */
    const pl_schema_t *sub;
    const char *doc;
    /* Strings only: a semantic check after the type check; returns NULL when the value is
     * acceptable, else the message for the field error ("is not a known time zone"). */
    const char *(*check)(const char *value);
} pl_field_t;

struct pl_schema {
    const char *name;         /* OpenAPI component name */
    const pl_field_t *fields; /* terminated by a field with name == NULL */
    bool open;                /* unknown fields allowed */
};

/* Parses body into an object. Errors are PL_EBADREQ (400) with a field "body". */
int pl_json_parse_body(const char *data, size_t len, json_t **out, pl_err_t *err);
/* Returns the nesting depth of a JSON text, without parsing it (strings are skipped). */
int pl_json_depth(const char *data, size_t len);
/* Validates obj against s; fills err with every failure; returns 0 or PL_EINVAL. */
int pl_schema_validate(const pl_schema_t *s, json_t *obj, pl_err_t *err);
json_t *pl_schema_openapi(const pl_schema_t *s);

bool pl_utf8_valid(const char *s, size_t len);
size_t pl_utf8_chars(const char *s, size_t len);
bool pl_email_valid(const char *s);

/* Convenience getters: NULL / default when absent or of another type. */
const char *pl_json_str(json_t *obj, const char *key);
long long pl_json_int(json_t *obj, const char *key, long long dflt);
/* json_string, or json_null for NULL. */
json_t *pl_json_str_or_null(const char *s);

#endif
