/*
 * fault.c — the fault-injecting driver (see fault.h): a pass-through wrapper around the
 * driver of the inner URL that fails where its plan says.
 */
#include "store/fault.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/banned.h"

typedef struct fault_store {
    pl_store_t base;
    pl_store_t *inner;
    pl_fault_plan_t plan;
    _Atomic int64_t statements, commits;
} fault_store_t;

typedef struct fault_db {
    pl_db_t base;
    pl_db_t *inner;
    bool tx_matched; /* the open transaction ran a statement the plan's `only` names */
} fault_db_t;

typedef struct fault_rows {
    pl_rows_t base;
    pl_rows_t *inner;
} fault_rows_t;

#define FS(s) ((fault_store_t *)(void *)(s))
#define FD(d) ((fault_db_t *)(void *)(d))
#define FR(r) ((fault_rows_t *)(void *)(r))

static int f_open(pl_store_t **out, const char *url, const pl_config_t *cfg, pl_err_t *err)
{
    fault_store_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    if (pl_store_open(&s->inner, url, cfg, err) != 0) {
        free(s);
        return PL_EDB;
    }
    s->base.drv = &pl_fault_driver;
    *out = &s->base;
    return 0;
}

static void f_close(pl_store_t *s)
{
    pl_store_close(FS(s)->inner);
    free(s);
}

static int f_connect(pl_store_t *s, pl_db_t **out, pl_err_t *err)
{
    fault_db_t *db = calloc(1, sizeof(*db));
    if (db == NULL)
        abort();
    if (pl_db_connect(FS(s)->inner, &db->inner, err) != 0) {
        free(db);
        return PL_EDB;
    }
    *out = &db->base;
    return 0;
}

static void f_disconnect(pl_db_t *db)
{
    pl_db_close(FD(db)->inner);
    free(db);
}

static int f_begin(pl_db_t *db, pl_txmode_t mode, const char *tenant_id, const char *schema)
{
    FD(db)->tx_matched = false;
    if (pl_db_set_schema(FD(db)->inner, schema) != 0)
        return PL_EDB;
    pl_db_set_data_plane(FD(db)->inner, db->data_plane);
    return pl_db_begin(FD(db)->inner, mode, tenant_id);
}

/* true when the nth event (1-based) is planned to fail */
static bool due(int64_t n, int64_t at, bool repeat)
{
    return at > 0 && (n == at || (repeat && n > at));
}

static int f_commit(pl_db_t *db)
{
    fault_store_t *s = FS(db->store);
    int64_t n;
    if (s->plan.only && !FD(db)->tx_matched)
        return pl_db_commit(FD(db)->inner);
    n = atomic_fetch_add(&s->commits, 1) + 1;
    if (due(n, s->plan.fail_commit, s->plan.repeat)) {
        pl_db_rollback(FD(db)->inner);
        pl_log(PL_LOG_WARN, "fault store: commit failed as planned", NULL);
        return PL_EDB;
    }
    return pl_db_commit(FD(db)->inner);
}

static void f_rollback(pl_db_t *db)
{
    pl_db_rollback(FD(db)->inner);
}

static int f_query(pl_db_t *db, pl_rows_t **rows, const char *sql, const pl_val_t *args, int nargs)
{
    fault_store_t *s = FS(db->store);
    int64_t n = 0;
    fault_rows_t *r;
    pl_rows_t *in;
    if (s->plan.only == NULL || strstr(sql, s->plan.only)) {
        if (s->plan.only)
            FD(db)->tx_matched = true;
        n = atomic_fetch_add(&s->statements, 1) + 1;
    }
    if (due(n, s->plan.fail_statement, s->plan.repeat))
        return PL_EDB;
    if (due(n, s->plan.busy_statement, s->plan.repeat))
        return PL_EUNAVAIL;
    if (pl_db_query(FD(db)->inner, &in, sql, args, nargs) != 0)
        return PL_EDB;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        abort();
    r->base.db = db;
    r->inner = in;
    *rows = &r->base;
    return 0;
}

static int f_step(pl_rows_t *r)
{
    return pl_rows_next(FR(r)->inner);
}

static const char *f_text(pl_rows_t *r, int col)
{
    return pl_rows_text(FR(r)->inner, col);
}

static int64_t f_int(pl_rows_t *r, int col)
{
    return pl_rows_int(FR(r)->inner, col);
}

static bool f_null(pl_rows_t *r, int col)
{
    return pl_rows_null(FR(r)->inner, col);
}

static const void *f_blob(pl_rows_t *r, int col, size_t *len)
{
    return pl_rows_blob(FR(r)->inner, col, len);
}

static int f_ncols(pl_rows_t *r)
{
    return pl_rows_ncols(FR(r)->inner);
}

static pl_val_t f_value(pl_rows_t *r, int col)
{
    return pl_rows_value(FR(r)->inner, col);
}

static bool f_broken(pl_db_t *db)
{
    return pl_db_broken(FD(db)->inner);
}

static void f_rows_close(pl_rows_t *r)
{
    pl_rows_close(FR(r)->inner);
    free(r);
}

static int64_t f_changes(pl_db_t *db)
{
    pl_db_t *in = FD(db)->inner;
    return in->drv->changes(in);
}

static int f_script(pl_db_t *db, const char *sql, pl_err_t *err)
{
    pl_db_t *in = FD(db)->inner;
    return in->drv->script(in, sql, err);
}

static int f_backup(pl_store_t *s, const char *path, pl_err_t *err)
{
    return pl_store_backup(FS(s)->inner, path, err);
}

static const char *f_errmsg(pl_db_t *db)
{
    return pl_db_errmsg(FD(db)->inner);
}

const pl_store_driver_t pl_fault_driver = {
    .name = "fault",
    .dialect = PL_DIALECT_SQLITE, /* the inner driver's; only SQLite is wrapped in the tests */
    .open = f_open,
    .close = f_close,
    .connect = f_connect,
    .disconnect = f_disconnect,
    .begin = f_begin,
    .commit = f_commit,
    .rollback = f_rollback,
    .query = f_query,
    .step = f_step,
    .text = f_text,
    .integer = f_int,
    .null = f_null,
    .blob = f_blob,
    .ncols = f_ncols,
    .value = f_value,
    .rows_close = f_rows_close,
    .changes = f_changes,
    .script = f_script,
    .backup = f_backup,
    .errmsg = f_errmsg,
    .broken = f_broken,
};

int pl_fault_set(pl_store_t *s, const pl_fault_plan_t *plan)
{
    if (s->drv != &pl_fault_driver)
        return -1;
    FS(s)->plan = *plan;
    atomic_store(&FS(s)->statements, 0);
    atomic_store(&FS(s)->commits, 0);
    return 0;
}

int64_t pl_fault_statements(pl_store_t *s)
{
    return atomic_load(&FS(s)->statements);
}

int64_t pl_fault_commits(pl_store_t *s)
{
    return atomic_load(&FS(s)->commits);
}
