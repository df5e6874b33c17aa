/*
 * ctx.h — the request context every handler receives, and the helpers handlers use.
 *
 * A pl_ctx_t lives for one request, in the request's arena. By the time a handler runs,
 * the pipeline has: matched the route and its path parameters, authenticated the caller
 * (c->principal), resolved the tenant (c->tenant_id), checked the permission, parsed and
 * validated the JSON body against the route's schema (c->body), and — unless the route
 * says PL_R_OWN_TX — opened a transaction on c->db in the tenant's context (write for
 * POST/PATCH/PUT/DELETE, read for GET). The pipeline commits when the handler succeeds
 * and rolls back otherwise, so a failed request writes nothing.
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
#include "http/router.h"
#include "platform/rbac.h"
#include "store/store.h"

typedef struct pl_server pl_server_t;
typedef struct pl_worker pl_worker_t;

#define PL_ID_MAX 64

typedef enum { PL_PRINCIPAL_USER = 1, PL_PRINCIPAL_APIKEY = 2 } pl_principal_kind;

/* Who is calling: resolved once per credential and cached per worker. */
typedef struct pl_principal {
    pl_principal_kind kind;
    char user_id[PL_ID_MAX];    /* users: the user */
    char key_id[PL_ID_MAX];     /* API keys: the key */
    char session_id[PL_ID_MAX]; /* users: the refresh-token family of the access token */
    char tenant_id[PL_ID_MAX];
    char role[16];
    bool platform;  /* the tenant is the platform tenant (operator) */
    bool suspended; /* the tenant is suspended */
    pl_perms_t perms;
    int64_t expires_ms; /* the credential's expiry (0: none) */
    /* the tenant's effective plan, resolved with the credential (platform/plans.c) */
    char plan[32];
    int64_t quota_day, quota_month; /* API calls; -1 unlimited */
    double rate[3], burst[3];       /* tenant, API key, IP buckets; 0: the configured default */
    char features[512];             /* ",flag,flag," enabled feature flags */
} pl_principal_t;

typedef struct pl_qparam {
    const char *name;
    const char *value;
} pl_qparam_t;

typedef struct pl_ctx pl_ctx_t;
/* Produces the next chunk of a streamed response into out: returns 1 (more follows), 0 (that
 * was the last chunk) or <0 (failure: the response ends early and the error is logged). */
typedef int (*pl_stream_fn)(pl_ctx_t *c, void *state, pl_buf_t *out);

struct pl_ctx {
    pl_server_t *srv;
    pl_worker_t *worker;
    h2o_req_t *req;
    pl_arena_t *arena;
    pl_db_t *db;
    const pl_route_t *route;
    char request_id[129];
    const char *ip;
    const char *user_agent;
    const pl_principal_t *principal; /* NULL on public routes without a credential */
    const char *tenant_id;           /* the tenant the request runs in, or NULL */
    json_t *body;                    /* validated JSON body (an object), or NULL */
    pl_str_t params[PL_MAX_PARAMS];
    int nparams;
    pl_qparam_t *query;
    int nquery;
    pl_err_t err;
    int status;
    json_t *resp;    /* owned until sent */
    const char *raw; /* a pre-rendered body (pl_reply_raw), not owned */
    size_t raw_len;
    const char *raw_type;
    bool auth_changed;   /* see pl_auth_changed() */
    pl_stream_fn stream; /* see pl_reply_stream() */
    void *stream_state;
    json_t *problem_extra;      /* members added to a problem answer (limit, value, usage …) */
    json_t *audit_before;       /* state before a change, for the audit entry (owned) */
    bool audited;               /* the handler wrote its own audit entry */
    const char *audit_tenant;   /* public routes: the tenant the audit entry belongs to */
    const char *audit_resource; /* the resource id, when the path has none */
    const char *audit_action;   /* overrides the route's action (e.g. a job queued instead of done) */
    const char *idem_key;       /* Idempotency-Key of this POST, once claimed */
    bool detached;              /* the handler answers by itself, over time (event streams) */
};

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

/* ---- rows to JSON ---- */
/* The first row of sql rendered by row(), or NULL (no row or an error). */
json_t *pl_query_one(pl_db_t *db, json_t *(*row)(pl_rows_t *), const char *sql, const pl_val_t *args,
                     int nargs);
/* Replies with every row of sql (no arguments) in the list envelope, for short, unpaged lists
 * (plans, flags); what names them in the error. */
int pl_reply_all(pl_ctx_t *c, json_t *(*row)(pl_rows_t *), const char *sql, const char *what);
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
/* A new TypeID in the arena. */
char *pl_new_id(pl_ctx_t *c, const char *prefix);
/* true if s is a well-formed id with this prefix (malformed ids are simply not found). */
bool pl_id_ok(const char *s, const char *prefix);

#endif
