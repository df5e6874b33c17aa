/*
 * relay.c — moves audit entries and events that control-plane operations wrote in the pool
 * for tenants of other cells to those cells (app/cells.h, relay.h).
 *
 * For each queued tenant: in a write transaction of the tenant on its home cell, every entry
 * and event of the tenant still in the pool is appended there unless the home already has it
 * (same id: a relay that stopped half-way is finished, never doubled); that commits; then, in
 * the pool, what was copied is deleted with the queue row. Entries keep their id, actor and
 * time and join the home's chain of the tenant; events keep their id and time and get the
 * tenant's next number there, and are delivered from there.
 */
#include "app/relay.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/audit.h"
#include "app/cells.h"
#include "app/outbox.h"
#include "core/log.h"
#include "core/banned.h"

#define BATCH 200

static const char *sql_audit = "SELECT " PL_AUDIT_COPY_COLS ", seq FROM audit_log "
                               "WHERE tenant_id = $1 ORDER BY seq LIMIT 200";
static const char *sql_events = "SELECT id, type, data, request_id, occurred_at, seq FROM events "
                                "WHERE tenant_id = $1 ORDER BY seq LIMIT 200";

static bool has(pl_db_t *db, const char *sql, const char *id)
{
    int64_t one = 0;
    return pl_db_int(db, &one, sql, PL_ARGS(PL_TEXT(id))) == 1;
}

/* Copies up to BATCH entries and events of tenant from pool (its open transaction) to home (in
 * a transaction of its own, committed here). *last_audit and *last_event receive the highest
 * seq copied (0: none). */
static int copy_rows(pl_app_t *app, pl_db_t *pool, pl_db_t *home, const char *tenant, int64_t *last_audit,
                     int64_t *last_event)
{
    pl_rows_t *r;
    int rc, step;
    *last_audit = *last_event = 0;
    if ((rc = pl_db_begin(home, PL_TX_WRITE, tenant)) != 0)
        return rc;
    if (pl_db_query(pool, &r, sql_audit, PL_ARGS(PL_TEXT(tenant))) != 0)
        goto fail;
    while (rc == 0 && (step = pl_rows_next(r)) == 1) {
        const char *col[12];
        int c;
        for (c = 0; c < 12; c++)
            col[c] = pl_rows_text(r, c);
        if (!has(home, "SELECT 1 FROM audit_log WHERE id = $1", col[0]) &&
            pl_audit_append_copy(app, home, tenant, col) != 0)
            rc = PL_EDB;
        *last_audit = pl_rows_int(r, 12);
    }
    pl_rows_close(r);
    if (rc != 0 || step < 0 || pl_db_query(pool, &r, sql_events, PL_ARGS(PL_TEXT(tenant))) != 0)
        goto fail;
    while (rc == 0 && (step = pl_rows_next(r)) == 1) {
        const char *id = pl_rows_text(r, 0);
        if (!has(home, "SELECT 1 FROM events WHERE id = $1", id) &&
            pl_outbox_append_copy(home, id, tenant, pl_rows_text(r, 1), pl_rows_text(r, 2),
                                  pl_rows_text(r, 3), pl_rows_int(r, 4)) != 0)
            rc = PL_EDB;
        *last_event = pl_rows_int(r, 5);
    }
    pl_rows_close(r);
    if (rc != 0 || step < 0 || pl_db_commit(home) != 0)
        goto fail;
    return 0;
fail:
    pl_db_rollback(home);
    return rc ? rc : PL_EDB;
}

/* Relays one tenant; returns 1 when it is done (queue row gone), 0 to try again later. */
static int relay_tenant(pl_app_t *app, pl_db_t *pool, pl_db_t **conns, const char *tenant)
{
    static const char *sql_del_audit = "DELETE FROM audit_log WHERE tenant_id = $1 AND seq <= $2";
    static const char *sql_del_head = "DELETE FROM audit_heads WHERE tenant_id = $1 AND seq <= $2";
    static const char *sql_del_events = "DELETE FROM events WHERE tenant_id = $1 AND seq <= $2";
    static const char *sql_left = "SELECT (SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1) + "
                                  "(SELECT COUNT(*) FROM events WHERE tenant_id = $1)";
    static const char *sql_dequeue = "DELETE FROM relay_queue WHERE tenant_id = $1";
    const pl_cell_t *home;
    pl_err_t err;
    int64_t la = 0, le = 0, left = 0;
    int rc;
    if (pl_db_begin(pool, PL_TX_WRITE, tenant) != 0)
        return 0;
    if (pl_app_home_now(app, pool, tenant, &home) != 0) {
        pl_db_rollback(pool);
        return 0;
    }
    if (home->index != 0) {
        pl_err_clear(&err);
        if (conns[home->index] == NULL && pl_app_connect_cell(app, home, &conns[home->index], &err) != 0) {
            conns[home->index] = NULL;
            pl_db_rollback(pool);
            return 0;
        }
        if (copy_rows(app, pool, conns[home->index], tenant, &la, &le) != 0) {
            pl_db_rollback(pool); /* the home is busy, or the tenant is moving: later */
            return 0;
        }
        /* the chain's head goes with the last entry: a later operation starts a new chain here,
         * relayed in turn */
        if ((la && (pl_db_exec(pool, sql_del_audit, PL_ARGS(PL_TEXT(tenant), PL_INT(la))) < 0 ||
                    pl_db_exec(pool, sql_del_head, PL_ARGS(PL_TEXT(tenant), PL_INT(la))) < 0)) ||
            (le && pl_db_exec(pool, sql_del_events, PL_ARGS(PL_TEXT(tenant), PL_INT(le))) < 0) ||
            pl_db_int(pool, &left, sql_left, PL_ARGS(PL_TEXT(tenant))) != 1) {
            pl_db_rollback(pool);
            return 0;
        }
    }
    rc = left == 0 ? pl_db_exec(pool, sql_dequeue, PL_ARGS(PL_TEXT(tenant))) : 0;
    if (rc < 0 || pl_db_commit(pool) != 0) {
        pl_db_rollback(pool);
        return 0;
    }
    return left == 0;
}

int pl_relay_run(pl_app_t *app, pl_db_t *pool, pl_db_t **conns)
{
    static const char *sql = "SELECT tenant_id FROM relay_queue ORDER BY queued_at, tenant_id LIMIT 64";
    char tenants[64][64];
    pl_rows_t *r;
    int n = 0, i, done = 0;
    if (pl_db_begin(pool, PL_TX_READ, NULL) != 0)
        return PL_EDB;
    if (pl_db_query(pool, &r, sql, PL_NOARGS) == 0) {
        while (n < 64 && pl_rows_next(r) == 1)
            snprintf(tenants[n++], sizeof(tenants[0]), "%s", pl_rows_text(r, 0));
        pl_rows_close(r);
    }
    pl_db_rollback(pool);
    for (i = 0; i < n; i++)
        done += relay_tenant(app, pool, conns, tenants[i]);
    return done;
}

static const char *sql_gen = "SELECT value FROM generations WHERE name = 'directory'";

int pl_app_directory_changed(pl_app_t *app, pl_db_t *pool)
{
    static const char *sql = "UPDATE generations SET value = value + 1 WHERE name = 'directory'";
    (void)app;
    return pl_db_exec(pool, sql, PL_NOARGS) == 1 ? 0 : PL_EDB;
}

static void *relay_main(void *arg)
{
    pl_relay_t *rl = arg;
    pl_db_t *pool, *conns[PL_MAX_CELLS] = {NULL};
    pl_err_t err;
    size_t i;
    pl_err_clear(&err);
    if (pl_app_connect(rl->app, &pool, &err) != 0) {
        pl_log(PL_LOG_ERROR, "relay: no store connection", NULL);
        return NULL;
    }
    int64_t seen = -1, now;
    int tick = 0;
    while (!pl_app_stopping(rl->app)) {
        if (pl_app_ncells(rl->app) > 1)
            pl_relay_run(rl->app, pool, conns);
        /* a tenant that changed cells (on whatever node or CLI): forget the cached homes */
        if (tick++ % 10 == 0 && pl_db_int_tx(pool, NULL, &now, sql_gen, PL_NOARGS) == 1) {
            if (seen >= 0 && now != seen)
                pl_app_auth_forget(rl->app);
            seen = now;
        }
        usleep(100000);
    }
    for (i = 0; i < PL_MAX_CELLS; i++)
        pl_db_close(conns[i]);
    pl_db_close(pool);
    return NULL;
}

int pl_relay_start(pl_relay_t *rl, pl_app_t *app, pl_err_t *err)
{
    rl->app = app;
    if (pl_app_thread(&rl->thread, relay_main, rl, "relay", err) != 0)
        return err->status;
    rl->started = true;
    return 0;
}

void pl_relay_stop(pl_relay_t *rl)
{
    if (rl->started)
        pthread_join(rl->thread, NULL);
    rl->started = false;
}
