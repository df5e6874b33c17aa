/*
 * ctx.h — the request context every handler receives, and the helpers handlers use.
 *
 * A pl_ctx_t lives for one request, in the request's arena. It embeds the transport-free
 * operation context (app/op.h): c->db, c->arena, c->tenant_id, c->principal, c->err … are
 * the operation's, and &c->op is what domain code takes. By the time a handler runs, the
 * pipeline has: matched the route and its path parameters, authenticated the caller
 * (c->principal), resolved the tenant (c->tenant_id), checked the permission, parsed and
 * validated the JSON body against the route's schema (c->body), run the route's prepare
 * step (slow work such as password hashing, outside any transaction), and — unless the route
 * says PL_R_OWN_TX — opened a transaction on c->db in the tenant's context (write for
 * POST/PATCH/PUT/DELETE, read for GET). A handler records what it changed (pl_record); when
 * it succeeds, the pipeline runs the commit step (audit entries, events, the idempotent
 * response, commit — one transaction) and rolls everything back otherwise, so a failed
 * request writes nothing.
 *
 * A handler returns 0 after pl_reply()/pl_reply_empty(), or a negative pl_status after
 * filling c->err (pl_fail()).
 */
#ifndef PL_CTX_H
#define PL_CTX_H

#include <h2o.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "core/typeid.h"
#include "app/app.h"
#include "app/op.h"
#include "app/principal.h"
#include "http/router.h"
#include "store/store.h"

typedef struct pl_qparam {
    const char *name;
    const char *value;
} pl_qparam_t;

typedef struct pl_ctx pl_ctx_t;
/* Produces the next chunk of a streamed response into out: returns 1 (more follows), 0 (that
 * was the last chunk) or <0 (failure: the response ends early and the error is logged). */
typedef int (*pl_stream_fn)(pl_ctx_t *c, void *state, pl_buf_t *out);

struct pl_ctx {
    union {
        pl_op_t op; /* what domain code takes: &c->op */
        struct {
            PL_OP_FIELDS
        };
    };
    h2o_req_t *req;
    const pl_route_t *route;
    json_t *body; /* validated JSON body (an object), or NULL */
    void *prep;   /* what the route's prepare step left for the handler (arena) */
    pl_str_t params[PL_MAX_PARAMS];
    int nparams;
    pl_qparam_t *query;
    int nquery;
    int status;
    json_t *resp;    /* owned until sent */
    const char *raw; /* a pre-rendered body (pl_reply_raw), not owned */
    size_t raw_len;
    const char *raw_type;
    pl_stream_fn stream; /* see pl_reply_stream() */
    void *stream_state;
    bool detached; /* the handler answers by itself, over time (event streams) */
};

/* ---- recording changes (the commit step writes their audit entries and events) ---- */
/* Records a change of resource_id by this route: the route's audit action, the tenant of the
 * request. before/after are borrowed (NULL: created / deleted). */
int pl_record(pl_ctx_t *c, const char *resource_id, json_t *before, json_t *after);
/* The same with every field of the change given (action NULL: the route's). */
int pl_record_change(pl_ctx_t *c, pl_change_t change);
/* The common end of a mutation: records the change of resource_id by this route and answers
 * after with status. Takes both references (before may be NULL: created). A NULL after — the
 * read-back failed — answers an error, never a 2xx with an empty body. */
int pl_reply_change(pl_ctx_t *c, int status, const char *resource_id, json_t *before, json_t *after);

/* The common end of a delete: records the removal of resource_id (before: its last state,
 * reference taken) and answers 204. */
int pl_reply_deleted(pl_ctx_t *c, const char *resource_id, json_t *before);

/* ---- replying ---- */
/* Sends body (ownership taken) with status. Returns 0. */
int pl_reply(pl_ctx_t *c, int status, json_t *body);
int pl_reply_empty(pl_ctx_t *c, int status);
/* Streams the body chunk by chunk (exports). fill runs after the handler returns, outside its
 * transaction, on the worker's connection, interleaved with other requests: it must not keep
 * a cursor open between chunks. state lives in the request arena. */
int pl_reply_stream(pl_ctx_t *c, int status, const char *content_type, pl_stream_fn fill, void *state);
/* Sends bytes that outlive the request (e.g. the cached OpenAPI document). */
int pl_reply_raw(pl_ctx_t *c, int status, const char *content_type, const char *data, size_t len);
/* Adds a response header; name must be a literal (or outlive the request), value is copied. */
void pl_header(pl_ctx_t *c, const char *name, const char *value);
/* Fills c->err and returns status. */
int pl_fail(pl_ctx_t *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 404 "<what> not found" — the answer for absent and foreign resources alike. */
int pl_fail_notfound(pl_ctx_t *c, const char *what);

/* ---- reading the request ---- */
/* Path parameter i as a NUL-terminated arena string. */
const char *pl_param(pl_ctx_t *c, int i);
/* Decoded query parameter, or NULL. */
const char *pl_query(pl_ctx_t *c, const char *name);
/* The value of name in a parameter list (the request's, or one a job recorded), or NULL. */
const char *pl_qparam(const pl_qparam_t *q, int n, const char *name);

/* A filter on dotted names ("member", "member.*": member and member.…; "member.created":
 * only that); matched literally, never as a pattern. Use with PL_SQL_DOTTED_PREFIX. */
const char *pl_query_prefix(pl_ctx_t *c, const char *name);
/* col = $n, or col starts with $n followed by a dot (portable SQL, no LIKE). */
#define PL_SQL_DOTTED_PREFIX(col, n)                                                                         \
    "(" col " = $" #n " OR substr(" col ", 1, length($" #n ") + 1) = $" #n " || '.')"

/* The module's option struct (pl_app_conf). */
const void *pl_conf(pl_ctx_t *c, const pl_module_t *m);

/* ---- transactions, for PL_R_OWN_TX routes ---- */
int pl_tx_begin(pl_ctx_t *c, pl_txmode_t mode, const char *tenant_id);
int pl_tx_commit(pl_ctx_t *c);
void pl_tx_rollback(pl_ctx_t *c);

/* ---- lists: {"data", "has_more", "next_cursor", "total"?} ---- */
typedef struct pl_page {
    int limit;         /* 1..200, default 50 */
    const char *after; /* decoded cursor key, or NULL */
    bool include_total;
} pl_page_t;

/* Parses limit, cursor, include_total. On error fills c->err and returns PL_EINVAL. */
int pl_page_parse(pl_ctx_t *c, pl_page_t *p);
/* Builds the envelope (data ownership taken). data holds rows fetched with LIMIT limit+1:
 * the extra row is dropped and sets has_more; the cursor is the key_field of the last row
 * kept. total < 0 when not counted. */
json_t *pl_page_envelope(pl_ctx_t *c, const pl_page_t *p, json_t *data, const char *key_field,
                         long long total);
char *pl_cursor_encode(pl_ctx_t *c, const char *key);
/* The common tenant-scoped keyset list: parses the page, runs sql with ($1 tenant id,
 * $2 cursor key or NULL, $3 limit + 1), renders each row with row(), counts with count_sql
 * ($1 tenant id) when include_total is asked, and replies with the envelope. */
int pl_reply_list(pl_ctx_t *c, const char *sql, const char *count_sql, json_t *(*row)(pl_rows_t *),
                  const char *key_field);
/* The statements of the plainest list: a table's rows of the tenant in id order (cols, table:
 * string literals). */
#define PL_LIST_BY_ID_SQL(cols, table)                                                                       \
    "SELECT " cols " FROM " table " WHERE tenant_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
#define PL_COUNT_SQL(table) "SELECT COUNT(*) FROM " table " WHERE tenant_id = $1"

/* ---- rows to JSON ---- */
/* The first row of sql rendered by row(), or NULL (no row or an error). */
json_t *pl_query_one(pl_db_t *db, json_t *(*row)(pl_rows_t *), const char *sql, const pl_val_t *args,
                     int nargs);
/* Replies with every row of sql (no arguments) in the list envelope, for short, unpaged lists
 * (plans, flags); what names them in the error. */
int pl_reply_all(pl_ctx_t *c, json_t *(*row)(pl_rows_t *), const char *sql, const char *what);
/* pl_reply_all over every cell (operator views), each row with its "cell". */
int pl_reply_all_cells(pl_ctx_t *c, json_t *(*row)(pl_rows_t *), const char *sql, const char *what);
/* Every row of sql rendered by row() into an array, or NULL on error. */
json_t *pl_query_all(pl_db_t *db, json_t *(*row)(pl_rows_t *), const char *sql, const pl_val_t *args,
                     int nargs);

/* ---- values ---- */
/* Compact JSON text of v in the arena; dflt (may be NULL) when v is NULL. */
char *pl_json_text(pl_ctx_t *c, json_t *v, const char *dflt);
/* RFC 3339 string, or JSON null for 0 / NULL timestamps when nullable. */
json_t *pl_json_time(int64_t ms);
json_t *pl_json_time_or_null(pl_rows_t *r, int col);
/* The id of the caller: the user's, or the API key's. */
const char *pl_caller_id(const pl_ctx_t *c);
/* Marks that this request changed who may do what; every cached credential is dropped once
 * the transaction commits. */
void pl_auth_changed(pl_ctx_t *c);
/* A new TypeID in the arena. */
char *pl_new_id(pl_ctx_t *c, const char *prefix);
/* true if s is a well-formed id with this prefix (malformed ids are simply not found). */
bool pl_id_ok(const char *s, const char *prefix);

#endif
