/*
 * ctx.c — helpers handlers use to read the request and build replies (see ctx.h).
 */
#include "http/ctx.h"

#include "app/cells.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/banned.h"

int pl_reply(pl_ctx_t *c, int status, json_t *body)
{
    if (c->resp)
        json_decref(c->resp);
    c->status = status;
    c->resp = body;
    return 0;
}

int pl_reply_empty(pl_ctx_t *c, int status)
{
    return pl_reply(c, status, NULL);
}

int pl_reply_raw(pl_ctx_t *c, int status, const char *content_type, const char *data, size_t len)
{
    c->status = status;
    c->raw = data;
    c->raw_len = len;
    c->raw_type = content_type;
    return 0;
}

int pl_reply_stream(pl_ctx_t *c, int status, const char *content_type, pl_stream_fn fill, void *state)
{
    c->status = status;
    c->raw_type = content_type;
    c->stream = fill;
    c->stream_state = state;
    return 0;
}

void pl_header(pl_ctx_t *c, const char *name, const char *value)
{
    /* h2o keeps the pointer: the value is copied into the request's pool */
    size_t n = strlen(value);
    h2o_add_header_by_str(&c->req->pool, &c->req->res.headers, name, strlen(name), 0, NULL,
                          pl_strndup(c->arena, value, n), n);
}

int pl_fail(pl_ctx_t *c, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    char msg[sizeof(c->err.message)];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return pl_err_set(&c->err, status, code, "%s", msg);
}

int pl_fail_notfound(pl_ctx_t *c, const char *what)
{
    return pl_fail(c, PL_ENOTFOUND, NULL, "%s not found", what);
}

const char *pl_param(pl_ctx_t *c, int i)
{
    if (i < 0 || i >= c->nparams)
        return "";
    return pl_strndup(c->arena, c->params[i].ptr, c->params[i].len);
}

const char *pl_qparam(const pl_qparam_t *q, int n, const char *name)
{
    int i;
    for (i = 0; i < n; i++)
        if (strcmp(q[i].name, name) == 0)
            return q[i].value;
    return NULL;
}

const char *pl_query(pl_ctx_t *c, const char *name)
{
    return pl_qparam(c->query, c->nquery, name);
}

int pl_tx_begin(pl_ctx_t *c, pl_txmode_t mode, const char *tenant_id)
{
    return pl_op_begin(&c->op, mode, tenant_id);
}

int pl_record(pl_ctx_t *c, const char *resource_id, json_t *before, json_t *after)
{
    return pl_op_record(
        &c->op, &(pl_change_t){
                    .action = c->route->audit, .resource_id = resource_id, .before = before, .after = after});
}

int pl_record_change(pl_ctx_t *c, pl_change_t change)
{
    if (change.action == NULL)
        change.action = c->route->audit;
    return pl_op_record(&c->op, &change);
}

int pl_reply_change(pl_ctx_t *c, int status, const char *resource_id, json_t *before, json_t *after)
{
    if (after == NULL) {
        json_decref(before);
        return pl_fail(c, PL_EDB, NULL, "the change could not be read back");
    }
    pl_record(c, resource_id, before, after);
    json_decref(before);
    return pl_reply(c, status, after);
}

int pl_reply_deleted(pl_ctx_t *c, const char *resource_id, json_t *before)
{
    pl_record(c, resource_id, before, NULL);
    json_decref(before);
    return pl_reply_empty(c, 204);
}

const void *pl_conf(pl_ctx_t *c, const pl_module_t *m)
{
    return pl_app_conf(c->app, m);
}

void pl_auth_changed(pl_ctx_t *c)
{
    c->auth_changed = true;
}

int pl_tx_commit(pl_ctx_t *c)
{
    if (pl_db_commit(c->db) != 0)
        return pl_fail(c, PL_EDB, NULL, "the transaction could not be committed");
    return 0;
}

void pl_tx_rollback(pl_ctx_t *c)
{
    pl_db_rollback(c->db);
}

/* ---- pagination ---- */

#define CURSOR_TAG "c1:"

char *pl_cursor_encode(pl_ctx_t *c, const char *key)
{
    size_t n = strlen(key) + sizeof(CURSOR_TAG) - 1;
    char *raw = pl_printf(c->arena, CURSOR_TAG "%s", key);
    size_t outlen = n * 4 / 3 + 8;
    char *out = pl_alloc(c->arena, outlen);
    pl_b64url_encode(raw, n, out, outlen);
    return out;
}

static const char *cursor_decode(pl_ctx_t *c, const char *cursor)
{
    size_t n = strlen(cursor);
    char *raw;
    long got;
    if (n == 0 || n > 1024)
        return NULL;
    raw = pl_alloc(c->arena, n + 1);
    got = pl_b64url_decode(cursor, n, raw, n);
    if (got <= (long)(sizeof(CURSOR_TAG) - 1) || memcmp(raw, CURSOR_TAG, sizeof(CURSOR_TAG) - 1) != 0)
        return NULL;
    raw[got] = '\0';
    if (strlen(raw) != (size_t)got || !pl_utf8_valid(raw, (size_t)got))
        return NULL;
    return raw + sizeof(CURSOR_TAG) - 1;
}

int pl_page_parse(pl_ctx_t *c, pl_page_t *p)
{
    const char *limit = pl_query(c, "limit"), *cursor = pl_query(c, "cursor"),
               *total = pl_query(c, "include_total");
    p->limit = 50;
    p->after = NULL;
    p->include_total = false;
    if (limit) {
        char *end;
        long v = strtol(limit, &end, 10);
        if (*limit == '\0' || *end != '\0' || v < 1 || v > 200)
            pl_err_field(&c->err, "limit", "must be an integer from 1 to 200");
        else
            p->limit = (int)v;
    }
    if (cursor && (p->after = cursor_decode(c, cursor)) == NULL)
        pl_err_field(&c->err, "cursor", "is not a valid cursor");
    if (total) {
        if (!strcmp(total, "true") || !strcmp(total, "1"))
            p->include_total = true;
        else if (strcmp(total, "false") && strcmp(total, "0"))
            pl_err_field(&c->err, "include_total", "must be true or false");
    }
    return c->err.status == PL_OK ? 0 : PL_EINVAL;
}

json_t *pl_page_envelope(pl_ctx_t *c, const pl_page_t *p, json_t *data, const char *key_field,
                         long long total)
{
    bool has_more = json_array_size(data) > (size_t)p->limit;
    const char *last_key = NULL;
    json_t *env;
    if (has_more) {
        json_t *k;
        json_array_remove(data, (size_t)p->limit);
        k = json_object_get(json_array_get(data, (size_t)p->limit - 1), key_field);
        last_key = json_is_integer(k) ? pl_printf(c->arena, "%lld", (long long)json_integer_value(k))
                                      : json_string_value(k);
    }
    env = json_pack("{s:o,s:b,s:o}", "data", data, "has_more", has_more, "next_cursor",
                    has_more && last_key ? json_string(pl_cursor_encode(c, last_key)) : json_null());
    if (p->include_total)
        json_object_set_new(env, "total", json_integer(total));
    return env;
}

const char *pl_query_prefix(pl_ctx_t *c, const char *name)
{
    const char *v = pl_query(c, name);
    size_t n = v ? strlen(v) : 0;
    if (n > 2 && v[n - 2] == '.' && v[n - 1] == '*')
        return pl_strndup(c->arena, v, n - 2);
    return v;
}

int pl_reply_list(pl_ctx_t *c, const char *sql, const char *count_sql, json_t *(*row)(pl_rows_t *),
                  const char *key_field)
{
    pl_page_t pg;
    pl_rows_t *r;
    json_t *data;
    int64_t total = -1;
    int rc;
    if (pl_page_parse(c, &pg) != 0)
        return c->err.status;
    if (pl_db_query(c->db, &r, sql,
                    PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(pg.after), PL_INT(pg.limit + 1))) != 0)
        return pl_fail(c, PL_EDB, NULL, "the list could not be read");
    data = json_array();
    while ((rc = pl_rows_next(r)) == 1)
        json_array_append_new(data, row(r));
    pl_rows_close(r);
    if (rc < 0 ||
        (pg.include_total && pl_db_int(c->db, &total, count_sql, PL_ARGS(PL_TEXT(c->tenant_id))) < 0)) {
        json_decref(data);
        return pl_fail(c, PL_EDB, NULL, "the list could not be read");
    }
    return pl_reply(c, 200, pl_page_envelope(c, &pg, data, key_field, total));
}

/* ---- rows to JSON ---- */

json_t *pl_query_one(pl_db_t *db, json_t *(*row)(pl_rows_t *), const char *sql, const pl_val_t *args,
                     int nargs)
{
    pl_rows_t *r;
    json_t *out = NULL;
    if (pl_db_query(db, &r, sql, args, nargs) != 0)
        return NULL;
    if (pl_rows_next(r) == 1)
        out = row(r);
    pl_rows_close(r);
    return out;
}

json_t *pl_query_all(pl_db_t *db, json_t *(*row)(pl_rows_t *), const char *sql, const pl_val_t *args,
                     int nargs)
{
    pl_rows_t *r;
    json_t *out;
    int rc;
    if (pl_db_query(db, &r, sql, args, nargs) != 0)
        return NULL;
    out = json_array();
    while ((rc = pl_rows_next(r)) == 1)
        json_array_append_new(out, row(r));
    pl_rows_close(r);
    if (rc < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

int pl_reply_all(pl_ctx_t *c, json_t *(*row)(pl_rows_t *), const char *sql, const char *what)
{
    json_t *data = pl_query_all(c->db, row, sql, PL_NOARGS);
    if (data == NULL)
        return pl_fail(c, PL_EDB, NULL, "the %s could not be read", what);
    return pl_reply(c, 200, json_pack("{s:o,s:b,s:n}", "data", data, "has_more", 0, "next_cursor"));
}

int pl_reply_all_cells(pl_ctx_t *c, json_t *(*row)(pl_rows_t *), const char *sql, const char *what)
{
    json_t *data = json_array();
    size_t k, i;
    for (k = 0; k < pl_app_ncells(c->app); k++) {
        const pl_cell_t *cell = pl_app_cell(c->app, k);
        pl_db_t *db = c->db;
        json_t *part, *v;
        if (k > 0 &&
            (pl_app_thread_db(c->app, c->thread, cell, &db) != 0 || pl_db_begin(db, PL_TX_READ, NULL) != 0))
            part = NULL;
        else
            part = pl_query_all(db, row, sql, PL_NOARGS);
        if (k > 0)
            pl_db_rollback(db);
        if (part == NULL) {
            json_decref(data);
            return pl_fail(c, PL_EDB, NULL, "the %s of cell %s could not be read", what, cell->name);
        }
        json_array_foreach(part, i, v)
        {
            json_object_set_new(v, "cell", json_string(cell->name));
            json_array_append(data, v);
        }
        json_decref(part);
    }
    return pl_reply(c, 200, json_pack("{s:o,s:b,s:n}", "data", data, "has_more", 0, "next_cursor"));
}

/* ---- values ---- */

char *pl_json_text(pl_ctx_t *c, json_t *v, const char *dflt)
{
    return pl_op_json_text(&c->op, v, dflt);
}

json_t *pl_json_time(int64_t ms)
{
    char buf[40];
    return json_string(pl_rfc3339(ms, buf, sizeof(buf)));
}

json_t *pl_json_time_or_null(pl_rows_t *r, int col)
{
    if (pl_rows_null(r, col))
        return json_null();
    return pl_json_time(pl_rows_int(r, col));
}

const char *pl_caller_id(const pl_ctx_t *c)
{
    return pl_principal_actor(c->principal);
}

char *pl_new_id(pl_ctx_t *c, const char *prefix)
{
    return pl_op_new_id(&c->op, prefix);
}

bool pl_id_ok(const char *s, const char *prefix)
{
    return s && pl_typeid_valid(s, strlen(s), prefix);
}
