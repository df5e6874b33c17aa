/*
 * store.c — the driver-independent half of store.h: choosing a driver by URL, dispatching
 * every call through the driver table, transaction bookkeeping, and migrations.
 *
 * Migrations: each owner (the kernel, each module) numbers its own from 1; the table
 * schema_migrations(owner, version) records what ran, so two modules' numbers never clash.
 * A database made before migrations were split per owner (schema_migrations(version) up to
 * 7) held exactly every owner's version 1; it is converted on first open.
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "store/fault.h"
#include "core/banned.h"

int pl_store_open(pl_store_t **out, const char *url, const pl_config_t *cfg, pl_err_t *err)
{
    *out = NULL;
    if (url && strncmp(url, "fault+", 6) == 0)
        return pl_fault_driver.open(out, url + 6, cfg, err);
    if (url == NULL || *url == '\0' || strncmp(url, "sqlite:", 7) == 0)
        return pl_sqlite_driver.open(out, url && *url ? url + 7 : NULL, cfg, err);
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return pl_postgres_driver.open(out, url, cfg, err);
    return pl_err_set(err, PL_EINVAL, NULL, "unknown store URL '%.40s' (sqlite:PATH or postgres://…)", url);
}

void pl_store_close(pl_store_t *s)
{
    if (s)
        s->drv->close(s);
}

const char *pl_store_dialect(const pl_store_t *s)
{
    return s->drv->dialect == PL_DIALECT_POSTGRES ? "postgres" : "sqlite";
}

int pl_store_backup(pl_store_t *s, const char *path, pl_err_t *err)
{
    if (s->drv->backup == NULL)
        return pl_err_set(err, PL_EINVAL, NULL, "the %s driver cannot make backups", s->drv->name);
    return s->drv->backup(s, path, err);
}

int pl_store_secure(pl_store_t *owner, pl_store_t *app, const char *schema, pl_err_t *err)
{
    pl_db_t *o, *d;
    int rc;
    if (owner->drv->secure == NULL)
        return 0;
    if (owner->drv != app->drv)
        return pl_err_set(err, PL_EINVAL, NULL,
                          "--migrate-url and --database-url name different kinds of store");
    if (pl_db_connect(owner, &o, err) != 0)
        return PL_EDB;
    if (pl_db_connect(app, &d, err) != 0) {
        pl_db_close(o);
        return PL_EDB;
    }
    pl_db_set_schema(o, schema);
    pl_db_set_schema(d, schema);
    rc = owner->drv->secure(o, d, err);
    pl_db_close(d);
    pl_db_close(o);
    return rc;
}

bool pl_store_has_roles(const pl_store_t *s)
{
    return s->drv->secure != NULL;
}

int pl_store_check(pl_store_t *app, const char *schema, pl_err_t *err)
{
    pl_db_t *d;
    int rc;
    if (app->drv->check_app == NULL)
        return 0;
    if (pl_db_connect(app, &d, err) != 0)
        return PL_EDB;
    pl_db_set_schema(d, schema);
    rc = app->drv->check_app(d, err);
    pl_db_close(d);
    return rc;
}

int pl_db_connect(pl_store_t *s, pl_db_t **out, pl_err_t *err)
{
    int rc = s->drv->connect(s, out, err);
    if (rc == 0) {
        (*out)->drv = s->drv;
        (*out)->store = s;
        (*out)->in_tx = false;
        (*out)->tenant_id = NULL;
        (*out)->schema[0] = '\0';
        (*out)->data_plane = false;
    }
    return rc;
}

void pl_db_close(pl_db_t *db)
{
    if (db == NULL)
        return;
    if (db->in_tx)
        pl_db_rollback(db);
    db->drv->disconnect(db);
}

int pl_db_begin(pl_db_t *db, pl_txmode_t mode, const char *tenant_id)
{
    int rc;
    if (db->in_tx) {
        pl_log(PL_LOG_ERROR, "nested transaction", NULL);
        return PL_EDB;
    }
    rc = db->drv->begin(db, mode, tenant_id, db->schema[0] ? db->schema : NULL);
    if (rc != 0)
        return rc == PL_EMOVED ? PL_EMOVED : PL_EDB;
    db->in_tx = true;
    db->tx_wrote = false;
    db->tenant_id = tenant_id;
    return 0;
}

int pl_db_set_schema(pl_db_t *db, const char *schema)
{
    size_t i, n = schema ? strlen(schema) : 0;
    if (n >= sizeof(db->schema))
        return PL_EINVAL;
    for (i = 0; i < n; i++)
        if (!((schema[i] >= 'a' && schema[i] <= 'z') || (schema[i] >= '0' && schema[i] <= '9') ||
              schema[i] == '_'))
            return PL_EINVAL;
    memcpy(db->schema, schema ? schema : "", n + 1);
    return 0;
}

bool pl_db_broken(pl_db_t *db)
{
    return db && db->drv->broken && db->drv->broken(db);
}

void pl_db_set_data_plane(pl_db_t *db, bool on)
{
    db->data_plane = on;
}

const char *pl_db_schema(const pl_db_t *db)
{
    return db->schema[0] ? db->schema : NULL;
}

bool pl_db_tx_wrote(const pl_db_t *db)
{
    return db->in_tx && db->tx_wrote;
}

/* INSERT, UPDATE, DELETE, REPLACE (a WITH … statement is not looked into). */
static bool writes(const char *sql)
{
    while (*sql == ' ' || *sql == '\n' || *sql == '\t')
        sql++;
    switch (*sql | 0x20) {
    case 'i':
    case 'u':
    case 'd':
    case 'r':
        return true;
    default:
        return false;
    }
}

int pl_db_commit(pl_db_t *db)
{
    int rc;
    if (!db->in_tx)
        return 0;
    rc = db->drv->commit(db);
    if (rc != 0) {
        pl_db_rollback(db);
        return PL_EDB;
    }
    db->in_tx = false;
    db->tenant_id = NULL;
    return 0;
}

void pl_db_rollback(pl_db_t *db)
{
    if (!db->in_tx)
        return;
    db->drv->rollback(db);
    db->in_tx = false;
    db->tenant_id = NULL;
}

bool pl_db_in_tx(const pl_db_t *db)
{
    return db->in_tx;
}

pl_dialect_t pl_db_dialect(const pl_db_t *db)
{
    return db->drv->dialect;
}

const char *pl_db_sql(const pl_db_t *db, const pl_sql_t *q)
{
    return db->drv->dialect == PL_DIALECT_POSTGRES ? q->postgres : q->sqlite;
}

int pl_db_query(pl_db_t *db, pl_rows_t **rows, const char *sql, const pl_val_t *args, int nargs)
{
    *rows = NULL;
    if (sql == NULL) /* a pl_sql_t without a text for this dialect */
        return PL_EDB;
    if (db->in_tx && !db->tx_wrote && writes(sql))
        db->tx_wrote = true;
    return db->drv->query(db, rows, sql, args, nargs);
}

int pl_rows_next(pl_rows_t *r)
{
    return r->db->drv->step(r);
}

const char *pl_rows_text(pl_rows_t *r, int col)
{
    return r->db->drv->text(r, col);
}

int64_t pl_rows_int(pl_rows_t *r, int col)
{
    return r->db->drv->integer(r, col);
}

bool pl_rows_null(pl_rows_t *r, int col)
{
    return r->db->drv->null(r, col);
}

const void *pl_rows_blob(pl_rows_t *r, int col, size_t *len)
{
    return r->db->drv->blob(r, col, len);
}

void pl_rows_close(pl_rows_t *r)
{
    if (r)
        r->db->drv->rows_close(r);
}

int pl_rows_ncols(pl_rows_t *r)
{
    return r->db->drv->ncols(r);
}

pl_val_t pl_rows_value(pl_rows_t *r, int col)
{
    return r->db->drv->value(r, col);
}

int pl_db_tenant_tables(pl_db_t *db, pl_rows_t **rows)
{
    /* the outbox's seq is its commit order, which the target assigns anew (SQLite: events.seq;
     * PostgreSQL: identity, generated and xid8 commit-order columns); other keys are kept */
    static const pl_sql_t sql = {
        "SELECT m.name, (SELECT group_concat(p.name, ',') FROM pragma_table_xinfo(m.name) p "
        "  WHERE p.hidden = 0 AND NOT (m.name = 'events' AND p.name = 'seq')) "
        "FROM sqlite_schema m WHERE m.type = 'table' AND m.sql NOT LIKE 'CREATE VIRTUAL%' "
        "AND m.name NOT LIKE 'sqlite_%' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) t "
        "WHERE t.name = 'tenant_id') ORDER BY m.name",
        "SELECT c.relname::text, (SELECT string_agg(quote_ident(a.attname), ',' ORDER BY a.attnum) "
        "  FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "  AND a.attidentity = '' AND a.attgenerated = '' AND a.atttypid <> 'xid8'::regtype) "
        "FROM pg_class c WHERE c.relkind IN ('r', 'p') AND c.relnamespace = current_schema()::regnamespace "
        "AND EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = c.oid AND t.attname = 'tenant_id' "
        "AND NOT t.attisdropped) ORDER BY 1",
    };
    return pl_db_query(db, rows, pl_db_sql(db, &sql), PL_NOARGS);
}

int pl_db_exec(pl_db_t *db, const char *sql, const pl_val_t *args, int nargs)
{
    pl_rows_t *r;
    int rc;
    if ((rc = pl_db_query(db, &r, sql, args, nargs)) != 0)
        return rc < 0 ? rc : PL_EDB;
    while ((rc = pl_rows_next(r)) == 1)
        ;
    pl_rows_close(r);
    if (rc < 0)
        return rc;
    return (int)db->drv->changes(db);
}

int pl_db_int(pl_db_t *db, int64_t *out, const char *sql, const pl_val_t *args, int nargs)
{
    pl_rows_t *r;
    int rc;
    if (pl_db_query(db, &r, sql, args, nargs) != 0)
        return PL_EDB;
    rc = pl_rows_next(r);
    if (rc == 1)
        *out = pl_rows_int(r, 0);
    pl_rows_close(r);
    return rc;
}

const char *pl_db_errmsg(pl_db_t *db)
{
    return db->drv->errmsg(db);
}

/* ---- migrations ---- */

static const pl_migration_t *list_of(const pl_db_t *db, const pl_migration_set_t *set)
{
    if (set->migrations == NULL)
        return NULL;
    return db->drv->dialect == PL_DIALECT_POSTGRES ? set->migrations->postgres : set->migrations->sqlite;
}

/* schema_migrations(owner, version); converts the table of a database made before. */
/* Two nodes starting at once on one PostgreSQL database migrate one after the other. */
static const pl_sql_t sql_migration_lock = {
    .sqlite = "SELECT 1", /* BEGIN IMMEDIATE already excludes other writers */
    .postgres = "SELECT pg_advisory_xact_lock(7291000001)",
};

static int begin_migration(pl_db_t *db)
{
    int64_t one;
    if (pl_db_begin(db, PL_TX_WRITE, NULL) != 0)
        return PL_EDB;
    if (pl_db_int(db, &one, pl_db_sql(db, &sql_migration_lock), PL_NOARGS) < 0) {
        pl_db_rollback(db);
        return PL_EDB;
    }
    return 0;
}

/* A schema cell's schema (PostgreSQL), made by the owner before its first migration. */
static int create_schema(pl_db_t *db, const char *schema, pl_err_t *err)
{
    char sql[128];
    int rc;
    if (db->drv->dialect != PL_DIALECT_POSTGRES)
        return pl_err_set(err, PL_EINVAL, NULL, "schema cells need PostgreSQL");
    snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS \"%s\"", schema); /* [a-z0-9_] only */
    if (begin_migration(db) != 0)
        return pl_err_set(err, PL_EDB, NULL, "cannot open the store: %s", pl_db_errmsg(db));
    rc = pl_db_exec(db, sql, PL_NOARGS);
    if (rc >= 0 && pl_db_commit(db) == 0)
        return 0;
    pl_db_rollback(db);
    return pl_err_set(err, PL_EDB, NULL, "cannot create the schema %s: %s", schema, pl_db_errmsg(db));
}

static int ensure_table(pl_db_t *db, const pl_migration_set_t *sets, size_t nsets, pl_err_t *err)
{
    static const char *sql_create =
        "CREATE TABLE IF NOT EXISTS schema_migrations (owner TEXT NOT NULL, version BIGINT NOT NULL, "
        "name TEXT NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (owner, version))";
    static const char *sql_legacy = "SELECT COUNT(*) FROM schema_migrations WHERE version BETWEEN 1 AND 7";
    static const char *sql_has_owner = "SELECT owner FROM schema_migrations LIMIT 0";
    static const char *sql_rename = "ALTER TABLE schema_migrations RENAME TO schema_migrations_v0";
    static const char *sql_ins =
        "INSERT INTO schema_migrations (owner, version, name, applied_at) VALUES ($1, 1, $2, $3)";
    pl_rows_t *r = NULL;
    int64_t n = 0;
    size_t i;
    int rc;
    if (begin_migration(db) != 0)
        return pl_err_set(err, PL_EDB, NULL, "cannot open the store: %s", pl_db_errmsg(db));
    rc = pl_db_exec(db, sql_create, PL_NOARGS) < 0 ? PL_EDB : 0;
    if (rc == 0 && db->drv->dialect == PL_DIALECT_SQLITE &&
        pl_db_query(db, &r, sql_has_owner, PL_NOARGS) != 0) {
        /* the table of a database made before migrations were per owner */
        if (pl_db_int(db, &n, sql_legacy, PL_NOARGS) != 1 || n != 7) {
            pl_db_rollback(db);
            return pl_err_set(err, PL_EDB, NULL,
                              "the database was made by an old development build and cannot be upgraded");
        }
        rc = pl_db_exec(db, sql_rename, PL_NOARGS) < 0 || pl_db_exec(db, sql_create, PL_NOARGS) < 0 ? PL_EDB
                                                                                                    : 0;
        for (i = 0; rc == 0 && i < nsets; i++) {
            const pl_migration_t *m = list_of(db, &sets[i]);
            if (m && m->version == 1 &&
                pl_db_exec(db, sql_ins,
                           PL_ARGS(PL_TEXT(sets[i].owner), PL_TEXT(m->name), PL_INT(pl_now_ms()))) < 0)
                rc = PL_EDB;
        }
        if (rc == 0)
            pl_log(PL_LOG_INFO, "schema_migrations converted to per-owner versions", NULL);
    } else if (r) {
        pl_rows_close(r);
    }
    if (rc == 0 && pl_db_commit(db) == 0)
        return 0;
    pl_db_rollback(db);
    return pl_err_set(err, PL_EDB, NULL, "cannot prepare schema_migrations: %s", pl_db_errmsg(db));
}

int pl_db_pending_migrations(pl_db_t *db, const pl_migration_set_t *sets, size_t nsets)
{
    static const char *sql = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE owner = $1";
    size_t i;
    int pending = 0;
    for (i = 0; i < nsets; i++) {
        const pl_migration_t *m = list_of(db, &sets[i]);
        int64_t maxv = 0;
        if (m == NULL)
            continue;
        if (pl_db_int(db, &maxv, sql, PL_ARGS(PL_TEXT(sets[i].owner))) < 0)
            return PL_EDB;
        for (; m->version; m++)
            if (m->version > maxv)
                pending++;
    }
    return pending;
}

int pl_store_migrate(pl_store_t *s, const char *schema, const pl_migration_set_t *sets, size_t nsets,
                     int *applied, pl_err_t *err)
{
    static const char *sql_has = "SELECT 1 FROM schema_migrations WHERE owner = $1 AND version = $2";
    static const char *sql_ins =
        "INSERT INTO schema_migrations (owner, version, name, applied_at) VALUES ($1, $2, $3, $4)";
    pl_db_t *db;
    size_t i;
    int rc = 0;
    *applied = 0;
    if (pl_db_connect(s, &db, err) != 0)
        return PL_EDB;
    if (schema && (pl_db_set_schema(db, schema) != 0 || create_schema(db, schema, err) != 0)) {
        pl_db_close(db);
        return PL_EDB;
    }
    if ((rc = ensure_table(db, sets, nsets, err)) != 0)
        goto out;
    for (i = 0; i < nsets; i++) {
        const pl_migration_t *m = list_of(db, &sets[i]);
        for (; m && m->version; m++) {
            int64_t one;
            if (begin_migration(db) != 0) {
                rc = pl_err_set(err, PL_EDB, NULL, "cannot begin migration: %s", pl_db_errmsg(db));
                goto out;
            }
            if (pl_db_int(db, &one, sql_has, PL_ARGS(PL_TEXT(sets[i].owner), PL_INT(m->version))) == 1) {
                pl_db_rollback(db);
                continue;
            }
            if (db->drv->script(db, m->sql, err) != 0) {
                char why[sizeof(err->message)];
                snprintf(why, sizeof(why), "%s", err->message);
                rc = pl_err_set(err, PL_EDB, NULL, "migration %s/%04d_%s failed: %.160s", sets[i].owner,
                                m->version, m->name, why);
                pl_db_rollback(db);
                goto out;
            }
            if (pl_db_exec(db, sql_ins,
                           PL_ARGS(PL_TEXT(sets[i].owner), PL_INT(m->version), PL_TEXT(m->name),
                                   PL_INT(pl_now_ms()))) < 0 ||
                pl_db_commit(db) != 0) {
                rc =
                    pl_err_set(err, PL_EDB, NULL, "cannot record migration %s/%d", sets[i].owner, m->version);
                pl_db_rollback(db);
                goto out;
            }
            pl_logf(PL_LOG_INFO, "migration applied", "%s/%04d_%s", sets[i].owner, m->version, m->name);
            (*applied)++;
        }
    }
out:
    pl_db_close(db);
    return rc;
}

int pl_db_exec_tx(pl_db_t *db, const char *tenant_id, const char *sql, const pl_val_t *args, int nargs)
{
    int rc;
    if (pl_db_begin(db, PL_TX_WRITE, tenant_id) != 0)
        return PL_EUNAVAIL;
    rc = pl_db_exec(db, sql, args, nargs);
    if (rc < 0 || pl_db_commit(db) != 0) {
        pl_db_rollback(db);
        return rc < 0 ? rc : PL_EDB;
    }
    return rc;
}

int pl_db_int_tx(pl_db_t *db, const char *tenant_id, int64_t *out, const char *sql, const pl_val_t *args,
                 int nargs)
{
    bool own = !db->in_tx;
    int rc;
    if (own && pl_db_begin(db, PL_TX_READ, tenant_id) != 0)
        return PL_EUNAVAIL;
    rc = pl_db_int(db, out, sql, args, nargs);
    if (own)
        pl_db_rollback(db);
    return rc;
}

int64_t pl_db_exec_list(pl_db_t *db, const char *const *sql, int64_t arg)
{
    int64_t n = 0;
    int rc;
    for (; *sql; sql++) {
        if ((rc = pl_db_exec(db, *sql, PL_ARGS(PL_INT(arg)))) < 0)
            return rc;
        n += rc;
    }
    return n;
}
