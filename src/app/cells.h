/*
 * cells.h — tenant cells: where a tenant's data lives.
 *
 * The control database (--database-url) holds the control plane — tenants, users, keys, the
 * tenant directory and the cells themselves (tables of control-plane modules) — and is also
 * the pool: the cell every tenant is in unless the directory says otherwise. A cell holds
 * the data plane of its tenants: every other module's tables (members, events, audit, jobs,
 * webhooks …), so that an operation on a tenant's data commits in one transaction of one
 * database. Kinds:
 *
 *   pool      the control database's own tables, shared; row-level security on PostgreSQL
 *   schema    PostgreSQL: the data-plane tables in a schema of their own (cell_NAME) in the
 *             control database; transactions search it first (SET LOCAL search_path), so
 *             control-plane tables are still found; row-level security on as in the pool
 *   database  a database of its own: another PostgreSQL database or server, or another
 *             SQLite file; migrated (and secured) by the cell's owner URL
 *
 * A control-plane operation on a tenant (a key created, a member of the team invited, an
 * operator suspending it) commits in the control database, with its audit entry and event
 * in the pool's kernel tables; when the tenant's home is another cell, the relay (pl_cells_*
 * below, run by the kernel) moves those rows to the home cell, where the tenant's webhooks,
 * streams and audit log are. Nothing is lost in between: the home cell's copy commits before
 * the pool's rows are deleted, and a copy is skipped when the home already has it.
 *
 * Threads: the registry only grows while serving (a lock guards additions; a cell, once
 * open, stays at its index until exit); lookups are lock-free reads of published entries.
 */
#ifndef PL_CELLS_H
#define PL_CELLS_H

#include <stdbool.h>
#include <stddef.h>

#include "app/app.h"
#include "store/store.h"

#define PL_POOL "pool"

typedef enum { PL_CELL_POOL, PL_CELL_SCHEMA, PL_CELL_DATABASE } pl_cell_kind_t;

struct pl_cell {
    int index; /* 0: the pool */
    char name[64];
    pl_cell_kind_t kind;
    char schema[64];   /* schema cells: cell_NAME */
    pl_store_t *store; /* database cells: its own; otherwise the control store */
};

typedef struct pl_cell_def {
    const char *name;
    const char *kind;         /* "pool", "schema", "database" */
    const char *database_url; /* database cells: the app role's URL, or sqlite:PATH */
    const char *migrate_url;  /* the owner role's URL (PostgreSQL); NULL: --migrate-url */
} pl_cell_def_t;

const char *pl_cell_kind_name(pl_cell_kind_t k);
/* Checks a cell definition (name [a-z0-9_-], 1-40; kind; URLs the kind needs and the store
 * allows). Fills err (field errors) and returns PL_EINVAL when it is not acceptable. */
int pl_cell_def_check(const pl_app_t *a, const pl_cell_def_t *def, pl_err_t *err);

/* Opens a cell (or finds it when a cell of that name is open): migrates its data-plane
 * tables, secures them, checks the app role, and when serving starts its background work. */
int pl_app_cell_open(pl_app_t *a, const pl_cell_def_t *def, const pl_cell_t **out, pl_err_t *err);
size_t pl_app_ncells(const pl_app_t *a);
const pl_cell_t *pl_app_cell(const pl_app_t *a, size_t i);
const pl_cell_t *pl_app_cell_named(const pl_app_t *a, const char *name);
const pl_cell_t *pl_app_pool(const pl_app_t *a);

/* The cell of a tenant's data: the directory's answer (module hook), cached until the next
 * pl_app_auth_changed / auth_forget (a move announces itself so). NULL tenant: the pool. */
int pl_app_home(pl_app_t *a, pl_db_t *control, const char *tenant_id, const pl_cell_t **out);
/* The directory's answer now, read on control (in its open transaction), not cached: for
 * writes that must not follow a stale home (the relay, the commit step's queueing). */
int pl_app_home_now(pl_app_t *a, pl_db_t *control, const char *tenant_id, const pl_cell_t **out);

/* A new connection to the cell (the caller owns it), its schema set. */
int pl_app_connect_cell(pl_app_t *a, const pl_cell_t *cell, pl_db_t **db, pl_err_t *err);
/* A serving thread's connection to cell: its own db for the pool, else one to the cell (its
 * schema set) that it opens on first use and keeps — a request may read the control plane on
 * the first while it writes its cell on the other. */
int pl_app_thread_db(pl_app_t *a, pl_thread_t *t, const pl_cell_t *cell, pl_db_t **db);
void pl_app_thread_cells_close(pl_thread_t *t);

/* ---- for the kernel module (kernel.c): the registry's life ---- */
typedef struct pl_cells pl_cells_t;
/* Opens the pool (the application's open, before other modules' init). */
int pl_cells_open_pool(pl_app_t *a, pl_err_t *err);
/* Starts the background work of every open cell (once every module has started). */
int pl_cells_serving(pl_app_t *a, pl_err_t *err);
void pl_cells_destroy(pl_app_t *a);

#endif
