/*
 * json.c — body parsing and schema validation (see json.h).
 */
#include "core/json.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

int pl_json_depth(const char *d, size_t n)
{
    int depth = 0, maxd = 0;
    size_t i;
    bool in_str = false;
    for (i = 0; i < n; i++) {
        char c = d[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"')
            in_str = true;
        else if (c == '{' || c == '[') {
            if (++depth > maxd)
                maxd = depth;
        } else if (c == '}' || c == ']')
            depth--;
    }
    return maxd;
}

bool pl_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            need = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1;
    }
    return true;
}

size_t pl_utf8_chars(const char *s, size_t len)
{
    size_t i, n = 0;
    for (i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            n++;
    return n;
}

bool pl_email_valid(const char *s)
{
    const char *at = strchr(s, '@'), *p, *dot;
    size_t n = strlen(s);
    if (at == NULL || at == s || n > 254 || (size_t)(at - s) > 64 || strchr(at + 1, '@'))
        return false;
    for (p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == '<' || *p == '>' || *p == '(' || *p == ')' || *p == ',' ||
            *p == ';' || *p == ':' || *p == '\\' || *p == '"' || *p == '[' || *p == ']')
            return false;
    dot = strrchr(at + 1, '.');
    if (dot == NULL || dot == at + 1 || dot[1] == '\0' || strstr(at + 1, ".."))
        return false;
    return at[1] != '.' && s[n - 1] != '.';
}

int pl_json_parse_body(const char *data, size_t len, json_t **out, pl_err_t *err)
{
    json_error_t je;
    json_t *j;
    *out = NULL;
    if (len == 0) {
        pl_err_set(err, PL_EBADREQ, NULL, "the request body is empty; a JSON object is expected");
        pl_err_field(err, "body", "a JSON object is required");
        return PL_EBADREQ;
    }
    if (!pl_utf8_valid(data, len)) {
        pl_err_set(err, PL_EBADREQ, NULL, "the request body is not valid UTF-8");
        pl_err_field(err, "body", "invalid UTF-8");
        return PL_EBADREQ;
    }
    if (pl_json_depth(data, len) > PL_JSON_MAX_DEPTH) {
        pl_err_set(err, PL_EBADREQ, NULL, "the request body nests deeper than %d levels", PL_JSON_MAX_DEPTH);
        pl_err_field(err, "body", "nesting deeper than %d", PL_JSON_MAX_DEPTH);
        return PL_EBADREQ;
    }
    j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL) {
        pl_err_set(err, PL_EBADREQ, NULL, "malformed JSON at line %d, column %d: %s", je.line, je.column,
                   je.text);
        pl_err_field(err, "body", "malformed JSON: %s", je.text);
        return PL_EBADREQ;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        pl_err_set(err, PL_EBADREQ, NULL, "the request body must be a JSON object");
        pl_err_field(err, "body", "must be a JSON object");
        return PL_EBADREQ;
    }
    *out = j;
    return 0;
}

static const char *type_name(pl_type_t t)
{
    switch (t) {
    case PL_T_STRING:
    case PL_T_EMAIL:
    case PL_T_ENUM:
        return "a string";
    case PL_T_INT:
        return "an integer";
    case PL_T_BOOL:
        return "a boolean";
    case PL_T_OBJECT:
        return "an object";
    case PL_T_ARRAY:
        return "an array";
    }
    return "a value";
}

static void validate_value(const pl_field_t *f, json_t *v, const char *path, pl_err_t *err);

static void validate_object(const pl_schema_t *s, json_t *obj, const char *prefix, pl_err_t *err)
{
    const pl_field_t *f;
    const char *key;
    json_t *v;
    char path[128];

    for (f = s->fields; f->name; f++) {
        snprintf(path, sizeof(path), "%s%s", prefix, f->name);
        v = json_object_get(obj, f->name);
        if (v == NULL) {
            if (f->flags & PL_F_REQUIRED)
                pl_err_field(err, path, "is required");
            continue;
        }
        if (json_is_null(v)) {
            if (!(f->flags & PL_F_NULLABLE))
                pl_err_field(err, path, "must not be null");
            continue;
        }
        validate_value(f, v, path, err);
    }
    if (!s->open) {
        json_object_foreach(obj, key, v)
        {
            bool known = false;
            for (f = s->fields; f->name; f++)
                if (strcmp(f->name, key) == 0)
                    known = true;
            if (!known) {
                snprintf(path, sizeof(path), "%s%s", prefix, key);
                pl_err_field(err, path, "is not a known field");
            }
        }
    }
}

static void validate_value(const pl_field_t *f, json_t *v, const char *path, pl_err_t *err)
{
    const char *const *e;
    size_t n, i;
    char sub[160];

    switch (f->type) {
    case PL_T_STRING:
    case PL_T_EMAIL:
    case PL_T_ENUM:
        if (!json_is_string(v)) {
            pl_err_field(err, path, "must be %s", type_name(f->type));
            return;
        }
        n = pl_utf8_chars(json_string_value(v), json_string_length(v));
        if (f->type == PL_T_EMAIL) {
            if (!pl_email_valid(json_string_value(v)))
                pl_err_field(err, path, "must be a valid email address");
            return;
        }
        if (f->type == PL_T_ENUM) {
            for (e = f->values; *e; e++)
                if (strcmp(*e, json_string_value(v)) == 0)
                    return;
            pl_err_field(err, path, "must be one of the allowed values");
            return;
        }
        if (f->min && n < (size_t)f->min)
            pl_err_field(err, path, "must be at least %ld characters", f->min);
        else if (f->max && n > (size_t)f->max)
            pl_err_field(err, path, "must be at most %ld characters", f->max);
        else if (f->check) {
            const char *why = f->check(json_string_value(v));
            if (why)
                pl_err_field(err, path, "%s", why);
        }
        return;
    case PL_T_INT:
        if (!json_is_integer(v)) {
            pl_err_field(err, path, "must be an integer");
            return;
        }
        if (json_integer_value(v) < f->min || (f->max && json_integer_value(v) > f->max))
            pl_err_field(err, path, "must be between %ld and %ld", f->min, f->max);
        return;
    case PL_T_BOOL:
        if (!json_is_boolean(v))
            pl_err_field(err, path, "must be a boolean");
        return;
    case PL_T_OBJECT:
        if (!json_is_object(v)) {
            pl_err_field(err, path, "must be an object");
            return;
        }
        if (f->sub) {
            snprintf(sub, sizeof(sub), "%s.", path);
            validate_object(f->sub, v, sub, err);
        } else if (f->max) {
            char *dump = json_dumps(v, JSON_COMPACT);
            if (dump && strlen(dump) > (size_t)f->max)
                pl_err_field(err, path, "must be at most %ld bytes as JSON", f->max);
            free(dump);
        }
        return;
    case PL_T_ARRAY:
        if (!json_is_array(v)) {
            pl_err_field(err, path, "must be an array");
            return;
        }
        n = json_array_size(v);
        if ((f->min && n < (size_t)f->min) || (f->max && n > (size_t)f->max)) {
            pl_err_field(err, path, "must have between %ld and %ld items", f->min, f->max);
            return;
        }
        for (i = 0; i < n; i++)
            if (!json_is_string(json_array_get(v, i)) || json_string_length(json_array_get(v, i)) == 0 ||
                json_string_length(json_array_get(v, i)) > 200) {
                snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                pl_err_field(err, sub, "must be a non-empty string of at most 200 characters");
            }
        return;
    }
}

int pl_schema_validate(const pl_schema_t *s, json_t *obj, pl_err_t *err)
{
    validate_object(s, obj, "", err);
    return err->status == PL_OK ? 0 : err->status;
}

json_t *pl_schema_openapi(const pl_schema_t *s)
{
    json_t *o = json_object(), *props = json_object(), *req = json_array();
    const pl_field_t *f;
    const char *const *e;
    json_object_set_new(o, "type", json_string("object"));
    for (f = s->fields; f->name; f++) {
        json_t *p = json_object();
        switch (f->type) {
        case PL_T_STRING:
            json_object_set_new(p, "type", json_string("string"));
            if (f->min)
                json_object_set_new(p, "minLength", json_integer(f->min));
            if (f->max)
                json_object_set_new(p, "maxLength", json_integer(f->max));
            break;
        case PL_T_EMAIL:
            json_object_set_new(p, "type", json_string("string"));
            json_object_set_new(p, "format", json_string("email"));
            break;
        case PL_T_ENUM: {
            json_t *vals = json_array();
            json_object_set_new(p, "type", json_string("string"));
            for (e = f->values; *e; e++)
                json_array_append_new(vals, json_string(*e));
            json_object_set_new(p, "enum", vals);
            break;
        }
        case PL_T_INT:
            json_object_set_new(p, "type", json_string("integer"));
            json_object_set_new(p, "minimum", json_integer(f->min));
            if (f->max)
                json_object_set_new(p, "maximum", json_integer(f->max));
            break;
        case PL_T_BOOL:
            json_object_set_new(p, "type", json_string("boolean"));
            break;
        case PL_T_OBJECT:
            json_decref(p);
            p = f->sub ? pl_schema_openapi(f->sub) : json_pack("{s:s}", "type", "object");
            break;
        case PL_T_ARRAY:
            json_object_set_new(p, "type", json_string("array"));
            json_object_set_new(p, "items", json_pack("{s:s}", "type", "string"));
            break;
        }
        if (f->flags & PL_F_NULLABLE) {
            json_t *t = json_object_get(p, "type");
            if (t && json_is_string(t))
                json_object_set_new(p, "type", json_pack("[s,s]", json_string_value(t), "null"));
        }
        if (f->doc)
            json_object_set_new(p, "description", json_string(f->doc));
        json_object_set_new(props, f->name, p);
        if (f->flags & PL_F_REQUIRED)
            json_array_append_new(req, json_string(f->name));
    }
    json_object_set_new(o, "properties", props);
    if (json_array_size(req))
        json_object_set_new(o, "required", req);
    else
        json_decref(req);
    json_object_set_new(o, "additionalProperties", json_boolean(s->open));
    return o;
}

const char *pl_json_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long pl_json_int(json_t *obj, const char *key, long long dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

json_t *pl_json_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}
