/*
 * pipeline.c — the gateway pipeline. Read it top to bottom; it is the path of every request:
 *
 *   1. request id      X-Request-Id accepted if well-formed, else a new req_… id
 *   2. route           method + path → route, path parameters (404 / 405)
 *   3. body limit      413 payload_too_large above --max-body
 *   4. query string    decoded, valid UTF-8
 *   5. auth            Bearer access token (JWT) or API key → principal (cached per worker)
 *   6. tenant          the principal's tenant; suspended tenants get 403 tenant_suspended
 *   7. permission      the route's permission in the principal's role (403 forbidden), and the
 *                      feature flag the route needs (403 feature_not_enabled)
 *   8. limits          token buckets per IP, tenant and API key (429 rate_limited, RateLimit-*
 *                      headers) and the plan's daily / monthly API-call quotas (429 quota_exceeded)
 *   9. body            JSON parsed (depth, UTF-8, duplicates) and validated by the route schema
 *  10. idempotency     a POST with Idempotency-Key is claimed, or answered from its first response
 *  11. prepare         the route's slow work (password hashing) before any transaction
 *  12. transaction     opened in the tenant's context (unless the route only reads on its own)
 *  13. handler         the module's code; it records what it changed
 *  14. commit step     app/op.h: the changes' audit entries, their domain events and the
 *                      response of an idempotent POST, in the handler's transaction, then
 *                      commit (on any failure: rollback, and the idempotency claim is released)
 *  15. response        JSON or problem+json, X-Request-Id, then one JSON access-log line
 *
 * No handler re-implements any of these stages.
 */
#include "http/pipeline.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "app/cells.h"
#include "app/idempotency.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "http/ctx.h"
#include "http/framing.h"
#include "http/quota.h"
#include "http/ratelimit.h"
#include "core/banned.h"

/* ---- 1. request id ---- */

static void stage_request_id(pl_ctx_t *c)
{
    ssize_t i = h2o_find_header_by_str(&c->req->headers, H2O_STRLIT("x-request-id"), -1);
    if (i >= 0) {
        h2o_iovec_t v = c->req->headers.entries[i].value;
        bool ok = v.len >= 1 && v.len <= 128;
        size_t k;
        for (k = 0; ok && k < v.len; k++) {
            char ch = v.base[k];
            ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '_' || ch == '.' || ch == ':';
        }
        if (ok) {
            memcpy(c->request_id, v.base, v.len);
            c->request_id[v.len] = '\0';
            return;
        }
    }
    pl_typeid_new("req", c->request_id);
}

static void peer_address(pl_ctx_t *c)
{
    struct sockaddr_storage ss;
    socklen_t len = c->req->conn->callbacks->get_peername(c->req->conn, (struct sockaddr *)&ss);
    char buf[INET6_ADDRSTRLEN] = "";
    if (len && ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, sizeof(buf));
    else if (len && ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, sizeof(buf));
    c->ip = pl_strdup(c->arena, buf);
}

static const char *header(pl_ctx_t *c, const h2o_token_t *token)
{
    ssize_t i = h2o_find_header(&c->req->headers, token, -1);
    if (i < 0)
        return NULL;
    return pl_strndup(c->arena, c->req->headers.entries[i].value.base, c->req->headers.entries[i].value.len);
}

/* ---- 4. query string ---- */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decodes [s, s+n) into the arena; '+' is a space. NULL if malformed or not UTF-8. */
static char *url_decode(pl_ctx_t *c, const char *s, size_t n)
{
    char *out = pl_alloc(c->arena, n + 1);
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return NULL;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return NULL;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = '\0';
    if (strlen(out) != o || !pl_utf8_valid(out, o))
        return NULL;
    return out;
}

static int stage_query(pl_ctx_t *c)
{
    h2o_iovec_t p = c->req->path;
    size_t qs = c->req->query_at, i, start, n = 0;
    const char *q;
    if (qs == SIZE_MAX)
        return 0;
    q = p.base + qs + 1;
    i = p.len - qs - 1;
    for (start = 0; start < i; start++)
        if (q[start] == '&')
            n++;
    c->query = pl_alloc(c->arena, (n + 1) * sizeof(pl_qparam_t));
    start = 0;
    while (start <= i) {
        size_t end = start, eq;
        while (end < i && q[end] != '&')
            end++;
        if (end > start) {
            for (eq = start; eq < end && q[eq] != '='; eq++)
                ;
            c->query[c->nquery].name = url_decode(c, q + start, eq - start);
            c->query[c->nquery].value = eq < end ? url_decode(c, q + eq + 1, end - eq - 1) : "";
            if (c->query[c->nquery].name == NULL || c->query[c->nquery].value == NULL)
                return pl_fail(c, PL_EBADREQ, NULL, "the query string is not valid percent-encoded UTF-8");
            c->nquery++;
        }
        start = end + 1;
    }
    return 0;
}

/* ---- 5.–7. auth, tenant, permission ---- */

/* ---- 5a. failed authentications per IP ----
 * Every 401 answer takes a token from the client IP's auth-failure bucket; while it is empty,
 * requests that carry a credential or log in are refused 429 before the credential is even
 * looked at, so guessing passwords, tokens or keys is throttled. */
/* A bucket name: a two-letter prefix ("t:", "k:", "i:", "a:") and an id, without printf
 * (every request names up to four). */
static const char *bucket(pl_ctx_t *c, const char prefix[3], const char *id)
{
    size_t n = id ? strlen(id) : 0;
    char *s = pl_alloc(c->arena, n + 3);
    memcpy(s, prefix, 2);
    memcpy(s + 2, id ? id : "", n + 1);
    return s;
}

static const char *auth_bucket(pl_ctx_t *c)
{
    return bucket(c, "a:", c->ip);
}

static int stage_auth_throttle(pl_ctx_t *c, pl_http_t *http, bool credential)
{
    pl_rl_result_t res;
    double wait;
    bool public_write = (c->route->flags & PL_R_PUBLIC) &&
                        !h2o_memis(c->req->method.base, c->req->method.len, H2O_STRLIT("GET"));
    if (http->rl_rate[3] <= 0 || !(credential || public_write))
        return 0;
    const char *key = auth_bucket(c);
    http->ratelimit->take(http->ratelimit, 1, &key, &http->rl_rate[3], &http->rl_burst[3], 0, pl_now_ms(),
                          &res);
    if (res.allowed)
        return 0;
    wait = ceil(res.retry_after_s) < 1 ? 1 : ceil(res.retry_after_s);
    pl_header(c, "retry-after", pl_printf(c->arena, "%.0f", wait));
    return pl_fail(c, PL_ERATE, "too_many_auth_failures",
                   "too many failed authentications from this address; retry in %.0f s", wait);
}

static void count_auth_failure(pl_ctx_t *c, pl_http_t *http)
{
    pl_rl_result_t res;
    const char *key;
    if (http->rl_rate[3] <= 0)
        return;
    key = auth_bucket(c);
    http->ratelimit->take(http->ratelimit, 1, &key, &http->rl_rate[3], &http->rl_burst[3], 1.0, pl_now_ms(),
                          &res);
}

static int stage_auth(pl_ctx_t *c, pl_http_t *http, int perm)
{
    const pl_route_t *r = c->route;
    ssize_t i = h2o_find_header(&c->req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    pl_str_t cred = PL_STR_NULL;
    int rc;

    if ((rc = stage_auth_throttle(c, http, i >= 0)) != 0) /* 5a */
        return rc;
    if (i >= 0) {
        h2o_iovec_t v = c->req->headers.entries[i].value;
        if (v.len > 7 && h2o_lcstris(v.base, 7, H2O_STRLIT("bearer "))) {
            cred.ptr = v.base + 7;
            cred.len = v.len - 7;
            while (cred.len && cred.ptr[0] == ' ') {
                cred.ptr++;
                cred.len--;
            }
        }
        if (cred.len == 0) {
            pl_header(c, "www-authenticate", "Bearer");
            return pl_fail(c, PL_EUNAUTH, NULL,
                           "the Authorization header must be 'Bearer <token or API key>'");
        }
    }
    if (cred.len == 0) {
        if (r->flags & PL_R_PUBLIC) {
            c->actor_type = "anonymous"; /* a handler that knows who acts says so in its change */
            return 0;
        }
        pl_header(c, "www-authenticate", "Bearer");
        return pl_fail(c, PL_EUNAUTH, NULL, "authentication required: send 'Authorization: Bearer <token>'");
    }
    if (http->authenticate == NULL)
        return pl_fail(c, PL_EUNAUTH, NULL, "this server accepts no credentials");
    if (http->authenticate(&c->op, cred, &c->principal) != 0) {
        if (c->err.status == PL_EUNAUTH)
            pl_header(c, "www-authenticate", "Bearer error=\"invalid_token\"");
        return c->err.status;
    }
    if (r->flags & PL_R_PUBLIC)
        return 0;

    /* 6. tenant: always the credential's own; no header can choose another. */
    c->tenant_id = c->principal->tenant_id;
    if (c->principal->suspended && !(r->flags & PL_R_ANY_TENANT_STATE))
        return pl_fail(c, PL_EFORBIDDEN, "tenant_suspended", "this organization is suspended");
    if ((r->flags & PL_R_PLATFORM) && !c->principal->platform)
        return pl_fail(c, PL_EFORBIDDEN, NULL, "this route is for platform operators");
    if (r->flags & PL_R_PLATFORM)
        c->actor_type = "operator";

    /* 7. permission and feature */
    if (!pl_rbac_has(c->principal->perms, perm))
        return pl_fail(c, PL_EFORBIDDEN, NULL, "the role '%s' lacks the permission '%s'", c->principal->role,
                       r->permission);
    if (r->feature && !pl_principal_has_feature(c->principal, r->feature))
        return pl_fail(c, PL_EFORBIDDEN, "feature_not_enabled",
                       "the feature '%s' is not enabled for this organization", r->feature);
    return 0;
}

/* ---- 6a. cell ----
 * A tenant's data routes run on a connection to its home cell (app/cells.h); control-plane
 * routes (identity, plans, operators, public ones) on the control database's. */
static int stage_cell(pl_ctx_t *c, const pl_match_t *m)
{
    const pl_cell_t *cell;
    bool control = m->control_plane || c->principal == NULL ||
                   (c->route->flags & (PL_R_PUBLIC | PL_R_PLATFORM | PL_R_CONTROL));
    /* the control database's connection serves the pool's data routes too */
    pl_db_set_data_plane(c->db, !control);
    if (control || c->principal->cell == 0)
        return 0;
    if ((cell = pl_app_cell(c->app, (size_t)c->principal->cell)) == NULL ||
        pl_app_thread_db(c->app, c->thread, cell, &c->op.db) != 0)
        return pl_fail(c, PL_EUNAVAIL, "store_unavailable", "the organization's cell is unavailable; retry");
    c->op.cell = cell;
    return 0;
}

/* ---- 8. rate limits and quotas ---- */

/* A non-negative whole number of a bucket figure (rounded to nearest). */
static uint64_t whole(double x)
{
    return x <= 0 ? 0 : (uint64_t)(x + 0.5);
}

static const char *number(pl_ctx_t *c, double x)
{
    pl_buf_t b;
    pl_buf_init(&b, c->arena);
    pl_buf_add_u64(&b, whole(x));
    return pl_buf_cstr(&b);
}

static int stage_limits(pl_ctx_t *c, pl_http_t *srv)
{
    static const char *names[] = {"tenant", "key", "ip"};
    const pl_principal_t *p = c->principal;
    pl_rl_result_t res[3], got[3], *worst = NULL, *refused = NULL;
    const char *keys[3] = {NULL, NULL, NULL}, *tk[3];
    double rate[3], burst[3], tr[3], tb[3];
    int which[3], n = 0, j;
    int64_t now = pl_now_ms();
    bool tenant_scoped = c->tenant_id && p;
    pl_buf_t policy;
    int i, worst_i = -1, refused_i = -1;

    if (tenant_scoped) {
        keys[0] = bucket(c, "t:", c->tenant_id);
        if (p->kind == PL_PRINCIPAL_APIKEY)
            keys[1] = bucket(c, "k:", p->key_id);
    }
    keys[2] = bucket(c, "i:", c->ip);
    /* every bucket of the request in one call (one round trip when they are shared) */
    for (i = 0; i < 3; i++) {
        rate[i] = p && p->rate[i] > 0 ? p->rate[i] : srv->rl_rate[i];
        burst[i] = p && p->rate[i] > 0 ? p->burst[i] : srv->rl_burst[i];
        if (keys[i] && rate[i] > 0) {
            which[n] = i;
            tk[n] = keys[i];
            tr[n] = rate[i];
            tb[n++] = burst[i];
        }
    }
    if (n)
        srv->ratelimit->take(srv->ratelimit, n, tk, tr, tb, 1.0, now, got);
    for (j = 0; j < n; j++) {
        i = which[j];
        res[i] = got[j];
        if (worst == NULL || res[i].remaining / res[i].limit < worst->remaining / worst->limit) {
            worst = &res[i];
            worst_i = i;
        }
        if (!res[i].allowed && (refused == NULL || res[i].retry_after_s > refused->retry_after_s)) {
            refused = &res[i];
            refused_i = i;
        }
    }
    /* The headers (draft-ietf-httpapi-ratelimit-headers) go on tenant-scoped answers only;
     * formatted without printf: this runs on every request. */
    if (tenant_scoped && worst) {
        pl_rl_result_t *h = refused ? refused : worst;
        int hi = refused ? refused_i : worst_i;
        pl_buf_t v;
        pl_buf_init(&policy, c->arena);
        for (i = 0; i < 3; i++) {
            if (keys[i] == NULL || rate[i] <= 0)
                continue;
            if (policy.len)
                pl_buf_add(&policy, ", ", 2);
            pl_buf_addc(&policy, '"');
            pl_buf_adds(&policy, names[i]);
            pl_buf_add(&policy, "\";q=", 4);
            pl_buf_add_u64(&policy, whole(burst[i]));
            pl_buf_add(&policy, ";w=", 3);
            pl_buf_add_u64(&policy, whole(ceil(burst[i] / rate[i])));
        }
        pl_header(c, "ratelimit-limit", number(c, h->limit));
        pl_header(c, "ratelimit-remaining", number(c, h->remaining));
        pl_header(c, "ratelimit-reset", number(c, ceil(h->reset_s)));
        pl_header(c, "ratelimit-policy", pl_buf_cstr(&policy));
        pl_buf_init(&v, c->arena);
        pl_buf_addc(&v, '"');
        pl_buf_adds(&v, names[hi]);
        pl_buf_add(&v, "\";r=", 4);
        pl_buf_add_u64(&v, whole(h->remaining));
        pl_buf_add(&v, ";t=", 3);
        pl_buf_add_u64(&v, whole(ceil(h->reset_s)));
        pl_header(c, "ratelimit", pl_buf_cstr(&v));
    }
    if (refused) {
        pl_header(
            c, "retry-after",
            pl_printf(c->arena, "%.0f", ceil(refused->retry_after_s) < 1 ? 1 : ceil(refused->retry_after_s)));
        return pl_fail(c, PL_ERATE, NULL, "too many requests for this %s; retry in %.0f s", names[refused_i],
                       ceil(refused->retry_after_s) < 1 ? 1 : ceil(refused->retry_after_s));
    }
    if (tenant_scoped && !(c->route->flags & PL_R_UNMETERED)) {
        bool monthly = false;
        int64_t retry = 0;
        if (pl_quota_take(srv->quota, c->thread ? c->thread->db : c->db, c->tenant_id, p->quota_day,
                          p->quota_month, now, &monthly, &retry)) {
            pl_header(c, "retry-after", pl_printf(c->arena, "%lld", (long long)retry));
            return pl_fail(c, PL_ERATE, "quota_exceeded", "the plan's %s API-call quota (%lld) is used up",
                           monthly ? "monthly" : "daily",
                           (long long)(monthly ? p->quota_month : p->quota_day));
        }
    }
    return 0;
}

/* ---- 8. body ---- */

static bool is_json_content_type(pl_ctx_t *c)
{
    ssize_t i = h2o_find_header(&c->req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    h2o_iovec_t v;
    if (i < 0)
        return false;
    v = c->req->headers.entries[i].value;
    return v.len >= 16 && h2o_lcstris(v.base, 16, H2O_STRLIT("application/json")) &&
           (v.len == 16 || v.base[16] == ';' || v.base[16] == ' ');
}

static void decref_body(void *p)
{
    json_decref(p);
}

static int stage_body(pl_ctx_t *c)
{
    const pl_route_t *r = c->route;
    h2o_iovec_t e = c->req->entity;
    if (r->input == NULL || (r->flags & PL_R_RAW_BODY))
        return 0;
    if (e.base == NULL || e.len == 0) {
        c->body = json_object();
    } else {
        if (!is_json_content_type(c))
            return pl_fail(c, PL_EMEDIA, NULL, "send the body as Content-Type: application/json");
        if (pl_json_parse_body(e.base, e.len, &c->body, &c->err) != 0)
            return c->err.status;
    }
    pl_arena_defer(c->arena, decref_body, c->body);
    return pl_schema_validate(r->input, c->body, &c->err);
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    pl_buf_add(data, buffer, size);
    return 0;
}

/* ---- 10. idempotency ---- */

/* 0: go on (c->idem_key set when claimed); 1: answered from the stored response; <0: refused. */
static int stage_idempotency(pl_ctx_t *c)
{
    ssize_t i = h2o_find_header_by_str(&c->req->headers, H2O_STRLIT("idempotency-key"), -1);
    h2o_iovec_t v, e = c->req->entity;
    pl_idem_stored_t st;
    pl_buf_t b;
    char hash[PL_SHA256_HEX];
    const char *key;
    if (i < 0 || !h2o_memis(c->req->method.base, c->req->method.len, H2O_STRLIT("POST")) ||
        c->tenant_id == NULL)
        return 0;
    v = c->req->headers.entries[i].value;
    if (!pl_idempotency_key_valid(v.base, v.len)) {
        pl_err_set(&c->err, PL_EBADREQ, NULL,
                   "the Idempotency-Key header must be 1 to 255 printable characters");
        pl_err_field(&c->err, "Idempotency-Key", "must be 1 to 255 printable ASCII characters");
        return PL_EBADREQ;
    }
    key = pl_strndup(c->arena, v.base, v.len);
    pl_buf_init(&b, c->arena);
    pl_buf_add(&b, c->req->method.base, c->req->method.len);
    pl_buf_addc(&b, '\n');
    pl_buf_add(&b, c->req->path.base, c->req->path.len);
    pl_buf_addc(&b, '\n');
    if (e.base)
        pl_buf_add(&b, e.base, e.len);
    pl_sha256_hex(b.ptr, b.len, hash);
    switch (pl_idempotency_claim(c->db, c->arena, c->tenant_id, key, hash, &st)) {
    case PL_IDEM_NEW:
        c->idem_key = key;
        return 0;
    case PL_IDEM_REPLAY:
        pl_header(c, "idempotent-replayed", "true");
        pl_reply_raw(c, st.status, st.content_type, st.body, st.len);
        return 1;
    case PL_IDEM_MISMATCH:
        return pl_fail(c, PL_EINVAL, "idempotency_key_reused",
                       "this Idempotency-Key was used with another request; use a new key");
    case PL_IDEM_RUNNING:
        return pl_fail(c, PL_ECONFLICT, "idempotency_key_in_use",
                       "a request with this Idempotency-Key is still running; retry later");
    default:
        return pl_fail(c, PL_EDB, NULL, "the idempotency key could not be recorded");
    }
}

/* Turns a JSON reply into bytes (so an idempotent POST can store exactly what is sent). */
static void render_reply(pl_ctx_t *c)
{
    pl_buf_t b;
    if (c->raw || c->stream)
        return;
    if (c->resp == NULL) {
        c->raw = "";
        c->raw_len = 0;
        c->raw_type = "application/json; charset=utf-8";
        return;
    }
    pl_buf_init(&b, c->arena);
    pl_buf_reserve(&b, 256);
    json_dump_callback(c->resp, dump_cb, &b, JSON_COMPACT);
    pl_buf_addc(&b, '\n');
    c->raw = b.ptr;
    c->raw_len = b.len;
    c->raw_type = "application/json; charset=utf-8";
}

/* ---- 14. response ---- */

static void send_raw(pl_ctx_t *c, int status, const char *ctype, const char *data, size_t len)
{
    h2o_req_t *req = c->req;
    static h2o_generator_t gen = {NULL, NULL};
    h2o_iovec_t v = h2o_iovec_init((char *)data, len);

    req->res.status = status;
    req->res.reason = "";
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, c->request_id,
                          strlen(c->request_id));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    req->res.content_length = len;
    h2o_start_response(req, &gen);
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, 1);
    else
        h2o_send(req, &v, 1, 1);
}

static void send_json(pl_ctx_t *c, int status, const char *ctype, json_t *body)
{
    h2o_req_t *req = c->req;
    static h2o_generator_t gen = {NULL, NULL};
    pl_buf_t b;

    if (body == NULL) {
        req->res.status = status;
        req->res.reason = "";
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL,
                              c->request_id, strlen(c->request_id));
        h2o_start_response(req, &gen);
        h2o_send(req, NULL, 0, 1);
        return;
    }
    pl_buf_init(&b, c->arena);
    pl_buf_reserve(&b, 256);
    json_dump_callback(body, dump_cb, &b, JSON_COMPACT);
    pl_buf_addc(&b, '\n');
    send_raw(c, status, ctype, b.ptr, b.len);
}

/* Streamed responses: h2o calls proceed when the previous chunk is on its way. */
typedef struct {
    h2o_generator_t super;
    pl_ctx_t *c;
    pl_buf_t buf;
} stream_gen_t;

static void stream_next(stream_gen_t *g)
{
    pl_ctx_t *c = g->c;
    h2o_iovec_t v;
    int rc;
    pl_buf_reset(&g->buf);
    rc = c->stream(c, c->stream_state, &g->buf);
    if (rc < 0)
        pl_logf(PL_LOG_ERROR, "stream failed", "request %s: the response was cut short", c->request_id);
    v = h2o_iovec_init(g->buf.ptr, g->buf.len);
    h2o_send(c->req, &v, g->buf.len ? 1 : 0,
             rc == 1 ? H2O_SEND_STATE_IN_PROGRESS : (rc == 0 ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_ERROR));
}

static void stream_proceed(h2o_generator_t *self, h2o_req_t *req)
{
    (void)req;
    stream_next((stream_gen_t *)self);
}

static void release_buf(void *p)
{
    pl_buf_release(p);
}

static void send_stream(pl_ctx_t *c, int status)
{
    h2o_req_t *req = c->req;
    stream_gen_t *g = h2o_mem_alloc_pool(&req->pool, sizeof(*g));
    g->super.proceed = stream_proceed;
    g->super.stop = NULL;
    g->c = c;
    pl_buf_init(&g->buf, NULL);
    pl_arena_defer(c->arena, release_buf, &g->buf);
    req->res.status = status;
    req->res.reason = "";
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, c->request_id,
                          strlen(c->request_id));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, c->raw_type,
                   strlen(c->raw_type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_start_response(req, &g->super);
    stream_next(g);
}

static json_t *problem_json(pl_ctx_t *c)
{
    const pl_err_t *e = &c->err;
    const char *code = pl_err_code(e);
    json_t *p = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "type", "about:blank", "title",
                          pl_status_title(e->status), "status", pl_status_http(e->status), "detail",
                          e->message[0] ? e->message : code, "code", code, "request_id", c->request_id);
    char type[128];
    if (p == NULL) /* the message was not valid UTF-8: answer without it */
        p = json_pack("{s:s,s:s,s:i,s:s,s:s}", "type", "about:blank", "title", pl_status_title(e->status),
                      "status", pl_status_http(e->status), "detail", code, "code", code);
    snprintf(type, sizeof(type), "urn:plinth:problem:%s", code);
    json_object_set_new(p, "type", json_string(type));
    if (c->problem_extra)
        json_object_update(p, c->problem_extra);
    if (e->nfields) {
        json_t *errs = json_array();
        int i;
        for (i = 0; i < e->nfields; i++)
            json_array_append_new(
                errs, json_pack("{s:s,s:s}", "field", e->fields[i].field, "message", e->fields[i].message));
        json_object_set_new(p, "errors", errs);
    }
    return p;
}

static void access_log(pl_ctx_t *c, int status, int64_t t0)
{
    pl_buf_t b;
    char ms[32];
    if (!pl_log_enabled(PL_LOG_INFO))
        return;
    pl_buf_init(&b, c->arena);
    pl_buf_adds(&b, "\"request_id\":\"");
    pl_buf_adds(&b, c->request_id);
    pl_buf_adds(&b, "\",\"tenant_id\":");
    if (c->tenant_id) {
        pl_buf_addc(&b, '"');
        pl_buf_adds(&b, c->tenant_id);
        pl_buf_addc(&b, '"');
    } else {
        pl_buf_adds(&b, "null");
    }
    pl_buf_adds(&b, ",\"method\":\"");
    pl_buf_add_json_escaped(&b, c->req->method.base, c->req->method.len);
    pl_buf_adds(&b, "\",\"route\":\"");
    if (c->route)
        pl_buf_adds(&b, c->route->path);
    pl_buf_adds(&b, "\",\"path\":\"");
    pl_buf_add_json_escaped(&b, c->req->path.base, c->req->path.len > 256 ? 256 : c->req->path.len);
    snprintf(ms, sizeof(ms), "%.3f", (double)(pl_mono_us() - t0) / 1000.0);
    pl_buf_addf(&b, "\",\"status\":%d,\"duration_ms\":%s,\"ip\":\"%s\"", status, ms, c->ip ? c->ip : "");
    pl_log(PL_LOG_INFO, "request", b.ptr);
}

/* ---- the pipeline ---- */

/* The commit step for a handler that succeeded: the reply is rendered first, so an idempotent
 * POST stores exactly the bytes it sends. A handler that failed but asked to keep its changes
 * (op.keep_on_error) commits them and still answers its error. */
static int stage_commit(pl_ctx_t *c, int rc)
{
    bool ok = rc == 0 && c->status < 400;
    if (ok && c->changes == NULL && pl_db_tx_wrote(c->db)) {
        /* every change leaves an audit entry: a handler that wrote and recorded nothing is a bug */
        pl_logf(PL_LOG_ERROR, "a request changed data without recording the change", "%s %s",
                c->route->method, c->route->path);
        pl_op_abort(&c->op);
        return pl_fail(c, PL_EINTERNAL, NULL, "the change was not recorded; nothing was written");
    }
    if (ok) {
        if (c->idem_key) {
            render_reply(c);
            c->idem_status = c->status ? c->status : 200;
            c->idem_type = c->raw_type;
            c->idem_body = c->raw;
            c->idem_len = c->raw_len;
        }
        return pl_op_commit(&c->op);
    }
    if (c->keep_on_error && pl_db_in_tx(c->db)) {
        pl_err_t handler_err = c->err;
        c->idem_key = NULL;
        pl_err_clear(&c->err);
        if (pl_op_commit(&c->op) != 0)
            return c->err.status; /* the kept change was lost: say so, not the handler's error */
        c->err = handler_err;
        return rc ? rc : c->err.status;
    }
    pl_op_abort(&c->op);
    return rc;
}

int pl_pipeline_handle(pl_worker_t *w, h2o_req_t *req)
{
    pl_ctx_t *c = h2o_mem_alloc_pool(&req->pool, sizeof(*c));
    pl_http_t *http = w->http;
    pl_match_t m;
    int64_t t0 = pl_mono_us();
    int rc = 0, status;
    bool writes, claimed = false;
    pl_str_t method = {req->method.base, req->method.len};
    pl_str_t path = {req->path_normalized.base, req->path_normalized.len};

    memset(c, 0, sizeof(*c));
    pl_op_init(&c->op, http->app, w->db, &req->pool);
    c->thread = &w->thread;
    c->req = req;

    stage_request_id(c); /* 1 */
    peer_address(c);
    c->user_agent = header(c, H2O_TOKEN_USER_AGENT);

    if (!pl_http1_framing_ok(req)) { /* 1a: ambiguous body framing: refused, connection closed */
        req->http1_is_persistent = 0;
        rc = pl_fail(c, PL_EBADREQ, "bad_framing",
                     "the request has both Content-Length and Transfer-Encoding, or two different lengths");
        goto respond;
    }

    if (pl_router_match(http->router, method, path, &m) != 0) { /* 2 */
        if (m.path_matched) {
            pl_header(c, "allow", m.allow);
            rc = pl_fail(c, PL_EMETHOD, NULL, "%.*s is not allowed here; allowed: %s", (int)method.len,
                         method.ptr, m.allow);
        } else {
            rc = pl_fail(c, PL_ENOTFOUND, NULL, "no route for %.*s %.*s", (int)method.len, method.ptr,
                         (int)(path.len > 200 ? 200 : path.len), path.ptr);
        }
        goto respond;
    }
    c->route = m.route;
    memcpy(c->params, m.params, sizeof(m.params));
    c->nparams = m.nparams;

    if (req->entity.base && req->entity.len > (size_t)http->conf->max_body) { /* 3 */
        rc = pl_fail(c, PL_ETOOBIG, NULL, "the request body is larger than %ld bytes", http->conf->max_body);
        goto respond;
    }
    if ((rc = stage_query(c)) != 0) /* 4 */
        goto respond;
    if ((rc = stage_auth(c, http, m.perm)) != 0) /* 5, 6, 7 */
        goto respond;
    if ((rc = stage_cell(c, &m)) != 0) /* 6a */
        goto respond;
    if ((rc = stage_limits(c, http)) != 0) /* 8 */
        goto respond;
    if ((rc = stage_body(c)) != 0) /* 9 */
        goto respond;
    if ((rc = stage_idempotency(c)) != 0) { /* 10 */
        if (rc == 1)
            rc = 0; /* replayed */
        goto respond;
    }

    claimed = c->idem_key != NULL;

    if (c->route->prepare && (rc = c->route->prepare(c)) != 0) /* 11 */
        goto release;

    /* 12: the transaction's tenant context, which row-level security enforces on PostgreSQL:
     * the caller's tenant; an operator route administers every tenant, and a PL_R_CONTROL
     * route reads the caller's own rows of other tenants (control plane). */
    writes = !pl_str_eq_cstr(method, "GET") && !pl_str_eq_cstr(method, "HEAD");
    if (!(c->route->flags & PL_R_OWN_TX) &&
        (rc = pl_op_begin(&c->op, writes ? PL_TX_WRITE : PL_TX_READ,
                          (c->route->flags & (PL_R_PLATFORM | PL_R_CONTROL)) ? NULL : c->tenant_id)) != 0)
        goto release;

    rc = c->route->handler(c); /* 13 */
    if (rc == 0 && c->status >= 400 && c->err.status == PL_OK)
        rc = pl_fail(c, PL_EINTERNAL, NULL, "the handler answered %d without an error", c->status);

    rc = stage_commit(c, rc); /* 14 */
release:
    if (claimed && rc != 0)
        pl_idempotency_release(c->db, c->tenant_id, c->idem_key);

respond: /* 15 */
    if (rc != 0 && c->err.status == PL_EUNAUTH)
        count_auth_failure(c, http);
    if (rc != 0) {
        if (c->err.status == PL_OK)
            pl_fail(c, rc, NULL, "%s", pl_status_title(rc));
        if ((c->err.status == PL_EDB || c->err.status == PL_EINTERNAL) && pl_db_broken(c->db)) {
            pl_err_clear(&c->err); /* the database went away: the request may be tried again */
            pl_fail(c, PL_EUNAVAIL, "store_unavailable", "the store is unavailable; retry");
        }
        if (c->err.status == PL_EMOVED) { /* the cached home is stale: the next request looks again */
            pl_app_auth_forget(c->app);
            pl_header(c, "retry-after", "1");
        }
        if (c->resp) {
            json_decref(c->resp);
            c->resp = NULL;
        }
        status = pl_status_http(c->err.status);
        c->resp = problem_json(c);
        send_json(c, status, "application/problem+json", c->resp);
    } else if (c->detached) {
        status = 200;
    } else if (c->stream) {
        status = c->status ? c->status : 200;
        send_stream(c, status);
    } else if (c->raw) {
        status = c->status ? c->status : 200;
        send_raw(c, status, c->raw_type, c->raw, c->raw_len);
    } else {
        status = c->status ? c->status : 200;
        send_json(c, status, "application/json; charset=utf-8", c->resp);
    }
    if (c->resp)
        json_decref(c->resp);
    pl_op_release(&c->op); /* with the problem's extra members */
    access_log(c, status, t0);
    return 0;
}
