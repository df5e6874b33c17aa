/*
 * apikeys.c — API keys: created with a role in one tenant, shown once, stored as SHA-256,
 * listed without secrets, revoked at once (the auth caches are emptied on revocation).
 */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "platform/auth.h"
#include "platform/internal.h"
#include "platform/platform.h"
#include "core/banned.h"

#define KEY_PREFIX "pk_live_"
#define COLS "id, name, role, prefix, created_by, created_at, last_used_at"

static json_t *key_json(pl_rows_t *r)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o}", "id", pl_rows_text(r, 0), "name", pl_rows_text(r, 1),
                     "role", pl_rows_text(r, 2), "prefix", pl_rows_text(r, 3), "created_by",
                     pl_json_str_or_null(pl_rows_text(r, 4)), "created_at", pl_json_time(pl_rows_int(r, 5)),
                     "last_used_at", pl_json_time_or_null(r, 6));
}

int pl_apikey_create(pl_db_t *db, pl_arena_t *a, const char *tenant_id, const char *name, const char *role,
                     const char *created_by, json_t **out, pl_err_t *err)
{
    static const char *sql = "INSERT INTO api_keys (id, tenant_id, name, role, prefix, key_hash, created_by, "
                             "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING " COLS;
    char key[96], hash[PL_SHA256_HEX], prefix[16];
    char *id = pl_alloc(a, PL_TYPEID_MAX);
    pl_rows_t *r;
    int rc;
    pl_typeid_new("key", id);
    pl_random_token(KEY_PREFIX, 32, key, sizeof(key));
    pl_sha256_hex(key, strlen(key), hash);
    snprintf(prefix, sizeof(prefix), "%.12s", key);
    if (pl_db_query(db, &r, sql,
                    PL_ARGS(PL_TEXT(id), PL_TEXT(tenant_id), PL_TEXT(name), PL_TEXT(role), PL_TEXT(prefix),
                            PL_TEXT(hash), PL_TEXT(created_by), PL_INT(pl_now_ms()))) != 0)
        return pl_err_set(err, PL_EDB, NULL, "cannot create the API key");
    rc = pl_rows_next(r);
    if (rc == 1) {
        *out = key_json(r);
        json_object_set_new(*out, "key", json_string(key));
    }
    pl_rows_close(r);
    return rc == 1 ? 0 : pl_err_set(err, PL_EDB, NULL, "cannot create the API key");
}

static const char *const key_roles[] = {"admin", "editor", "viewer", NULL};
static const pl_field_t create_fields[] = {
    {"name", PL_T_STRING, PL_F_REQUIRED, 1, 100, NULL, NULL, "what the key is for"},
    {"role", PL_T_ENUM, PL_F_REQUIRED, 0, 0, key_roles, NULL, "the role the key acts with"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t create_schema = {"ApiKeyCreate", create_fields, false};

static int h_create(pl_ctx_t *c)
{
    const char *role = pl_json_str(c->body, "role");
    json_t *out;
    if (pl_rbac_rank(role) > pl_caller_rank(c))
        return pl_fail(c, PL_EFORBIDDEN, NULL, "a key cannot have a higher role than its creator ('%s')",
                       c->principal->role);
    if (pl_limit_check(&c->op, "api_keys", 1) != 0)
        return c->err.status;
    if (pl_apikey_create(c->db, c->arena, c->tenant_id, pl_json_str(c->body, "name"), role, pl_caller_id(c),
                         &out, &c->err) != 0)
        return c->err.status;
    return pl_reply_change(c, 201, pl_json_str(out, "id"), NULL, out); /* the secret is redacted in both */
}

static int h_list(pl_ctx_t *c)
{
    static const char *sql = "SELECT " COLS " FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL "
                             "AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3";
    static const char *sql_n = "SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL";
    return pl_reply_list(c, sql, sql_n, key_json, "id");
}

static int h_get(pl_ctx_t *c)
{
    static const char *sql =
        "SELECT " COLS " FROM api_keys WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL";
    const char *id = pl_param(c, 0);
    json_t *k = pl_id_ok(id, "key")
                    ? pl_query_one(c->db, key_json, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id)))
                    : NULL;
    return k ? pl_reply(c, 200, k) : pl_fail_notfound(c, "API key");
}

static int h_delete(pl_ctx_t *c)
{
    static const char *sql = "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 "
                             "AND revoked_at IS NULL";
    static const char *sql_get =
        "SELECT " COLS " FROM api_keys WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL";
    const char *id = pl_param(c, 0);
    json_t *before;
    int n;
    if (!pl_id_ok(id, "key") || (before = pl_query_one(c->db, key_json, sql_get,
                                                       PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id)))) == NULL)
        return pl_fail_notfound(c, "API key");
    n = pl_db_exec(c->db, sql, PL_ARGS(PL_INT(pl_now_ms()), PL_TEXT(id), PL_TEXT(c->tenant_id)));
    if (n <= 0) {
        json_decref(before);
        return n < 0 ? pl_fail(c, PL_EDB, NULL, "cannot revoke the API key") : pl_fail_notfound(c, "API key");
    }
    pl_auth_changed(c);
    return pl_reply_deleted(c, id, before);
}

const pl_route_t pl_apikey_routes[] = {
    {"POST", "/v1/api-keys", h_create, "apikeys:manage", PL_R_TENANT, &create_schema, 201,
     "Create an API key (the secret is shown once)", "api_key.created"},
    {"GET", "/v1/api-keys", h_list, "apikeys:read", PL_R_TENANT, NULL, 200, "List API keys"},
    {"GET", "/v1/api-keys/{id}", h_get, "apikeys:read", PL_R_TENANT, NULL, 200, "Get an API key"},
    {"DELETE", "/v1/api-keys/{id}", h_delete, "apikeys:manage", PL_R_TENANT, NULL, 204, "Revoke an API key",
     "api_key.revoked"},
    PL_ROUTES_END,
};
