/*
 * store.h — the one data-access interface of Plinth.
 *
 * Owns: the database file(s) and connections. A pl_store_t is process-wide (created by
 * main, destroyed at exit); a pl_db_t is one connection owned by exactly one thread (each
 * HTTP worker, each background thread, the CLI) with its prepared statements cached.
 *
 * SQL is written once, PostgreSQL-style: `$1, $2 …` placeholders, `RETURNING`, integer
 * millisecond timestamps, TEXT ids — the part both dialects share. What differs is written
 * as a pl_sql_t pair (below), never inline. Callers always bind parameters — user text
 * never goes into SQL.
 *
 * Transactions: pl_db_begin(db, PL_TX_WRITE, tenant_id) opens a write transaction
 * (SQLite: BEGIN IMMEDIATE, so read-then-write never fails with busy; PostgreSQL:
 * BEGIN + SET LOCAL app.tenant_id). The tenant id is the transaction's tenant context:
 * tenant-scoped statements still name tenant_id explicitly, and the PostgreSQL driver
 * additionally lets row-level security enforce it. NULL means control-plane access.
 *
 * Rows: pl_db_query() returns a cursor; column values stay valid until the next
 * pl_rows_next() or pl_rows_close(). Always close a cursor.
 */
#ifndef PL_STORE_H
#define PL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct pl_store pl_store_t;
typedef struct pl_db pl_db_t;
typedef struct pl_rows pl_rows_t;
typedef struct pl_config pl_config_t;

typedef enum { PL_V_NULL, PL_V_INT, PL_V_TEXT, PL_V_BLOB } pl_vtype_t;

typedef struct pl_val {
    pl_vtype_t t;
    pl_vtype_t null_of; /* a NULL's type (a typed database needs it: "$2 IS NULL OR …") */
    int64_t i;
    const void *p;
    size_t n;     /* (size_t)-1: NUL-terminated text */
    bool untyped; /* text the database reads as the column's type (PostgreSQL row copies) */
} pl_val_t;

#define PL_INT(x) ((pl_val_t){.t = PL_V_INT, .i = (int64_t)(x)})
static inline pl_val_t pl_val_text(const char *s)
{
    pl_val_t v = {.t = s ? PL_V_TEXT : PL_V_NULL, .null_of = PL_V_TEXT, .p = s, .n = (size_t)-1};
    return v;
}
#define PL_TEXT(s) pl_val_text(s) /* NULL binds a text NULL */
#define PL_TEXTN(s, len) ((pl_val_t){.t = PL_V_TEXT, .p = (s), .n = (len)})
#define PL_BLOB(b, len) ((pl_val_t){.t = PL_V_BLOB, .p = (b), .n = (len)})
#define PL_NULL_INT ((pl_val_t){.t = PL_V_NULL, .null_of = PL_V_INT}) /* an integer NULL */
#define PL_NULLV ((pl_val_t){.t = PL_V_NULL}) /* a NULL of no type (the database infers it) */
#define PL_ARGS(...)                                                                                         \
    ((const pl_val_t[]){__VA_ARGS__}), (int)(sizeof((const pl_val_t[]){__VA_ARGS__}) / sizeof(pl_val_t))
#define PL_NOARGS NULL, 0

typedef enum { PL_TX_READ, PL_TX_WRITE } pl_txmode_t;

/* ---- migrations ---- */
typedef struct pl_migration {
    int version; /* per owner, from 1, only ever appended */
    const char *name;
    const char *sql;
} pl_migration_t;

/* Each list ends with a {0} row; NULL: none for that dialect. */
typedef struct pl_migrations {
    const pl_migration_t *sqlite;
    const pl_migration_t *postgres;
} pl_migrations_t;

/* One owner's migrations (a module, or the kernel). */
typedef struct pl_migration_set {
    const char *owner;
    const pl_migrations_t *migrations;
} pl_migration_set_t;

/* ---- dialects ---- */
/* A statement whose text differs per dialect. Every dialect difference of the code base is
 * written as one of these, next to the code that runs it; nothing else writes dialect-only
 * SQL (FTS5, rowid, strftime, scalar MAX …). `grep -rn pl_sql_t src` lists them all. */
typedef struct pl_sql {
    const char *sqlite;
    const char *postgres;
} pl_sql_t;

typedef enum { PL_DIALECT_SQLITE = 0, PL_DIALECT_POSTGRES = 1 } pl_dialect_t;

/* ---- the driver table ---- */
/*
 * A driver implements the interface below for one kind of database. A store URL picks it:
 * "sqlite:PATH" (or no URL: DATA_DIR/plinth.db) → the SQLite driver; "postgres://…" → the
 * PostgreSQL driver (libpq, store/postgres.c); "fault+URL" wraps the
 * driver of URL in the fault-injecting driver (store/fault.h, for tests). Drivers embed
 * pl_store_t, pl_db_t and pl_rows_t as the first member of their own structs.
 */
typedef struct pl_store_driver {
    const char *name;
    pl_dialect_t dialect;
    int (*open)(pl_store_t **out, const char *url, const pl_config_t *cfg, pl_err_t *err);
    void (*close)(pl_store_t *s);
    int (*connect)(pl_store_t *s, pl_db_t **out, pl_err_t *err);
    void (*disconnect)(pl_db_t *db);
    /* schema: NULL, or the PostgreSQL schema searched first (a schema cell). On a data-plane
     * connection (db->data_plane), a write transaction of a tenant that moved out of this
     * database (tenant_moves) fails with PL_EMOVED: its rows here are a copy being removed. */
    int (*begin)(pl_db_t *db, pl_txmode_t mode, const char *tenant_id, const char *schema);
    int (*commit)(pl_db_t *db);
    void (*rollback)(pl_db_t *db);
    int (*query)(pl_db_t *db, pl_rows_t **rows, const char *sql, const pl_val_t *args, int nargs);
    int (*step)(pl_rows_t *r);
    const char *(*text)(pl_rows_t *r, int col);
    int64_t (*integer)(pl_rows_t *r, int col);
    bool (*null)(pl_rows_t *r, int col);
    const void *(*blob)(pl_rows_t *r, int col, size_t *len);
    int (*ncols)(pl_rows_t *r);
    /* the column as a value to bind again in the same dialect (copying rows between cells) */
    pl_val_t (*value)(pl_rows_t *r, int col);
    void (*rows_close)(pl_rows_t *r);
    int64_t (*changes)(pl_db_t *db);
    /* runs a script of several statements (migrations) in the open transaction */
    int (*script)(pl_db_t *db, const char *sql, pl_err_t *err);
    /* a consistent copy of the whole store into path, while others write */
    int (*backup)(pl_store_t *s, const char *path, pl_err_t *err);
    const char *(*errmsg)(pl_db_t *db);
    /* databases with roles (NULL otherwise): after the migrations, as the owner, grant the
     * role of app's connection what it needs and force row-level security on every tenant
     * table; check_app refuses a connection whose role could bypass it */
    int (*secure)(pl_db_t *owner, pl_db_t *app, pl_err_t *err);
    int (*check_app)(pl_db_t *db, pl_err_t *err);
    /* whether the connection to the server is lost (NULL: never) */
    bool (*broken)(pl_db_t *db);
} pl_store_driver_t;

struct pl_store {
    const pl_store_driver_t *drv;
};
struct pl_db {
    const pl_store_driver_t *drv;
    pl_store_t *store;
    bool in_tx;
    bool tx_wrote;         /* the open transaction ran an INSERT, UPDATE or DELETE */
    const char *tenant_id; /* the open transaction's tenant context */
    char schema[64];       /* "": the default search path; else a schema cell's schema */
    bool data_plane;       /* its tenant writes are data-plane writes: refused where the tenant moved out */
};
struct pl_rows {
    pl_db_t *db;
};

extern const pl_store_driver_t pl_sqlite_driver;
extern const pl_store_driver_t pl_postgres_driver;

/* Opens the store named by url (NULL or "": SQLite in the data directory). */
int pl_store_open(pl_store_t **out, const char *url, const pl_config_t *cfg, pl_err_t *err);
void pl_store_close(pl_store_t *s);
const char *pl_store_dialect(const pl_store_t *s);
int pl_store_backup(pl_store_t *s, const char *path, pl_err_t *err);

/* Applies the pending migrations of every set, in order (one transaction each); *applied
 * receives how many. schema: NULL, or the PostgreSQL schema (created if missing) that
 * receives the tables — a schema cell's. */
int pl_store_migrate(pl_store_t *s, const char *schema, const pl_migration_set_t *sets, size_t nsets,
                     int *applied, pl_err_t *err);
/* PostgreSQL's two roles: the owner's store (--migrate-url) grants the app's store its access
 * and forces row-level security (after pl_store_migrate on the owner's store); check refuses
 * an app store whose role is a superuser, has BYPASSRLS or owns tables. No-ops on SQLite. */
int pl_store_secure(pl_store_t *owner, pl_store_t *app, const char *schema, pl_err_t *err);
int pl_store_check(pl_store_t *app, const char *schema, pl_err_t *err);
bool pl_store_has_roles(const pl_store_t *s);

/* Number of known migrations not yet applied on db's database (<0: error). */
int pl_db_pending_migrations(pl_db_t *db, const pl_migration_set_t *sets, size_t nsets);

int pl_db_connect(pl_store_t *s, pl_db_t **out, pl_err_t *err);
void pl_db_close(pl_db_t *db);

/* Returns 0, PL_EMOVED (a tenant write where the tenant moved out), or PL_EDB. */
int pl_db_begin(pl_db_t *db, pl_txmode_t mode, const char *tenant_id);
/* The schema the connection's transactions search first (PostgreSQL; NULL or "": the
 * default). A schema cell's connections set it once; it holds until set again. */
int pl_db_set_schema(pl_db_t *db, const char *schema);
const char *pl_db_schema(const pl_db_t *db);
/* Whether the connection's tenant writes are data-plane writes (see the driver's begin); a
 * cell's connections are, the control database's are not unless a data route says so. */
void pl_db_set_data_plane(pl_db_t *db, bool on);
/* Commits; on failure the transaction is rolled back and PL_EDB returned. */
int pl_db_commit(pl_db_t *db);
void pl_db_rollback(pl_db_t *db);
bool pl_db_in_tx(const pl_db_t *db);

/* The text of q for this connection's dialect. */
const char *pl_db_sql(const pl_db_t *db, const pl_sql_t *q);
pl_dialect_t pl_db_dialect(const pl_db_t *db);

/* Runs a statement; returns the number of changed rows (>= 0), PL_ECONFLICT for a
 * uniqueness violation, PL_EUNAVAIL when the database is busy, or PL_EDB. */
int pl_db_exec(pl_db_t *db, const char *sql, const pl_val_t *args, int nargs);
/* pl_db_exec in a transaction of its own, in tenant_id's context (NULL: the control plane). */
int pl_db_exec_tx(pl_db_t *db, const char *tenant_id, const char *sql, const pl_val_t *args, int nargs);
/* pl_db_int in a read transaction of tenant_id's context, or in the open one if there is one. */
int pl_db_int_tx(pl_db_t *db, const char *tenant_id, int64_t *out, const char *sql, const pl_val_t *args,
                 int nargs);
/* Opens a cursor; returns 0 or PL_EDB. */
int pl_db_query(pl_db_t *db, pl_rows_t **rows, const char *sql, const pl_val_t *args, int nargs);
/* 1: a row, 0: no more, <0: error. */
int pl_rows_next(pl_rows_t *r);
const char *pl_rows_text(pl_rows_t *r, int col); /* NULL for SQL NULL */
int64_t pl_rows_int(pl_rows_t *r, int col);
bool pl_rows_null(pl_rows_t *r, int col);
const void *pl_rows_blob(pl_rows_t *r, int col, size_t *len);
void pl_rows_close(pl_rows_t *r);
int pl_rows_ncols(pl_rows_t *r);
/* The column as a value bound again in the same dialect keeps its type and content. */
pl_val_t pl_rows_value(pl_rows_t *r, int col);

/* A cursor over the tables of db's schema that hold tenant rows: column 0 the table, column
 * 1 the columns a copy of a row writes, comma-separated (not generated, identity or
 * commit-order columns: the target assigns those). Virtual tables are left out. */
int pl_db_tenant_tables(pl_db_t *db, pl_rows_t **rows);

/* Runs each statement of a NULL-terminated list with $1 = arg (cleanup tasks); returns the
 * rows they changed in all, or <0 at the first failure. */
int64_t pl_db_exec_list(pl_db_t *db, const char *const *sql, int64_t arg);

/* Single-value helper: runs sql and stores the first column of the first row.
 * Returns 1 (found), 0 (no row) or <0. */
int pl_db_int(pl_db_t *db, int64_t *out, const char *sql, const pl_val_t *args, int nargs);

const char *pl_db_errmsg(pl_db_t *db);
/* Whether the connection to the database server is lost: a failure then is the store being
 * unavailable (503), not a fault of the request (500). */
bool pl_db_broken(pl_db_t *db);
/* Whether the open transaction ran a writing statement (the commit step's guard: a change
 * without an audit entry is a bug). */
bool pl_db_tx_wrote(const pl_db_t *db);

#endif
