/*
 * principal.c — credential → principal, with the per-worker cache (see auth.h).
 *
 * The cache is a direct-mapped table keyed by a 128-bit BLAKE2b hash of the credential:
 * a hit costs one hash and one memcmp, so neither the EdDSA signature check nor the
 * database lookup is paid per request. Entries carry the credential's expiry; the whole
 * table is dropped when the server's auth generation moves.
 */
#include "platform/auth.h"
#include "platform/internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "app/cells.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "platform/platform.h"
#include "platform/tokens.h"
#include "core/banned.h"

#define SLOTS 2048
#define TOUCH_EVERY_MS 60000

struct slot {
    bool used;
    uint8_t key[16];
    int64_t touched_ms; /* API keys: when last_used_at was last written */
    pl_principal_t p;
};

struct pl_authcache {
    uint64_t gen;
    struct slot slots[SLOTS];
};

int pl_authcache_worker_init(pl_app_t *app, pl_thread_t *t, void **slot)
{
    pl_authcache_t *c = calloc(1, sizeof(*c));
    (void)app;
    (void)t;
    if (c == NULL)
        abort();
    *slot = c;
    return 0;
}

void pl_authcache_worker_exit(pl_app_t *app, pl_thread_t *t, void *slot)
{
    (void)app;
    (void)t;
    free(slot);
}

static int unauthorized(pl_op_t *c, const char *why)
{
    return pl_op_fail(c, PL_EUNAUTH, NULL, "%s", why);
}

static void fill_tenant(pl_principal_t *p, const char *role, const char *status, int64_t is_platform,
                        int64_t num)
{
    p->tenant_num = num;
    snprintf(p->role, sizeof(p->role), "%s", role);
    p->suspended = strcmp(status, "active") != 0;
    p->platform = is_platform != 0;
    p->perms = pl_rbac_role_perms(role, p->platform);
}

static int resolve_key(pl_op_t *c, pl_str_t cred, pl_principal_t *p)
{
    static const char *sql =
        "SELECT k.id, k.tenant_id, k.role, t.status, t.is_platform, t.num FROM api_keys k "
        "JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL";
    char hash[PL_SHA256_HEX];
    pl_rows_t *r;
    int rc;
    pl_sha256_hex(cred.ptr, cred.len, hash);
    /* A key names its tenant only through its row: the lookup is control-plane work (it
     * reads api_keys across tenants; docs/architecture.md, row-level security). */
    if (pl_db_begin(c->db, PL_TX_READ, NULL) != 0)
        return pl_op_fail(c, PL_EUNAVAIL, "store_unavailable", "the store is unavailable; retry");
    if (pl_db_query(c->db, &r, sql, PL_ARGS(PL_TEXT(hash))) != 0)
        return pl_op_fail(c, PL_EDB, NULL, "the store is unavailable");
    rc = pl_rows_next(r);
    if (rc == 1) {
        p->kind = PL_PRINCIPAL_APIKEY;
        snprintf(p->key_id, sizeof(p->key_id), "%s", pl_rows_text(r, 0));
        snprintf(p->tenant_id, sizeof(p->tenant_id), "%s", pl_rows_text(r, 1));
        fill_tenant(p, pl_rows_text(r, 2), pl_rows_text(r, 3), pl_rows_int(r, 4), pl_rows_int(r, 5));
        p->expires_ms = 0;
    }
    pl_rows_close(r);
    if (rc < 0)
        return pl_op_fail(c, PL_EDB, NULL, "the store is unavailable");
    return rc == 1 ? 0 : unauthorized(c, "the API key is not valid");
}

static int resolve_jwt(pl_op_t *c, pl_str_t cred, pl_principal_t *p)
{
    static const char *sql =
        "SELECT tu.role, t.status, t.is_platform, t.num FROM tenant_users tu JOIN tenants t ON t.id = "
        "tu.tenant_id "
        "WHERE tu.tenant_id = $1 AND tu.user_id = $2 "
        "AND EXISTS (SELECT 1 FROM sessions s WHERE s.family_id = $3 AND s.user_id = $2 AND s.tenant_id = "
        "$1) "
        "AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.family_id = $3 AND s.revoked_at IS NOT NULL)";
    pl_claims_t cl;
    const char *why;
    pl_rows_t *r;
    int rc;
    if (pl_tokens_verify(pl_platform_tokens(c->app), cred.ptr, cred.len, pl_now_ms() / 1000, &cl, &why) != 0)
        return unauthorized(c, why);
    /* a token names its tenant: its checks run in that tenant's context */
    if (pl_db_begin(c->db, PL_TX_READ, cl.tid) != 0)
        return pl_op_fail(c, PL_EUNAVAIL, "store_unavailable", "the store is unavailable; retry");
    if (pl_db_query(c->db, &r, sql, PL_ARGS(PL_TEXT(cl.tid), PL_TEXT(cl.sub), PL_TEXT(cl.sid))) != 0)
        return pl_op_fail(c, PL_EDB, NULL, "the store is unavailable");
    rc = pl_rows_next(r);
    if (rc == 1) {
        p->kind = PL_PRINCIPAL_USER;
        snprintf(p->user_id, sizeof(p->user_id), "%s", cl.sub);
        snprintf(p->tenant_id, sizeof(p->tenant_id), "%s", cl.tid);
        snprintf(p->session_id, sizeof(p->session_id), "%s", cl.sid);
        fill_tenant(p, pl_rows_text(r, 0), pl_rows_text(r, 1), pl_rows_int(r, 2), pl_rows_int(r, 3));
        p->expires_ms = cl.exp * 1000;
    }
    pl_rows_close(r);
    if (rc < 0)
        return pl_op_fail(c, PL_EDB, NULL, "the store is unavailable");
    return rc == 1 ? 0 : unauthorized(c, "the session has ended or the access was revoked");
}

/* A bookkeeping column (not a change of the key: no audit entry), at most once a minute. */
static void touch_key(pl_op_t *c, const pl_principal_t *p, int64_t now)
{
    static const char *sql = "UPDATE api_keys SET last_used_at = $1 WHERE id = $2";
    pl_db_exec_tx(c->db, p->tenant_id, sql, PL_ARGS(PL_INT(now), PL_TEXT(p->key_id)));
}

/* An API key (pk_…) or an access token → a principal with its tenant's plan applied; one
 * read transaction, opened by the resolver that knows its context. */
static int resolve(pl_op_t *c, pl_str_t cred, pl_principal_t *p)
{
    int rc;
    memset(p, 0, sizeof(*p));
    rc =
        (cred.len > 3 && memcmp(cred.ptr, "pk_", 3) == 0) ? resolve_key(c, cred, p) : resolve_jwt(c, cred, p);
    if (rc == 0 && pl_plan_apply(c->db, p->tenant_id, p) != 0)
        rc = pl_op_fail(c, PL_EDB, NULL, "the store is unavailable");
    if (rc == 0) {
        const pl_cell_t *home;
        if (pl_app_home(c->app, c->db, p->tenant_id, &home) != 0)
            rc = pl_op_fail(c, PL_EUNAVAIL, "store_unavailable", "the tenant's cell is unavailable");
        else
            p->cell = home->index;
    }
    pl_db_rollback(c->db); /* read only */
    return rc ? c->err.status : 0;
}

int pl_auth_resolve(pl_op_t *c, pl_str_t cred, const pl_principal_t **out)
{
    pl_authcache_t *cache = pl_app_slot(c->app, c->thread, &pl_platform_module);
    uint64_t gen = pl_app_auth_gen(c->app);
    uint8_t key[16];
    uint64_t h;
    struct slot *s;
    pl_principal_t p, *copy;
    int64_t now = pl_now_ms();

    if (cred.len > 8192)
        return unauthorized(c, "the credential is too long");
    if (cache == NULL) { /* a thread without a cache (tests, the CLI): resolve every time */
        if (resolve(c, cred, &p) != 0)
            return c->err.status;
        copy = pl_alloc(c->arena, sizeof(*copy));
        *copy = p;
        *out = copy;
        return 0;
    }
    if (cache->gen != gen) {
        size_t i;
        for (i = 0; i < SLOTS; i++)
            cache->slots[i].used = false;
        cache->gen = gen;
    }
    crypto_generichash(key, sizeof(key), (const unsigned char *)cred.ptr, cred.len, NULL, 0);
    memcpy(&h, key, sizeof(h));
    s = &cache->slots[h % SLOTS];
    if (!(s->used && memcmp(s->key, key, sizeof(key)) == 0 &&
          (s->p.expires_ms == 0 || s->p.expires_ms > now))) {
        if (resolve(c, cred, &p) != 0)
            return c->err.status;
        s->used = true;
        memcpy(s->key, key, sizeof(key));
        s->p = p;
        s->touched_ms = 0;
    }
    if (s->p.kind == PL_PRINCIPAL_APIKEY && now - s->touched_ms > TOUCH_EVERY_MS) {
        touch_key(c, &s->p, now);
        s->touched_ms = now;
    }
    copy = pl_alloc(c->arena, sizeof(*copy));
    *copy = s->p;
    *out = copy;
    return 0;
}
