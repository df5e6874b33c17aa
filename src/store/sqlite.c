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
 * The driver-independent half (transactions' bookkeeping, migrations) is in store.c.
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
#include "core/config.h"
#include "core/banned.h"

#define STMT_SLOTS 512

typedef struct sq_store {
    pl_store_t base;
    char path[PATH_MAX];
} sq_store_t;

typedef struct sq_rows {
    pl_rows_t base;
    sqlite3_stmt *stmt;
    char *key; /* a copy of the SQL text, or NULL for an uncached statement */
    uint64_t hash;
    bool in_use;
} sq_rows_t;

typedef struct sq_db {
    pl_db_t base;
    sqlite3 *h;
    int cached;
    sq_rows_t slots[STMT_SLOTS];
} sq_db_t;

#define SQ(db) ((sq_db_t *)(void *)(db))
#define SQR(r) ((sq_rows_t *)(void *)(r))

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

static int sq_open(pl_store_t **out, const char *path, const pl_config_t *cfg, pl_err_t *err)
{
    sq_store_t *s;
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
    if (path)
        snprintf(s->path, sizeof(s->path), "%s", path);
    else
        pl_config_path(cfg, "plinth.db", s->path, sizeof(s->path));
    s->base.drv = &pl_sqlite_driver;
    *out = &s->base;
    return 0;
}

static void sq_close(pl_store_t *s)
{
    free(s);
}

static int sq_connect(pl_store_t *store, pl_db_t **out, pl_err_t *err)
{
    sq_store_t *s = (sq_store_t *)(void *)store;
    sq_db_t *db = calloc(1, sizeof(*db));
    char *emsg = NULL;
    if (db == NULL)
        abort();
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
    *out = &db->base;
    return 0;
}

static void sq_disconnect(pl_db_t *base)
{
    sq_db_t *db = SQ(base);
    int i;
    for (i = 0; i < STMT_SLOTS; i++)
        if (db->slots[i].stmt) {
            sqlite3_finalize(db->slots[i].stmt);
            free(db->slots[i].key);
        }
    sqlite3_close(db->h);
    free(db);
}

static const char *sq_errmsg(pl_db_t *db)
{
    return sqlite3_errmsg(SQ(db)->h);
}

static void log_db_error(sq_db_t *db, const char *what, const char *sql)
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
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return PL_ECONFLICT;
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return PL_EUNAVAIL;
    return PL_EDB;
}

/* Rewrites $N to ?N outside string literals. */
static int prepare(sq_db_t *db, const char *sql, sqlite3_stmt **st)
{
    size_t n = strlen(sql), i, o = 0;
    char small[2048];
    char *buf = n < sizeof(small) ? small : malloc(n + 1);
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

static sq_rows_t *get_stmt(sq_db_t *db, const char *sql)
{
    uint64_t h = fnv1a(sql);
    size_t i, k;
    sqlite3_stmt *st;
    sq_rows_t *r;
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
            r->base.db = &db->base;
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
    r->base.db = &db->base;
    return r;
}

static void sq_rows_close(pl_rows_t *base)
{
    sq_rows_t *r = SQR(base);
    if (r->key == NULL) {
        sqlite3_finalize(r->stmt);
        free(r);
        return;
    }
    sqlite3_reset(r->stmt);
    sqlite3_clear_bindings(r->stmt);
    r->in_use = false;
}

static int bind(sq_rows_t *r, const pl_val_t *args, int nargs)
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

static int sq_query(pl_db_t *base, pl_rows_t **rows, const char *sql, const pl_val_t *args, int nargs)
{
    sq_db_t *db = SQ(base);
    sq_rows_t *r = get_stmt(db, sql);
    if (r == NULL)
        return PL_EDB;
    if (bind(r, args, nargs) != 0) {
        log_db_error(db, "bind failed", sql);
        sq_rows_close(&r->base);
        return PL_EDB;
    }
    *rows = &r->base;
    return 0;
}

static int sq_step(pl_rows_t *base)
{
    sq_rows_t *r = SQR(base);
    int rc = sqlite3_step(r->stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    if (status_of(rc) != PL_ECONFLICT)
        log_db_error(SQ(base->db), "step failed", sqlite3_sql(r->stmt));
    return status_of(sqlite3_extended_errcode(SQ(base->db)->h));
}

static const char *sq_text(pl_rows_t *r, int col)
{
    return (const char *)sqlite3_column_text(SQR(r)->stmt, col);
}

static int64_t sq_int(pl_rows_t *r, int col)
{
    return sqlite3_column_int64(SQR(r)->stmt, col);
}

static bool sq_null(pl_rows_t *r, int col)
{
    return sqlite3_column_type(SQR(r)->stmt, col) == SQLITE_NULL;
}

static const void *sq_blob(pl_rows_t *r, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(SQR(r)->stmt, col);
    *len = (size_t)sqlite3_column_bytes(SQR(r)->stmt, col);
    return p;
}

static int64_t sq_changes(pl_db_t *db)
{
    return sqlite3_changes(SQ(db)->h);
}

static int sq_ncols(pl_rows_t *r)
{
    return sqlite3_column_count(SQR(r)->stmt);
}

static pl_val_t sq_value(pl_rows_t *r, int col)
{
    sqlite3_stmt *st = SQR(r)->stmt;
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER:
        return PL_INT(sqlite3_column_int64(st, col));
    case SQLITE_BLOB:
        return PL_BLOB(sqlite3_column_blob(st, col), (size_t)sqlite3_column_bytes(st, col));
    case SQLITE_NULL:
        return PL_NULLV;
    default: /* text (no column here holds a REAL) */
        return PL_TEXTN((const char *)sqlite3_column_text(st, col), (size_t)sqlite3_column_bytes(st, col));
    }
}

static int sq_begin(pl_db_t *db, pl_txmode_t mode, const char *tenant_id, const char *schema)
{
    /* one database: tenant_id columns scope every statement; schemas are PostgreSQL's */
    static const char *sql_moved = "SELECT 1 FROM tenant_moves WHERE tenant_id = $1";
    int64_t one = 0;
    int found;
    if (schema)
        return PL_EDB;
    if (sqlite3_exec(SQ(db)->h, mode == PL_TX_WRITE ? "BEGIN IMMEDIATE" : "BEGIN", NULL, NULL, NULL) !=
        SQLITE_OK)
        return PL_EDB;
    if (mode != PL_TX_WRITE || tenant_id == NULL || !db->data_plane)
        return 0;
    found = pl_db_int(db, &one, sql_moved, PL_ARGS(PL_TEXT(tenant_id)));
    if (found == 0)
        return 0;
    sqlite3_exec(SQ(db)->h, "ROLLBACK", NULL, NULL, NULL);
    return found == 1 ? PL_EMOVED : PL_EDB;
}

static int sq_commit(pl_db_t *db)
{
    int rc = sqlite3_exec(SQ(db)->h, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        pl_logf(PL_LOG_ERROR, "commit failed", "%s", sqlite3_errmsg(SQ(db)->h));
    return rc == SQLITE_OK ? 0 : PL_EDB;
}

static void sq_rollback(pl_db_t *db)
{
    if (sqlite3_get_autocommit(SQ(db)->h) == 0)
        sqlite3_exec(SQ(db)->h, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_script(pl_db_t *db, const char *sql, pl_err_t *err)
{
    char *emsg = NULL;
    if (sqlite3_exec(SQ(db)->h, sql, NULL, NULL, &emsg) == SQLITE_OK)
        return 0;
    pl_err_set(err, PL_EDB, NULL, "%s", emsg ? emsg : sqlite3_errmsg(SQ(db)->h));
    sqlite3_free(emsg);
    return PL_EDB;
}

/* The online backup API: copies the pages in steps, so writers are held up only briefly. */
static int sq_backup(pl_store_t *store, const char *path, pl_err_t *err)
{
    sq_store_t *s = (sq_store_t *)(void *)store;
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b;
    int rc = SQLITE_ERROR;
    if (sqlite3_open_v2(s->path, &src, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK &&
        (b = sqlite3_backup_init(dst, "main", src, "main")) != NULL) {
        sqlite3_busy_timeout(src, 10000);
        do {
            rc = sqlite3_backup_step(b, 256);
            if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
                sqlite3_sleep(5);
        } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
        sqlite3_backup_finish(b);
    }
    if (rc != SQLITE_DONE)
        pl_err_set(err, PL_EDB, NULL, "backup to '%s' failed: %s", path,
                   dst ? sqlite3_errmsg(dst) : "cannot open");
    sqlite3_close(src);
    sqlite3_close(dst);
    return rc == SQLITE_DONE ? 0 : PL_EDB;
}

const pl_store_driver_t pl_sqlite_driver = {
    .name = "sqlite",
    .dialect = PL_DIALECT_SQLITE,
    .open = sq_open,
    .close = sq_close,
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .query = sq_query,
    .step = sq_step,
    .text = sq_text,
    .integer = sq_int,
    .null = sq_null,
    .blob = sq_blob,
    .ncols = sq_ncols,
    .value = sq_value,
    .rows_close = sq_rows_close,
    .changes = sq_changes,
    .script = sq_script,
    .backup = sq_backup,
    .errmsg = sq_errmsg,
};
