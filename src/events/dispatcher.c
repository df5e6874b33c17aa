/*
 * dispatcher.c — committed events → every module's consumers (see events.h).
 *
 * One thread reads the events after its cursor in commit order, hands each to every consumer
 * the modules declare, and moves the cursor — all in one transaction, so a consumer's writes
 * (deliveries, subscriber jobs) exist exactly when the cursor has passed the event. A
 * consumer that fails makes the whole batch roll back and be tried again a moment later: at
 * least once, in order.
 *
 * Commit order is a building block that differs per dialect. On SQLite the global seq is
 * commit order (one writer). With several writers it is not: a transaction that took seq 5
 * may commit after one that took seq 6, and a cursor "seq > last" would skip 5. On
 * PostgreSQL the position is (txid, seq): only events whose transaction id is below the
 * oldest running transaction (pg_snapshot_xmin) are read — every one of those has committed
 * or rolled back, and anything that commits later has a higher txid — in (txid, seq) order,
 * and the cursor keeps both.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cells.h"
#include "core/log.h"
#include "core/typeid.h"
#include "events/internal.h"
#include "core/banned.h"

#define BATCH 500

typedef struct {
    int64_t seq, occurred, txid;
    char id[PL_TYPEID_MAX], type[128], tenant[64];
    bool skip;
} row_t;

/* One per cell: each cell has its own outbox and cursor. */
typedef struct dispatcher {
    pl_app_t *app;
    const pl_cell_t *cell;
    pthread_t thread;
    row_t *rows;
} dispatcher_t;

typedef struct {
    pthread_mutex_t lock;
    dispatcher_t *cells[PL_MAX_CELLS];
    int n;
} dispatchers_t;

/* The pool holds, besides its own tenants' events, events a control-plane operation wrote
 * for a tenant of another cell: the relay moves those there (app/cells.h), and they are
 * delivered from there. */
static bool delivered_here(dispatcher_t *d, pl_db_t *db, const char *tenant)
{
    const pl_cell_t *home;
    if (d->cell->index != 0 || pl_app_ncells(d->app) < 2)
        return true;
    return pl_app_home_now(d->app, db, tenant, &home) != 0 || home->index == 0;
}

/* The next batch of committed events after the cursor, handed to every consumer. Returns how
 * many events it passed, 0 when there were none, <0 when the batch was rolled back. */
static int dispatch_batch(dispatcher_t *d, pl_db_t *db)
{
    static const pl_sql_t sql_cur = {
        "SELECT last_seq, 0 FROM dispatch_cursor WHERE name = 'dispatcher'",
        /* the cursor row is the dispatchers' lock: on several nodes one batch is handed out
         * once; a node that waited reads the cursor the other moved */
        "SELECT last_seq, last_txid::text::bigint FROM dispatch_cursor WHERE name = 'dispatcher' FOR UPDATE",
    };
    static const pl_sql_t sql_new = {
        "SELECT seq, id, type, tenant_id, occurred_at, 0, imported FROM events WHERE seq > $1 AND $2 = $2 "
        "ORDER BY seq LIMIT $3",
        "SELECT seq, id, type, tenant_id, occurred_at, txid::text::bigint, imported FROM events "
        "WHERE (txid, seq) > ($2::text::xid8, $1) AND txid < pg_snapshot_xmin(pg_current_snapshot()) "
        "ORDER BY txid, seq LIMIT $3",
    };
    static const pl_sql_t sql_move = {
        "UPDATE dispatch_cursor SET last_seq = $1 WHERE name = 'dispatcher' AND $2 = $2",
        "UPDATE dispatch_cursor SET last_seq = $1, last_txid = $2::text::xid8 WHERE name = 'dispatcher'",
    };
    int64_t cur = 0, cur_tx = 0;
    int n = 0, i, rc;
    size_t m;
    pl_rows_t *r;
    if (pl_db_begin(db, PL_TX_WRITE, NULL) != 0)
        return -1;
    if (pl_db_query(db, &r, pl_db_sql(db, &sql_cur), PL_NOARGS) != 0)
        goto fail;
    if ((rc = pl_rows_next(r)) == 1) {
        cur = pl_rows_int(r, 0);
        cur_tx = pl_rows_int(r, 1);
    }
    pl_rows_close(r);
    if (rc != 1 || pl_db_query(db, &r, pl_db_sql(db, &sql_new),
                               PL_ARGS(PL_INT(cur), PL_INT(cur_tx), PL_INT(BATCH))) != 0)
        goto fail;
    while (n < BATCH && (rc = pl_rows_next(r)) == 1) {
        row_t *ev = &d->rows[n++];
        ev->seq = pl_rows_int(r, 0);
        snprintf(ev->id, sizeof(ev->id), "%s", pl_rows_text(r, 1));
        snprintf(ev->type, sizeof(ev->type), "%s", pl_rows_text(r, 2));
        snprintf(ev->tenant, sizeof(ev->tenant), "%s", pl_rows_text(r, 3));
        ev->occurred = pl_rows_int(r, 4);
        ev->txid = pl_rows_int(r, 5);
        ev->skip = pl_rows_int(r, 6) != 0; /* copied in by a move: delivered where it was written */
    }
    pl_rows_close(r);
    if (n < BATCH && rc < 0)
        goto fail;
    for (i = 0; i < n; i++) {
        pl_event_ref_t ref = {d->rows[i].seq, d->rows[i].occurred, d->rows[i].id, d->rows[i].type,
                              d->rows[i].tenant};
        if (d->rows[i].skip || !delivered_here(d, db, d->rows[i].tenant))
            continue;
        for (m = 0; m < pl_app_nmodules(d->app); m++) {
            const pl_consumer_t *c;
            for (c = pl_app_module(d->app, m)->consumers; c && c->name; c++)
                if (c->consume(d->app, db, &ref) < 0) {
                    pl_logf(PL_LOG_WARN, "a consumer failed; the batch is tried again", "%s at event %s",
                            c->name, ref.id);
                    goto fail;
                }
        }
    }
    if (n && pl_db_exec(db, pl_db_sql(db, &sql_move),
                        PL_ARGS(PL_INT(d->rows[n - 1].seq), PL_INT(d->rows[n - 1].txid))) != 1)
        goto fail;
    if (pl_db_commit(db) != 0)
        return -1;
    return n;
fail:
    pl_db_rollback(db);
    return -1;
}

static void *dispatcher_main(void *arg)
{
    dispatcher_t *d = arg;
    pl_db_t *db;
    pl_err_t err;
    pl_err_clear(&err);
    if (pl_app_connect_cell(d->app, d->cell, &db, &err) != 0) {
        pl_logf(PL_LOG_ERROR, "dispatcher: no store connection", "cell %s", d->cell->name);
        return NULL;
    }
    while (!pl_app_stopping(d->app))
        if (dispatch_batch(d, db) <= 0)
            usleep(100000);
    pl_db_close(db);
    return NULL;
}

int pl_dispatcher_start(pl_app_t *app, pl_err_t *err)
{
    dispatchers_t *all = calloc(1, sizeof(*all));
    (void)err;
    if (all == NULL)
        abort();
    pthread_mutex_init(&all->lock, NULL);
    pl_app_set_state(app, &pl_events_module, all);
    return 0;
}

int pl_dispatcher_start_cell(pl_app_t *app, const pl_cell_t *cell, pl_err_t *err)
{
    dispatchers_t *all = pl_app_state(app, &pl_events_module);
    dispatcher_t *d = calloc(1, sizeof(*d));
    int rc = 0;
    if (d == NULL || (d->rows = calloc(BATCH, sizeof(row_t))) == NULL)
        abort();
    d->app = app;
    d->cell = cell;
    pthread_mutex_lock(&all->lock);
    if (all->n >= PL_MAX_CELLS || pl_app_thread(&d->thread, dispatcher_main, d, "dispatcher", err) != 0) {
        free(d->rows);
        free(d);
        rc = err->status ? err->status : PL_EINTERNAL;
    } else {
        all->cells[all->n++] = d;
    }
    pthread_mutex_unlock(&all->lock);
    return rc;
}

void pl_dispatcher_stop(pl_app_t *app)
{
    dispatchers_t *all = pl_app_state(app, &pl_events_module);
    int i;
    if (all == NULL)
        return;
    for (i = 0; i < all->n; i++) {
        pthread_join(all->cells[i]->thread, NULL);
        free(all->cells[i]->rows);
        free(all->cells[i]);
    }
    pthread_mutex_destroy(&all->lock);
    free(all);
    pl_app_set_state(app, &pl_events_module, NULL);
}
