/*
 * move.c — moving a tenant between cells (see move.h).
 */
#include "app/move.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "app/audit.h"
#include "app/outbox.h"
#include "app/relay.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/banned.h"

#define DRAIN_MS 30000

/* The tenant's write lock in the cell (as pl_db_begin takes it for a tenant's writes), inside
 * a control-scope transaction: SQLite's write transaction is the lock already. */
static int lock_tenant(pl_db_t *db, const char *tenant)
{
    static const pl_sql_t sql = {"SELECT 1 WHERE $1 = $1",
                                 "SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) l"};
    char key[160];
    int64_t one;
    snprintf(key, sizeof(key), "%s%s%s", pl_db_schema(db) ? pl_db_schema(db) : "",
             pl_db_schema(db) ? "/" : "", tenant);
    return pl_db_int(db, &one, pl_db_sql(db, &sql), PL_ARGS(PL_TEXT(key))) == 1 ? 0 : PL_EDB;
}

static bool skipped(const char *table)
{
    /* the move's own bookkeeping and the pool's relay queue stay where they are */
    return strcmp(table, "tenant_moves") == 0 || strcmp(table, "relay_queue") == 0;
}

/* The data-plane tables of the tenant, parents (of foreign keys) before children. The catalog
 * is read in a cell that holds the data plane only: the pool's also has control tables. */
static int list_tables(pl_move_t *mv, pl_err_t *err)
{
    static const pl_sql_t sql_parents = {
        "SELECT \"table\" FROM pragma_foreign_key_list($1)",
        "SELECT c.confrelid::regclass::text FROM pg_constraint c WHERE c.contype = 'f' "
        "AND c.conrelid = $1::regclass",
    };
    pl_db_t *cat = mv->from->index != 0 ? mv->src : mv->dst;
    char names[PL_MOVE_MAX_TABLES][64], *cols[PL_MOVE_MAX_TABLES];
    bool placed[PL_MOVE_MAX_TABLES] = {false};
    pl_rows_t *r;
    int n = 0, i, rc = 0, round;
    if (pl_db_begin(cat, PL_TX_READ, NULL) != 0 || pl_db_tenant_tables(cat, &r) != 0) {
        pl_db_rollback(cat);
        return pl_err_set(err, PL_EDB, NULL, "cannot read the tables of cell %s", mv->to->name);
    }
    while (n < PL_MOVE_MAX_TABLES && pl_rows_next(r) == 1)
        if (!skipped(pl_rows_text(r, 0))) {
            snprintf(names[n], sizeof(names[n]), "%s", pl_rows_text(r, 0));
            cols[n++] = strdup(pl_rows_text(r, 1) ? pl_rows_text(r, 1) : "");
        }
    pl_rows_close(r);
    /* a table goes once every parent it names (among these) has gone */
    for (round = 0; round < n && mv->ntables < n && rc == 0; round++)
        for (i = 0; i < n && rc == 0; i++) {
            bool ready = true;
            if (placed[i])
                continue;
            if (pl_db_query(cat, &r, pl_db_sql(cat, &sql_parents), PL_ARGS(PL_TEXT(names[i]))) != 0) {
                rc = PL_EDB;
                break;
            }
            while (pl_rows_next(r) == 1) {
                int k;
                for (k = 0; k < n; k++)
                    if (k != i && !placed[k] && strcmp(names[k], pl_rows_text(r, 0)) == 0)
                        ready = false;
            }
            pl_rows_close(r);
            if (ready) {
                placed[i] = true;
                snprintf(mv->tables[mv->ntables], sizeof(mv->tables[0]), "%s", names[i]);
                mv->cols[mv->ntables++] = cols[i];
            }
        }
    pl_db_rollback(cat);
    for (i = 0; i < n; i++)
        if (!placed[i])
            free(cols[i]);
    if (rc == 0 && mv->ntables < n)
        rc = pl_err_set(err, PL_EINTERNAL, NULL, "the tables' foreign keys form a cycle");
    return rc ? (err->status ? err->status : pl_err_set(err, PL_EDB, NULL, "cannot read the catalog")) : 0;
}

/* Waits until the source's dispatcher has passed every event of the tenant written there. */
static int drain(pl_move_t *mv, pl_err_t *err)
{
    static const pl_sql_t sql = {
        "SELECT COUNT(*) FROM events e, dispatch_cursor c WHERE c.name = 'dispatcher' AND "
        "e.tenant_id = $1 AND e.imported = 0 AND e.seq > c.last_seq",
        "SELECT COUNT(*) FROM events e, dispatch_cursor c WHERE c.name = 'dispatcher' AND "
        "e.tenant_id = $1 AND e.imported = 0 AND (e.txid, e.seq) > (c.last_txid, c.last_seq)",
    };
    int64_t t0 = pl_mono_ms(), left = 1;
    while (pl_mono_ms() - t0 < DRAIN_MS) {
        if (pl_db_int_tx(mv->src, NULL, &left, pl_db_sql(mv->src, &sql), PL_ARGS(PL_TEXT(mv->tenant))) != 1)
            return pl_err_set(err, PL_EDB, NULL, "cannot read the source's outbox");
        if (left == 0)
            return 0;
        usleep(50000);
    }
    return pl_err_set(err, PL_EUNAVAIL, NULL,
                      "the source cell's dispatcher has not delivered %lld events of the tenant in %d s",
                      (long long)left, DRAIN_MS / 1000);
}

/* INSERT INTO t (cols) VALUES ($1 … $n) ON CONFLICT DO NOTHING, in buf. */
static const char *insert_sql(pl_buf_t *b, const char *table, const char *cols, int *n)
{
    const char *p;
    int i;
    *n = 1;
    for (p = cols; *p; p++)
        *n += *p == ',';
    pl_buf_reset(b);
    pl_buf_adds(b, "INSERT INTO ");
    pl_buf_adds(b, table);
    pl_buf_adds(b, " (");
    pl_buf_adds(b, cols);
    pl_buf_adds(b, ") VALUES (");
    for (i = 1; i <= *n; i++) {
        char ph[16];
        snprintf(ph, sizeof(ph), "%s$%d", i > 1 ? ", " : "", i);
        pl_buf_adds(b, ph);
    }
    pl_buf_adds(b, ") ON CONFLICT DO NOTHING");
    return pl_buf_cstr(b);
}

static int copy_table(pl_move_t *mv, int t, pl_buf_t *b)
{
    pl_buf_t sel;
    pl_rows_t *r;
    const char *ins;
    int n, rc = 0, step;
    if (mv->cols[t][0] == '\0')
        return 0;
    pl_buf_init(&sel, NULL);
    pl_buf_adds(&sel, "SELECT ");
    pl_buf_adds(&sel, mv->cols[t]);
    pl_buf_adds(&sel, " FROM ");
    pl_buf_adds(&sel, mv->tables[t]);
    pl_buf_adds(&sel, " WHERE tenant_id = $1");
    if (strcmp(mv->tables[t], "events") == 0) /* the outbox's new commit order follows the tenant's */
        pl_buf_adds(&sel, " ORDER BY tenant_seq");
    ins = insert_sql(b, mv->tables[t], mv->cols[t], &n);
    if (n > 32 || pl_db_query(mv->src, &r, pl_buf_cstr(&sel), PL_ARGS(PL_TEXT(mv->tenant))) != 0) {
        pl_buf_release(&sel);
        return PL_EDB;
    }
    while (rc == 0 && (step = pl_rows_next(r)) == 1) {
        pl_val_t v[32];
        int i;
        for (i = 0; i < n; i++)
            v[i] = pl_rows_value(r, i);
        if (pl_db_exec(mv->dst, ins, v, n) < 0)
            rc = PL_EDB;
        else
            mv->rows++;
    }
    pl_rows_close(r);
    pl_buf_release(&sel);
    return rc != 0 || step < 0 ? PL_EDB : 0;
}

/* Removes the tenant's rows of every listed table from db (children first), in its open
 * transaction. */
static int delete_rows(pl_move_t *mv, pl_db_t *db)
{
    pl_buf_t b;
    int t, rc = 0;
    pl_buf_init(&b, NULL);
    for (t = mv->ntables - 1; t >= 0 && rc == 0; t--) {
        pl_buf_reset(&b);
        pl_buf_adds(&b, "DELETE FROM ");
        pl_buf_adds(&b, mv->tables[t]);
        pl_buf_adds(&b, " WHERE tenant_id = $1");
        if (pl_db_exec(db, pl_buf_cstr(&b), PL_ARGS(PL_TEXT(mv->tenant))) < 0)
            rc = PL_EDB;
    }
    pl_buf_release(&b);
    return rc;
}

/* Into the pool, the tenant may already have entries and events there that control-plane
 * operations wrote while its home was elsewhere and the relay could not deliver (the source
 * refused them): they are parked before the copy and appended after it, so the chain the
 * copy brings stays whole and they join its end. In dst's open transaction. */
static int park(pl_move_t *mv, json_t **audit, json_t **events)
{
    static const char *sql_a =
        "SELECT " PL_AUDIT_COPY_COLS " FROM audit_log WHERE tenant_id = $1 ORDER BY seq";
    static const char *sql_e =
        "SELECT id, type, data, request_id, occurred_at FROM events WHERE tenant_id = $1 "
        "ORDER BY seq";
    /* the event counter goes too: the copy brings the tenant's, which the parked ones follow */
    static const char *const sql_del[] = {
        "DELETE FROM audit_log WHERE tenant_id = $1", "DELETE FROM audit_heads WHERE tenant_id = $1",
        "DELETE FROM events WHERE tenant_id = $1",
        "DELETE FROM tenant_sequences WHERE tenant_id = $1 AND name = 'events'", NULL};
    pl_rows_t *r;
    int i, c;
    *audit = json_array();
    *events = json_array();
    for (i = 0; i < 2; i++) {
        if (pl_db_query(mv->dst, &r, i == 0 ? sql_a : sql_e, PL_ARGS(PL_TEXT(mv->tenant))) != 0)
            return PL_EDB;
        while (pl_rows_next(r) == 1) {
            json_t *row = json_array();
            for (c = 0; c < pl_rows_ncols(r); c++)
                json_array_append_new(row,
                                      pl_rows_null(r, c) ? json_null() : json_string(pl_rows_text(r, c)));
            json_array_append_new(i == 0 ? *audit : *events, row);
        }
        pl_rows_close(r);
    }
    for (i = 0; sql_del[i]; i++)
        if (pl_db_exec(mv->dst, sql_del[i], PL_ARGS(PL_TEXT(mv->tenant))) < 0)
            return PL_EDB;
    return 0;
}

static const char *col(json_t *row, size_t i)
{
    return json_string_value(json_array_get(row, i));
}

static int unpark(pl_move_t *mv, json_t *audit, json_t *events)
{
    size_t i;
    json_t *row;
    json_array_foreach(audit, i, row)
    {
        const char *cols[12];
        size_t c;
        for (c = 0; c < 12; c++)
            cols[c] = col(row, c);
        if (pl_audit_append_copy(mv->app, mv->dst, mv->tenant, cols) != 0)
            return PL_EDB;
    }
    json_array_foreach(events, i, row)
    {
        if (pl_outbox_append_copy(mv->dst, col(row, 0), mv->tenant, col(row, 1), col(row, 2), col(row, 3),
                                  strtoll(col(row, 4), NULL, 10)) != 0)
            return PL_EDB;
    }
    return 0;
}

int pl_move_copy(pl_move_t *mv, pl_app_t *app, const char *tenant_id, const pl_cell_t *from,
                 const pl_cell_t *to, pl_err_t *err)
{
    static const char *sql_unmark = "DELETE FROM tenant_moves WHERE tenant_id = $1";
    static const char *sql_mark =
        "INSERT INTO tenant_moves (tenant_id, to_cell, moved_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (tenant_id) DO UPDATE SET to_cell = excluded.to_cell, "
        "moved_at = excluded.moved_at";
    static const char *sql_imported = "UPDATE events SET imported = 1 WHERE tenant_id = $1";
    json_t *parked_audit = NULL, *parked_events = NULL;
    pl_buf_t b;
    int t, rc;
    memset(mv, 0, sizeof(*mv));
    mv->app = app;
    mv->tenant = tenant_id;
    mv->from = from;
    mv->to = to;
    if (pl_app_connect_cell(app, from, &mv->src, err) != 0 ||
        pl_app_connect_cell(app, to, &mv->dst, err) != 0 || list_tables(mv, err) != 0)
        return err->status ? err->status : PL_EDB;
    /* the target: the mark of an earlier move out goes */
    if (pl_db_begin(mv->dst, PL_TX_WRITE, NULL) != 0 ||
        pl_db_exec(mv->dst, sql_unmark, PL_ARGS(PL_TEXT(tenant_id))) < 0 || pl_db_commit(mv->dst) != 0) {
        pl_db_rollback(mv->dst);
        return pl_err_set(err, PL_EDB, NULL, "cannot prepare cell %s: %s", to->name, pl_db_errmsg(mv->dst));
    }
    /* the pause: from this commit on the tenant's writes in the source are refused */
    if (pl_db_begin(mv->src, PL_TX_WRITE, NULL) != 0 || lock_tenant(mv->src, tenant_id) != 0 ||
        pl_db_exec(mv->src, sql_mark, PL_ARGS(PL_TEXT(tenant_id), PL_TEXT(to->name), PL_INT(pl_now_ms()))) !=
            1 ||
        pl_db_commit(mv->src) != 0) {
        pl_db_rollback(mv->src);
        return pl_err_set(err, PL_EDB, NULL, "cannot pause the tenant's writes in cell %s: %s", from->name,
                          pl_db_errmsg(mv->src));
    }
    mv->paused_at_ms = pl_now_ms();
    if (drain(mv, err) != 0) {
        pl_move_abort(mv);
        return err->status;
    }
    pl_buf_init(&b, NULL);
    rc = pl_db_begin(mv->src, PL_TX_READ, tenant_id) != 0 || pl_db_begin(mv->dst, PL_TX_WRITE, NULL) != 0 ||
         (to->index == 0 && park(mv, &parked_audit, &parked_events) != 0);
    for (t = 0; rc == 0 && t < mv->ntables; t++)
        if ((rc = copy_table(mv, t, &b)) != 0)
            pl_logf(PL_LOG_ERROR, "a table could not be copied", "%s: %s", mv->tables[t],
                    pl_db_errmsg(mv->dst));
    pl_buf_release(&b);
    if (rc == 0 && (pl_db_exec(mv->dst, sql_imported, PL_ARGS(PL_TEXT(tenant_id))) < 0 ||
                    unpark(mv, parked_audit, parked_events) != 0 || pl_db_commit(mv->dst) != 0))
        rc = PL_EDB;
    json_decref(parked_audit);
    json_decref(parked_events);
    pl_db_rollback(mv->src);
    if (rc != 0) {
        pl_db_rollback(mv->dst);
        pl_move_abort(mv);
        return pl_err_set(err, PL_EDB, NULL, "the copy into cell %s failed; the tenant stays in %s", to->name,
                          from->name);
    }
    return 0;
}

int pl_move_finish(pl_move_t *mv, pl_err_t *err)
{
    static const char *sql_queued = "SELECT COUNT(*) FROM relay_queue WHERE tenant_id = $1";
    pl_db_t *conns[PL_MAX_CELLS] = {NULL}, *pool = NULL;
    int64_t t0 = pl_mono_ms(), queued = mv->from->index == 0 ? 1 : 0;
    size_t i;
    if (queued && pl_app_connect(mv->app, &pool, err) != 0) /* the control plane's connection */
        return err->status;
    /* what control-plane operations wrote in the pool during the move reaches the new home
     * first (this process relays: no server need run), then the old rows go */
    while (queued > 0 && pl_mono_ms() - t0 < DRAIN_MS) {
        pl_relay_run(mv->app, pool, conns);
        if (pl_db_int_tx(pool, NULL, &queued, sql_queued, PL_ARGS(PL_TEXT(mv->tenant))) != 1)
            break;
        if (queued > 0)
            usleep(50000);
    }
    for (i = 0; i < PL_MAX_CELLS; i++)
        pl_db_close(conns[i]);
    pl_db_close(pool);
    if (queued > 0)
        return pl_err_set(err, PL_EUNAVAIL, NULL,
                          "the tenant's newest entries have not reached cell %s yet; "
                          "its old rows stay in %s",
                          mv->to->name, mv->from->name);
    if (pl_db_begin(mv->src, PL_TX_WRITE, NULL) != 0 || lock_tenant(mv->src, mv->tenant) != 0 ||
        delete_rows(mv, mv->src) != 0 || pl_db_commit(mv->src) != 0) {
        pl_db_rollback(mv->src);
        return pl_err_set(err, PL_EDB, NULL, "the tenant's old rows in cell %s could not be removed: %s",
                          mv->from->name, pl_db_errmsg(mv->src));
    }
    return 0;
}

void pl_move_abort(pl_move_t *mv)
{
    static const char *sql_unmark = "DELETE FROM tenant_moves WHERE tenant_id = $1";
    if (mv->dst && pl_db_begin(mv->dst, PL_TX_WRITE, NULL) == 0) {
        if (delete_rows(mv, mv->dst) == 0)
            pl_db_commit(mv->dst);
        pl_db_rollback(mv->dst);
    }
    if (mv->src && pl_db_exec_tx(mv->src, NULL, sql_unmark, PL_ARGS(PL_TEXT(mv->tenant))) < 0)
        pl_logf(PL_LOG_ERROR, "the tenant's writes stay paused in its cell",
                "%s in %s: delete its tenant_moves row", mv->tenant, mv->from->name);
}

void pl_move_close(pl_move_t *mv)
{
    int t;
    for (t = 0; t < mv->ntables; t++)
        free(mv->cols[t]);
    mv->ntables = 0;
    pl_db_close(mv->src);
    pl_db_close(mv->dst);
    mv->src = mv->dst = NULL;
}
