/*
 * idempotency.c — stored responses of POSTs sent with an Idempotency-Key (see idempotency.h).
 */
#include "app/idempotency.h"

#include <string.h>

#include "core/clock.h"
#include "core/banned.h"

#define TTL_MS (24LL * 3600 * 1000)
#define STALE_MS (60LL * 1000)

bool pl_idempotency_key_valid(const char *key, size_t len)
{
    size_t i;
    if (len < 1 || len > 255)
        return false;
    for (i = 0; i < len; i++)
        if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e)
            return false;
    return true;
}

pl_idem_t pl_idempotency_claim(pl_db_t *db, pl_arena_t *a, const char *tenant_id, const char *key,
                               const char *request_hash, pl_idem_stored_t *stored)
{
    static const char *sql_get =
        "SELECT request_hash, state, status, content_type, body, created_at, expires_at "
        "FROM idempotency_keys WHERE tenant_id = $1 AND key = $2";
    /* only a row that is expired or abandoned: a concurrent claim's fresh row stays */
    static const char *sql_del = "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND "
                                 "(expires_at <= $3 OR (state = 'running' AND created_at < $4))";
    static const char *sql_ins =
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, state, created_at, "
        "expires_at) VALUES ($1, $2, $3, 'running', $4, $5)";
    int64_t now = pl_now_ms();
    pl_idem_t out = PL_IDEM_NEW;
    pl_rows_t *r;
    int rc, attempt = 0;
again:
    out = PL_IDEM_NEW;
    if (pl_db_begin(db, PL_TX_WRITE, tenant_id) != 0)
        return PL_IDEM_ERROR;
    if (pl_db_query(db, &r, sql_get, PL_ARGS(PL_TEXT(tenant_id), PL_TEXT(key))) != 0)
        goto fail;
    rc = pl_rows_next(r);
    if (rc == 1) {
        bool expired = pl_rows_int(r, 6) <= now;
        bool running = strcmp(pl_rows_text(r, 1), "running") == 0;
        bool stale = running && pl_rows_int(r, 5) < now - STALE_MS;
        if (expired || stale) {
            out = PL_IDEM_NEW; /* forget it and start over */
        } else if (strcmp(pl_rows_text(r, 0), request_hash) != 0) {
            out = PL_IDEM_MISMATCH;
        } else if (running) {
            out = PL_IDEM_RUNNING;
        } else {
            size_t n = 0;
            const void *b = pl_rows_blob(r, 4, &n);
            out = PL_IDEM_REPLAY;
            stored->status = (int)pl_rows_int(r, 2);
            stored->content_type = pl_strdup(a, pl_rows_text(r, 3) ? pl_rows_text(r, 3) : "application/json");
            stored->body = pl_strndup(a, b ? b : "", n);
            stored->len = n;
        }
    }
    pl_rows_close(r);
    if (rc < 0)
        goto fail;
    if (out == PL_IDEM_NEW) {
        if (pl_db_exec(db, sql_del,
                       PL_ARGS(PL_TEXT(tenant_id), PL_TEXT(key), PL_INT(now), PL_INT(now - STALE_MS))) < 0)
            goto fail;
        rc = pl_db_exec(db, sql_ins,
                        PL_ARGS(PL_TEXT(tenant_id), PL_TEXT(key), PL_TEXT(request_hash), PL_INT(now),
                                PL_INT(now + TTL_MS)));
        /* A concurrent request with this key claimed it first (writers are not serialized on
         * PostgreSQL): read its row again, which says running, replay or mismatch. */
        if (rc == PL_ECONFLICT && attempt++ == 0) {
            pl_db_rollback(db);
            goto again;
        }
        if (rc < 0)
            goto fail;
    }
    if (pl_db_commit(db) != 0)
        return PL_IDEM_ERROR;
    return out;
fail:
    pl_db_rollback(db);
    return PL_IDEM_ERROR;
}

int pl_idempotency_store(pl_db_t *db, const char *tenant_id, const char *key, int status,
                         const char *content_type, const char *body, size_t len)
{
    static const char *sql =
        "UPDATE idempotency_keys SET state = 'done', status = $3, content_type = $4, body = $5 "
        "WHERE tenant_id = $1 AND key = $2";
    return pl_db_exec(db, sql,
                      PL_ARGS(PL_TEXT(tenant_id), PL_TEXT(key), PL_INT(status), PL_TEXT(content_type),
                              PL_BLOB(body, len))) < 0
               ? PL_EDB
               : 0;
}

void pl_idempotency_release(pl_db_t *db, const char *tenant_id, const char *key)
{
    static const char *sql =
        "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND state = 'running'";
    pl_db_exec_tx(db, tenant_id, sql, PL_ARGS(PL_TEXT(tenant_id), PL_TEXT(key)));
}

int64_t pl_idempotency_expire(pl_db_t *db)
{
    static const char *sql = "DELETE FROM idempotency_keys WHERE expires_at <= $1";
    return pl_db_exec(db, sql, PL_ARGS(PL_INT(pl_now_ms())));
}
