/*
 * audit.c — audit entries, their hash chain, verification and GET /v1/audit-logs.
 *
 * hash = sha256_hex(prev_hash "\n" seq "\n" tenant "\n" created_at "\n" actor_type "\n"
 *                   actor_id "\n" action "\n" resource_type "\n" resource_id "\n" before "\n"
 *                   after "\n" request_id "\n" ip "\n" user_agent); the first prev_hash is 64 zeros.
 */
#include "events/audit.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/typeid.h"
#include "core/banned.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* Members that hold secrets, by name; and secret values by their prefix, whatever the name. */
static const char *const secret_names[] = {"password",     "password_hash", "secret",     "token",
                                           "access_token", "refresh_token", "token_hash", "key_hash",
                                           "private_jwk",  "client_secret", NULL};
static const char *const secret_prefixes[] = {"pk_live_", "rt_", "it_", "ut_", "whsec_", "$argon2", NULL};

static bool is_secret(const char *name, json_t *v)
{
    const char *const *w;
    if (json_is_null(v))
        return false;
    for (w = secret_names; *w; w++)
        if (name && strcmp(name, *w) == 0)
            return true;
    if (json_is_string(v))
        for (w = secret_prefixes; *w; w++)
            if (strncmp(json_string_value(v), *w, strlen(*w)) == 0)
                return true;
    return false;
}

/* A copy of v with secrets replaced by "[redacted]", at any depth. */
json_t *pl_json_redact(json_t *v)
{
    json_t *out;
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        out = json_object();
        json_object_foreach(v, k, x)
        {
            json_object_set_new(out, k, is_secret(k, x) ? json_string("[redacted]") : pl_json_redact(x));
        }
        return out;
    }
    if (json_is_array(v)) {
        out = json_array();
        for (i = 0; i < json_array_size(v); i++)
            json_array_append_new(out, is_secret(NULL, json_array_get(v, i))
                                           ? json_string("[redacted]")
                                           : pl_json_redact(json_array_get(v, i)));
        return out;
    }
    return json_incref(v);
}

static char *dump(json_t *v)
{
    json_t *r;
    char *s;
    if (v == NULL)
        return NULL;
    r = pl_json_redact(v);
    s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(r);
    return s;
}

static void field(pl_buf_t *b, const char *s)
{
    pl_buf_adds(b, s ? s : "");
    pl_buf_addc(b, '\n');
}

static void chain_hash(const char *prev, int64_t seq, const char *tenant, int64_t created,
                       const char *const f[10], char out[PL_SHA256_HEX])
{
    pl_buf_t b;
    int i;
    pl_buf_init(&b, NULL);
    field(&b, prev);
    pl_buf_addf(&b, "%lld\n%s\n%lld\n", (long long)seq, tenant, (long long)created);
    for (i = 0; i < 10; i++)
        field(&b, f[i]);
    pl_sha256_hex(b.ptr, b.len, out);
    pl_buf_release(&b);
}

int pl_audit_write(pl_ctx_t *c, const char *tenant_id, const char *action, const char *resource_type,
                   const char *resource_id, json_t *before, json_t *after)
{
    static const char *sql_last =
        "SELECT seq, hash FROM audit_log WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1";
    static const char *sql_ins =
        "INSERT INTO audit_log (id, tenant_id, seq, actor_type, actor_id, action, "
        "resource_type, resource_id, before, after, request_id, ip, user_agent, created_at, "
        "prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
        "$14, $15, $16)";
    const pl_principal_t *p = c->principal;
    const char *actor_type = p == NULL                                         ? "anonymous"
                             : (c->route && (c->route->flags & PL_R_PLATFORM)) ? "operator"
                             : p->kind == PL_PRINCIPAL_APIKEY                  ? "api_key"
                                                                               : "user";
    const char *actor_id = p == NULL ? NULL : pl_caller_id(c);
    char *b = dump(before), *a = dump(after), prev[PL_SHA256_HEX] = ZERO_HASH, hash[PL_SHA256_HEX];
    const char *f[10];
    int64_t seq = 0, now = pl_now_ms();
    pl_rows_t *r;
    int rc = PL_EDB;
    if (pl_db_query(c->db, &r, sql_last, PL_ARGS(PL_TEXT(tenant_id))) == 0) {
        if (pl_rows_next(r) == 1) {
            seq = pl_rows_int(r, 0);
            snprintf(prev, sizeof(prev), "%s", pl_rows_text(r, 1));
        }
        pl_rows_close(r);
        seq++;
        f[0] = actor_type;
        f[1] = actor_id;
        f[2] = action;
        f[3] = resource_type;
        f[4] = resource_id;
        f[5] = b;
        f[6] = a;
        f[7] = c->request_id;
        f[8] = c->ip;
        f[9] = c->user_agent;
        chain_hash(prev, seq, tenant_id, now, f, hash);
        if (pl_db_exec(c->db, sql_ins,
                       PL_ARGS(PL_TEXT(pl_new_id(c, "aud")), PL_TEXT(tenant_id), PL_INT(seq),
                               PL_TEXT(actor_type), PL_TEXT(actor_id), PL_TEXT(action),
                               PL_TEXT(resource_type), PL_TEXT(resource_id), PL_TEXT(b), PL_TEXT(a),
                               PL_TEXT(c->request_id), PL_TEXT(c->ip), PL_TEXT(c->user_agent), PL_INT(now),
                               PL_TEXT(prev), PL_TEXT(hash))) == 1)
            rc = 0;
    }
    free(b);
    free(a);
    c->audited = true;
    return rc;
}

int pl_audit_verify(pl_db_t *db, const char *tenant_id, FILE *out)
{
    static const char *sql =
        "SELECT tenant_id, seq, id, actor_type, actor_id, action, resource_type, resource_id, "
        "before, after, request_id, ip, user_agent, created_at, prev_hash, hash FROM audit_log "
        "WHERE ($1 IS NULL OR tenant_id = $1) ORDER BY tenant_id, seq";
    pl_rows_t *r;
    char cur[64] = "", prev[PL_SHA256_HEX] = ZERO_HASH, hash[PL_SHA256_HEX];
    int64_t expect = 1, n = 0;
    int rc, broken = 0;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_TEXT(tenant_id))) != 0)
        return PL_EDB;
    while ((rc = pl_rows_next(r)) == 1) {
        const char *t = pl_rows_text(r, 0);
        const char *f[10];
        int i;
        if (strcmp(t, cur) != 0) {
            if (cur[0] && !broken)
                fprintf(out, "ok      %s: %lld entries\n", cur, (long long)n);
            if (broken)
                break;
            snprintf(cur, sizeof(cur), "%s", t);
            snprintf(prev, sizeof(prev), "%s", ZERO_HASH);
            expect = 1;
            n = 0;
        }
        for (i = 0; i < 10; i++)
            f[i] = pl_rows_text(r, 3 + i);
        chain_hash(prev, pl_rows_int(r, 1), t, pl_rows_int(r, 13), f, hash);
        if (pl_rows_int(r, 1) != expect) {
            fprintf(out, "BROKEN  %s: entry %s (seq %lld): expected seq %lld — an entry is missing\n", t,
                    pl_rows_text(r, 2), (long long)pl_rows_int(r, 1), (long long)expect);
            broken = 1;
        } else if (strcmp(pl_rows_text(r, 14), prev) != 0) {
            fprintf(out, "BROKEN  %s: entry %s (seq %lld): prev_hash does not match the entry before\n", t,
                    pl_rows_text(r, 2), (long long)pl_rows_int(r, 1));
            broken = 1;
        } else if (strcmp(pl_rows_text(r, 15), hash) != 0) {
            fprintf(out, "BROKEN  %s: entry %s (seq %lld): contents changed after it was written\n", t,
                    pl_rows_text(r, 2), (long long)pl_rows_int(r, 1));
            broken = 1;
        }
        if (broken)
            break;
        snprintf(prev, sizeof(prev), "%s", pl_rows_text(r, 15));
        expect++;
        n++;
    }
    pl_rows_close(r);
    if (rc < 0)
        return PL_EDB;
    if (cur[0] && !broken)
        fprintf(out, "ok      %s: %lld entries\n", cur, (long long)n);
    return broken;
}

/* ---- GET /v1/audit-logs ---- */

#define COLS                                                                                                 \
    "id, seq, actor_type, actor_id, action, resource_type, resource_id, before, after, request_id, ip, "     \
    "user_agent, created_at, hash"

static json_t *entry_json(pl_rows_t *r)
{
    json_t *before = pl_rows_text(r, 7) ? json_loads(pl_rows_text(r, 7), 0, NULL) : NULL;
    json_t *after = pl_rows_text(r, 8) ? json_loads(pl_rows_text(r, 8), 0, NULL) : NULL;
    return json_pack("{s:s,s:I,s:{s:s,s:o},s:s,s:{s:o,s:o},s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "id",
                     pl_rows_text(r, 0), "seq", (json_int_t)pl_rows_int(r, 1), "actor", "type",
                     pl_rows_text(r, 2), "id", pl_json_str_or_null(pl_rows_text(r, 3)), "action",
                     pl_rows_text(r, 4), "resource", "type", pl_json_str_or_null(pl_rows_text(r, 5)), "id",
                     pl_json_str_or_null(pl_rows_text(r, 6)), "before", before ? before : json_null(),
                     "after", after ? after : json_null(), "request_id",
                     pl_json_str_or_null(pl_rows_text(r, 9)), "ip", pl_json_str_or_null(pl_rows_text(r, 10)),
                     "user_agent", pl_json_str_or_null(pl_rows_text(r, 11)), "created_at",
                     pl_json_time(pl_rows_int(r, 12)), "hash", pl_rows_text(r, 13));
}

static int h_list(pl_ctx_t *c)
{
    static const char *sql =
        "SELECT " COLS " FROM audit_log WHERE tenant_id = $1 AND ($2 IS NULL OR seq < $2) "
        "AND ($3 IS NULL OR actor_id = $3) AND ($4 IS NULL OR action = $4 OR action LIKE $4 || '.%') "
        "AND ($5 IS NULL OR resource_type = $5) AND ($6 IS NULL OR resource_id = $6) "
        "AND ($7 IS NULL OR created_at >= $7) AND ($8 IS NULL OR created_at < $8) ORDER BY seq DESC LIMIT $9";
    const char *actor = pl_query(c, "actor"), *action = pl_query(c, "action"),
               *rtype = pl_query(c, "resource_type");
    const char *rid = pl_query(c, "resource_id"), *since = pl_query(c, "since"),
               *until = pl_query(c, "until");
    int64_t s_ms = 0, u_ms = 0, after_seq = 0;
    pl_page_t pg;
    pl_rows_t *r;
    json_t *data, *env;
    bool has_more = false;
    if (since && pl_rfc3339_parse(since, &s_ms) != 0)
        pl_err_field(&c->err, "since", "must be an RFC 3339 timestamp");
    if (until && pl_rfc3339_parse(until, &u_ms) != 0)
        pl_err_field(&c->err, "until", "must be an RFC 3339 timestamp");
    if (pl_page_parse(c, &pg) != 0)
        return c->err.status;
    if (pg.after) {
        char *end;
        after_seq = strtoll(pg.after, &end, 10);
        if (*end || after_seq < 1) {
            pl_err_field(&c->err, "cursor", "is not a valid cursor");
            return PL_EINVAL;
        }
    }
    if (pl_db_query(c->db, &r, sql,
                    PL_ARGS(PL_TEXT(c->tenant_id), after_seq ? PL_INT(after_seq) : PL_NULLV, PL_TEXT(actor),
                            PL_TEXT(action), PL_TEXT(rtype), PL_TEXT(rid), since ? PL_INT(s_ms) : PL_NULLV,
                            until ? PL_INT(u_ms) : PL_NULLV, PL_INT(pg.limit + 1))) != 0)
        return pl_fail(c, PL_EDB, NULL, "the audit log could not be read");
    data = json_array();
    while (pl_rows_next(r) == 1) {
        if ((int)json_array_size(data) == pg.limit) {
            has_more = true;
            break;
        }
        json_array_append_new(data, entry_json(r));
    }
    pl_rows_close(r);
    env =
        json_pack("{s:o,s:b,s:o}", "data", data, "has_more", has_more, "next_cursor",
                  has_more ? json_string(pl_cursor_encode(
                                 c, pl_printf(c->arena, "%lld",
                                              (long long)json_integer_value(json_object_get(
                                                  json_array_get(data, json_array_size(data) - 1), "seq")))))
                           : json_null());
    return pl_reply(c, 200, env);
}

static const pl_route_t routes[] = {
    {"GET", "/v1/audit-logs", h_list, "audit:read", PL_R_TENANT, NULL, 200,
     "The organization's audit log (actor, action, resource_type, resource_id, since, until)"},
    PL_ROUTES_END,
};
static const pl_route_t *const tables[] = {routes, NULL};

const pl_module_t pl_audit_module = {"audit", tables, NULL};
