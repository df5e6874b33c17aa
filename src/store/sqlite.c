/*
 * sqlite.c — the embedded SQLite driver of store.h.
 *
 * One database file (DATA_DIR/plinth.db) in WAL mode with synchronous=NORMAL: a commit
 * that returned survives a crash of the process (kill -9). Each connection keeps its
 * prepared statements in a small hash table keyed by the SQL text's address (statements
 * are string literals owned by the module that runs them), so the hot path never parses
 * SQL. The cache is keyed by a hash of the SQL text (verified against a stored copy), so
 * statements assembled at run time from fixed fragments (a list with optional filters) are
 * cached like literals. `$N` placeholders are rewritten to SQLite's `?N` once, at prepare time.
 */
#include "store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/log.h"
#include "store/migrations.h"
#include "core/banned.h"

#define STMT_SLOTS 512

struct pl_store {
    char path[PATH_MAX];
};

struct pl_rows {
    sqlite3_stmt *stmt;
    char *key; /* a copy of the SQL text, or NULL for an uncached statement */
    uint64_t hash;
    bool in_use;
    pl_db_t *db;
};

struct pl_db {
    pl_store_t *store;
    sqlite3 *h;
    bool in_tx;
    const char *tenant_id;
    int cached;
    pl_rows_t slots[STMT_SLOTS];
};

const char *pl_store_dialect(const pl_store_t *s)
{
    (void)s;
    return "sqlite";
}

static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    char *p;
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

int pl_store_open(pl_store_t **out, const pl_config_t *cfg, pl_err_t *err)
{
    pl_store_t *s;
    if (mkdir_p(cfg->data_dir) != 0)
        return pl_err_set(err, PL_EDB, NULL, "cannot create data directory '%s': %s", cfg->data_dir,
                          strerror(errno));
    /* Memory statistics take a global mutex on every allocation; connections are never shared
     * between threads, so the library's own serialisation is not needed either. Both must be
     * set before SQLite initialises (they fail harmlessly afterwards). */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    pl_config_path(cfg, "plinth.db", s->path, sizeof(s->path));
    *out = s;
    return 0;
}

void pl_store_close(pl_store_t *s)
{
    free(s);
}

int pl_db_connect(pl_store_t *s, pl_db_t **out, pl_err_t *err)
{
    pl_db_t *db = calloc(1, sizeof(*db));
    char *emsg = NULL;
    if (db == NULL)
        abort();
    db->store = s;
    if (sqlite3_open_v2(s->path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        pl_err_set(err, PL_EDB, NULL, "cannot open '%s': %s", s->path,
                   db->h ? sqlite3_errmsg(db->h) : "no memory");
        sqlite3_close(db->h);
        free(db);
        return PL_EDB;
    }
    sqlite3_busy_timeout(db->h, 10000);
    if (sqlite3_exec(db->h,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                     "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-8000; PRAGMA mmap_size=268435456;",
                     NULL, NULL, &emsg) != SQLITE_OK) {
        pl_err_set(err, PL_EDB, NULL, "cannot configure '%s': %s", s->path, emsg ? emsg : "?");
        sqlite3_free(emsg);
        sqlite3_close(db->h);
        free(db);
        return PL_EDB;
    }
    *out = db;
    return 0;
}

void pl_db_close(pl_db_t *db)
{
    int i;
    if (db == NULL)
        return;
    if (db->in_tx)
        pl_db_rollback(db);
    for (i = 0; i < STMT_SLOTS; i++)
        if (db->slots[i].stmt) {
            sqlite3_finalize(db->slots[i].stmt);
            free(db->slots[i].key);
        }
    sqlite3_close(db->h);
    free(db);
}

const char *pl_db_errmsg(pl_db_t *db)
{
    return sqlite3_errmsg(db->h);
}

void *pl_db_handle(pl_db_t *db)
{
    return db->h;
}

static void log_db_error(pl_db_t *db, const char *what, const char *sql)
{
    char f[512];
    pl_buf_t b;
    pl_buf_init(&b, NULL);
    pl_buf_adds(&b, "\"error\":\"");
    pl_buf_add_json_escaped(&b, sqlite3_errmsg(db->h), strlen(sqlite3_errmsg(db->h)));
    pl_buf_adds(&b, "\",\"sql\":\"");
    pl_buf_add_json_escaped(&b, sql, strlen(sql) > 200 ? 200 : strlen(sql));
    pl_buf_addc(&b, '"');
    snprintf(f, sizeof(f), "%s", b.ptr);
    pl_log(PL_LOG_ERROR, what, f);
    pl_buf_release(&b);
}

static int status_of(int rc)
{
    if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT)
        return PL_ECONFLICT;
    return PL_EDB;
}

/* Rewrites $N to ?N outside string literals and drops FOR UPDATE SKIP LOCKED. */
static int prepare(pl_db_t *db, const char *sql, sqlite3_stmt **st)
{
    size_t n = strlen(sql), i, o = 0;
    char small[2048];
    char *buf = n < sizeof(small) ? small : malloc(n + 1), *lock;
    bool in_str = false;
    int rc;
    if (buf == NULL)
        abort();
    for (i = 0; i < n; i++) {
        char c = sql[i];
        if (c == '\'')
            in_str = !in_str;
        buf[o++] = (!in_str && c == '$' && i + 1 < n && sql[i + 1] >= '0' && sql[i + 1] <= '9') ? '?' : c;
    }
    buf[o] = '\0';
    /* row locks are PostgreSQL's; SQLite serialises writers, so the clause is simply dropped */
    for (lock = strstr(buf, "FOR UPDATE SKIP LOCKED"); lock; lock = strstr(lock, "FOR UPDATE SKIP LOCKED"))
        memset(lock, ' ', strlen("FOR UPDATE SKIP LOCKED"));
    rc = sqlite3_prepare_v3(db->h, buf, (int)o, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (buf != small)
        free(buf);
    return rc;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static pl_rows_t *get_stmt(pl_db_t *db, const char *sql)
{
    uint64_t h = fnv1a(sql);
    size_t i, k;
    sqlite3_stmt *st;
    pl_rows_t *r;
    for (k = 0; k < STMT_SLOTS; k++) {
        i = (size_t)((h + k) % STMT_SLOTS);
        r = &db->slots[i];
        if (r->stmt && r->hash == h && strcmp(r->key, sql) == 0) {
            if (r->in_use)
                break; /* nested use of the same statement: use a private one */
            r->in_use = true;
            return r;
        }
        if (r->stmt == NULL) {
            if (db->cached >= STMT_SLOTS * 3 / 4)
                break;
            if (prepare(db, sql, &st) != SQLITE_OK) {
                log_db_error(db, "prepare failed", sql);
                return NULL;
            }
            r->stmt = st;
            r->key = strdup(sql);
            if (r->key == NULL)
                abort();
            r->hash = h;
            r->in_use = true;
            r->db = db;
            db->cached++;
            return r;
        }
    }
    if (prepare(db, sql, &st) != SQLITE_OK) {
        log_db_error(db, "prepare failed", sql);
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        abort();
    r->stmt = st;
    r->key = NULL;
    r->in_use = true;
    r->db = db;
    return r;
}

void pl_rows_close(pl_rows_t *r)
{
    if (r == NULL)
        return;
    if (r->key == NULL) {
        sqlite3_finalize(r->stmt);
        free(r);
        return;
    }
    sqlite3_reset(r->stmt);
    sqlite3_clear_bindings(r->stmt);
    r->in_use = false;
}

static int bind(pl_rows_t *r, const pl_val_t *args, int nargs)
{
    int i, rc = SQLITE_OK;
    for (i = 0; i < nargs && rc == SQLITE_OK; i++) {
        const pl_val_t *v = &args[i];
        switch (v->t) {
        case PL_V_NULL:
            rc = sqlite3_bind_null(r->stmt, i + 1);
            break;
        case PL_V_INT:
            rc = sqlite3_bind_int64(r->stmt, i + 1, v->i);
            break;
        case PL_V_TEXT:
            rc = sqlite3_bind_text(r->stmt, i + 1, v->p, v->n == (size_t)-1 ? -1 : (int)v->n, SQLITE_STATIC);
            break;
        case PL_V_BLOB:
            rc = sqlite3_bind_blob(r->stmt, i + 1, v->p, (int)v->n, SQLITE_STATIC);
            break;
        }
    }
    return rc == SQLITE_OK ? 0 : PL_EDB;
}

int pl_db_query(pl_db_t *db, pl_rows_t **rows, const char *sql, const pl_val_t *args, int nargs)
{
    pl_rows_t *r = get_stmt(db, sql);
    *rows = NULL;
    if (r == NULL)
        return PL_EDB;
    if (bind(r, args, nargs) != 0) {
        log_db_error(db, "bind failed", sql);
        pl_rows_close(r);
        return PL_EDB;
    }
    *rows = r;
    return 0;
}

int pl_rows_next(pl_rows_t *r)
{
    int rc = sqlite3_step(r->stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    if (status_of(rc) != PL_ECONFLICT)
        log_db_error(r->db, "step failed", sqlite3_sql(r->stmt));
    return status_of(sqlite3_extended_errcode(r->db->h));
}

const char *pl_rows_text(pl_rows_t *r, int col)
{
    return (const char *)sqlite3_column_text(r->stmt, col);
}

int64_t pl_rows_int(pl_rows_t *r, int col)
{
    return sqlite3_column_int64(r->stmt, col);
}

bool pl_rows_null(pl_rows_t *r, int col)
{
    return sqlite3_column_type(r->stmt, col) == SQLITE_NULL;
}

const void *pl_rows_blob(pl_rows_t *r, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(r->stmt, col);
    *len = (size_t)sqlite3_column_bytes(r->stmt, col);
    return p;
}

int pl_db_exec(pl_db_t *db, const char *sql, const pl_val_t *args, int nargs)
{
    pl_rows_t *r;
    int rc;
    if (pl_db_query(db, &r, sql, args, nargs) != 0)
        return PL_EDB;
    while ((rc = pl_rows_next(r)) == 1)
        ;
    pl_rows_close(r);
    if (rc < 0)
        return rc;
    return sqlite3_changes(db->h);
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

int pl_db_begin(pl_db_t *db, pl_txmode_t mode, const char *tenant_id)
{
    static const char *sql_w = "BEGIN IMMEDIATE";
    static const char *sql_r = "BEGIN";
    if (db->in_tx) {
        pl_log(PL_LOG_ERROR, "nested transaction", NULL);
        return PL_EDB;
    }
    if (pl_db_exec(db, mode == PL_TX_WRITE ? sql_w : sql_r, PL_NOARGS) < 0)
        return PL_EDB;
    db->in_tx = true;
    db->tenant_id = tenant_id;
    return 0;
}

int pl_db_commit(pl_db_t *db)
{
    static const char *sql = "COMMIT";
    int rc;
    if (!db->in_tx)
        return 0;
    rc = pl_db_exec(db, sql, PL_NOARGS);
    if (rc < 0) {
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
    if (sqlite3_get_autocommit(db->h) == 0)
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    db->in_tx = false;
    db->tenant_id = NULL;
}

bool pl_db_in_tx(const pl_db_t *db)
{
    return db->in_tx;
}

/* ---- migrations ---- */

static int ensure_migrations_table(pl_db_t *db)
{
    return sqlite3_exec(db->h,
                        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                        "name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
                        NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : PL_EDB;
}

int pl_db_pending_migrations(pl_db_t *db)
{
    static const char *sql = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
    int64_t maxv = 0;
    size_t i;
    int pending = 0;
    if (ensure_migrations_table(db) != 0 || pl_db_int(db, &maxv, sql, PL_NOARGS) < 0)
        return PL_EDB;
    for (i = 0; i < pl_migrations_sqlite_count; i++)
        if (pl_migrations_sqlite[i].version > maxv)
            pending++;
    return pending;
}

int pl_store_migrate(pl_store_t *s, int *applied, pl_err_t *err)
{
    static const char *sql_has = "SELECT 1 FROM schema_migrations WHERE version = $1";
    static const char *sql_ins = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, "
                                 "CAST(strftime('%s','now') AS INTEGER) * 1000)";
    pl_db_t *db;
    size_t i;
    int rc = 0;
    char *emsg = NULL;
    *applied = 0;
    if (pl_db_connect(s, &db, err) != 0)
        return PL_EDB;
    if (ensure_migrations_table(db) != 0) {
        rc = pl_err_set(err, PL_EDB, NULL, "cannot create schema_migrations: %s", sqlite3_errmsg(db->h));
        goto out;
    }
    for (i = 0; i < pl_migrations_sqlite_count; i++) {
        const pl_migration_t *m = &pl_migrations_sqlite[i];
        int64_t one;
        if (pl_db_begin(db, PL_TX_WRITE, NULL) != 0) {
            rc = pl_err_set(err, PL_EDB, NULL, "cannot begin migration: %s", sqlite3_errmsg(db->h));
            goto out;
        }
        if (pl_db_int(db, &one, sql_has, PL_ARGS(PL_INT(m->version))) == 1) {
            pl_db_rollback(db);
            continue;
        }
        if (sqlite3_exec(db->h, m->sql, NULL, NULL, &emsg) != SQLITE_OK) {
            rc = pl_err_set(err, PL_EDB, NULL, "migration %04d_%s failed: %s", m->version, m->name,
                            emsg ? emsg : "?");
            sqlite3_free(emsg);
            pl_db_rollback(db);
            goto out;
        }
        if (pl_db_exec(db, sql_ins, PL_ARGS(PL_INT(m->version), PL_TEXT(m->name))) < 0 ||
            pl_db_commit(db) != 0) {
            rc = pl_err_set(err, PL_EDB, NULL, "cannot record migration %d", m->version);
            pl_db_rollback(db);
            goto out;
        }
        pl_logf(PL_LOG_INFO, "migration applied", "%04d_%s", m->version, m->name);
        (*applied)++;
    }
out:
    pl_db_close(db);
    return rc;
}
