/*
 * postgres.c — the PostgreSQL driver of store.h (libpq).
 *
 * "postgres://ROLE:PW@HOST:PORT/DB" (or postgresql://). One connection per pl_db_t, as with
 * SQLite: each worker and background thread has its own. Statements are prepared once per
 * connection (a hash table keyed by the SQL text, like the SQLite driver's) and executed with
 * their parameters as text (the server infers their types from the statement); blobs go as
 * binary. A transaction in a tenant's context sets app.tenant_id for that transaction only
 * (set_config(…, true)), which the row-level security policies read.
 *
 * A connection that broke (the server restarted) is reset at the next transaction; until the
 * server answers again statements fail with PL_EUNAVAIL, which the operation answers with a
 * 503 problem. Errors: unique violations are PL_ECONFLICT; serialization failures, deadlocks
 * and lock timeouts PL_EUNAVAIL (retry); anything else PL_EDB.
 *
 * Rows are read from the whole result of a statement (libpq's default): a cursor is an index
 * into it. Lists are bounded by LIMIT everywhere, and exports read in batches.
 *
 * A failed statement aborts a PostgreSQL transaction, while callers (written for SQLite)
 * may go on after a conflict — "insert; on a unique violation, read the existing row". A
 * write inside a transaction therefore runs under a savepoint that a failure rolls back to,
 * so the transaction stays usable exactly as on SQLite.
 */
#include "store/store.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/banned.h"

#define STMT_SLOTS 512

typedef struct pg_store {
    pl_store_t base;
    char *conninfo;
} pg_store_t;

typedef struct pg_stmt {
    char *sql; /* a copy of the text; NULL: empty slot */
    uint64_t hash;
    char name[16];
} pg_stmt_t;

typedef struct pg_db {
    pl_db_t base;
    PGconn *conn;
    /* A read transaction's BEGIN and settings wait for its first statement and go with it in
     * one round trip (libpq's pipeline mode); its COMMIT is sent without waiting, its answer
     * read before the connection's next use. */
    bool deferred;             /* a read transaction begun, nothing sent yet */
    char deferred_tenant[100]; /* its tenant ("" : control scope) */
    char deferred_schema[64];  /* its schema cell, or "" */
    bool reading;              /* the open transaction is a read transaction */
    bool ending;               /* a COMMIT or ROLLBACK sent, its answer not read yet */
    int64_t changes;
    int nprepared;
    pg_stmt_t slots[STMT_SLOTS];
    char err[256];
} pg_db_t;

typedef struct pg_rows {
    pl_rows_t base;
    PGresult *res;
    int row, nrows;
    unsigned char *blob; /* the last bytea column read, unescaped */
} pg_rows_t;

#define PG(db) ((pg_db_t *)(void *)(db))
#define PGR(r) ((pg_rows_t *)(void *)(r))

static int pg_open(pl_store_t **out, const char *url, const pl_config_t *cfg, pl_err_t *err)
{
    pg_store_t *s = calloc(1, sizeof(*s));
    (void)cfg;
    if (s == NULL || (s->conninfo = strdup(url)) == NULL)
        abort();
    s->base.drv = &pl_postgres_driver;
    *out = &s->base;
    (void)err;
    return 0;
}

static void pg_close(pl_store_t *store)
{
    pg_store_t *s = (pg_store_t *)(void *)store;
    free(s->conninfo);
    free(s);
}

static void forget_statements(pg_db_t *d)
{
    int i;
    for (i = 0; i < STMT_SLOTS; i++) {
        free(d->slots[i].sql);
        d->slots[i].sql = NULL;
    }
    d->nprepared = 0;
}

static int pg_connect(pl_store_t *store, pl_db_t **out, pl_err_t *err)
{
    pg_store_t *s = (pg_store_t *)(void *)store;
    pg_db_t *d = calloc(1, sizeof(*d));
    if (d == NULL)
        abort();
    d->conn = PQconnectdb(s->conninfo);
    if (PQstatus(d->conn) != CONNECTION_OK) {
        pl_err_set(err, PL_EUNAVAIL, NULL, "cannot connect to PostgreSQL: %s", PQerrorMessage(d->conn));
        PQfinish(d->conn);
        free(d);
        return PL_EUNAVAIL;
    }
    PQsetErrorVerbosity(d->conn, PQERRORS_TERSE);
    *out = &d->base;
    return 0;
}

/* Reads the answer of a COMMIT sent without waiting (see pg_db_t). */
static void settle(pg_db_t *d)
{
    PGresult *res;
    if (!d->ending)
        return;
    d->ending = false;
    while ((res = PQgetResult(d->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            pl_logf(PL_LOG_WARN, "ending a read transaction failed", "%s", PQresultErrorMessage(res));
        PQclear(res);
    }
}

static void pg_disconnect(pl_db_t *db)
{
    settle(PG(db));
    forget_statements(PG(db));
    PQfinish(PG(db)->conn);
    free(db);
}

/* The store status of a failed result. */
static int status_of(pg_db_t *d, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(d->err, sizeof(d->err), "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(d->conn));
    if (PQstatus(d->conn) != CONNECTION_OK)
        return PL_EUNAVAIL;
    if (state && strcmp(state, "23505") == 0)
        return PL_ECONFLICT;
    if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0))
        return PL_EUNAVAIL;
    return PL_EDB;
}

/* Runs a statement without parameters (transaction control). */
static int simple(pg_db_t *d, const char *sql)
{
    PGresult *res;
    settle(d);
    res = PQexec(d->conn, sql);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK
                 ? 0
                 : status_of(d, res);
    PQclear(res);
    return rc;
}

/* Whether s can stand in a SQL literal as it is (tenant ids are type ids: letters, digits, _). */
static bool plain_literal(const char *s)
{
    size_t n = 0;
    for (; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-'))
            return false;
    return n > 0 && n < 100;
}

/*
 * A transaction's context, read by the row-level security policies (pl_store_secure):
 * app.tenant_id = the tenant, or app.scope = 'control' for control-plane work (no tenant).
 * BEGIN and the settings go in one round trip. A tenant's write transactions also take
 * turns on an advisory lock of the tenant, as all writes do on SQLite: plan limits counted
 * before an insert, the audit chain's append and the per-tenant counters stay exact with
 * concurrent writers on any number of nodes; other tenants' writes do not wait.
 */
static int pg_begin(pl_db_t *db, pl_txmode_t mode, const char *tenant_id, const char *schema)
{
    pg_db_t *d = PG(db);
    char sql[640], path[160] = "";
    PGresult *res;
    int rc;
    settle(d);
    if (PQstatus(d->conn) != CONNECTION_OK) {
        /* the server went away: try once to come back; prepared statements are gone */
        forget_statements(d);
        PQreset(d->conn);
        if (PQstatus(d->conn) != CONNECTION_OK) {
            snprintf(d->err, sizeof(d->err), "%s", PQerrorMessage(d->conn));
            return PL_EUNAVAIL;
        }
        pl_log(PL_LOG_WARN, "reconnected to PostgreSQL", NULL);
    }
    if ((tenant_id && !plain_literal(tenant_id)) || (schema && !plain_literal(schema))) {
        snprintf(d->err, sizeof(d->err), "not a tenant id or schema name");
        return PL_EDB;
    }
    d->reading = mode == PL_TX_READ;
    if (mode == PL_TX_READ) { /* sent with the first statement (pg_query) */
        d->deferred = true;
        snprintf(d->deferred_tenant, sizeof(d->deferred_tenant), "%s", tenant_id ? tenant_id : "");
        snprintf(d->deferred_schema, sizeof(d->deferred_schema), "%s", schema ? schema : "");
        return 0;
    }
    if (schema) /* a schema cell: its tables first, the control plane's behind them */
        snprintf(path, sizeof(path), ", set_config('search_path', '\"%s\", public', true)", schema);
    if (tenant_id == NULL)
        snprintf(sql, sizeof(sql), "%s; SELECT set_config('app.scope', 'control', true)%s",
                 mode == PL_TX_WRITE ? "BEGIN" : "BEGIN READ ONLY", path);
    else if (mode == PL_TX_WRITE) /* the last column: whether the tenant moved out of here; the
                                   * lock is the tenant's in these tables (a schema cell's own) */
        snprintf(sql, sizeof(sql),
                 "BEGIN; SELECT set_config('app.tenant_id', '%s', true)%s, "
                 "pg_advisory_xact_lock(hashtextextended('%s%s%s', 0)); "
                 "SELECT %s EXISTS (SELECT 1 FROM tenant_moves WHERE tenant_id = '%s')",
                 tenant_id, path, schema ? schema : "", schema ? "/" : "", tenant_id,
                 db->data_plane ? "" : "false AND", tenant_id);
    else
        snprintf(sql, sizeof(sql), "BEGIN READ ONLY; SELECT set_config('app.tenant_id', '%s', true)%s",
                 tenant_id, path);
    res = PQexec(d->conn, sql); /* the result of the last statement */
    rc = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK
             ? 0
             : status_of(d, res);
    if (rc == 0 && tenant_id && mode == PL_TX_WRITE && PQntuples(res) == 1 &&
        strcmp(PQgetvalue(res, 0, 0), "t") == 0)
        rc = PL_EMOVED;
    PQclear(res);
    if (rc != 0 && PQtransactionStatus(d->conn) != PQTRANS_IDLE)
        simple(d, "ROLLBACK");
    return rc;
}

/* A read transaction ends without a wait: nothing it did needs the answer (see pg_db_t). */
static bool end_read(pg_db_t *d, const char *sql)
{
    if (!d->reading)
        return false;
    d->reading = false;
    if (d->deferred) { /* nothing was sent */
        d->deferred = false;
        return true;
    }
    if (PQtransactionStatus(d->conn) == PQTRANS_IDLE)
        return true;
    if (PQsendQuery(d->conn, sql) == 1)
        d->ending = true;
    return true;
}

static int pg_commit(pl_db_t *db)
{
    int rc;
    if (end_read(PG(db), "COMMIT"))
        return 0;
    rc = simple(PG(db), "COMMIT");
    if (rc != 0)
        pl_logf(PL_LOG_ERROR, "commit failed", "%s", PG(db)->err);
    return rc;
}

static void pg_rollback(pl_db_t *db)
{
    if (end_read(PG(db), "ROLLBACK"))
        return;
    if (PQtransactionStatus(PG(db)->conn) != PQTRANS_IDLE)
        simple(PG(db), "ROLLBACK");
}

/* A part of a pipeline: a statement without parameters, or with one text parameter. */
typedef struct {
    const char *sql, *arg;
} part_t;

/* Sends the parts before, the statement, and the parts after in one round trip (libpq's
 * pipeline mode) and returns the statement's result (NULL when it could not be sent; d->err
 * filled). *before_failed tells whether a part before it failed (then the statement did not
 * run). A part after a failed statement is not run. */
static PGresult *pipelined(pg_db_t *d, const part_t *pre, int npre, const char *name, const char *sql,
                           int nargs, const Oid *types, const char *const *values, const int *lengths,
                           const int *formats, const part_t *post, int npost, bool *before_failed)
{
    PGresult *res, *out = NULL;
    int i, n = npre + 1 + npost;
    *before_failed = false;
    if (PQenterPipelineMode(d->conn) != 1) {
        snprintf(d->err, sizeof(d->err), "%s", PQerrorMessage(d->conn));
        return NULL;
    }
    for (i = 0; i < n; i++) {
        const part_t *p = i < npre ? &pre[i] : i > npre ? &post[i - npre - 1] : NULL;
        int ok = p ? PQsendQueryParams(d->conn, p->sql, p->arg ? 1 : 0, NULL, p->arg ? &p->arg : NULL, NULL,
                                       NULL, 0)
                 : name ? PQsendQueryPrepared(d->conn, name, nargs, values, lengths, formats, 0)
                        : PQsendQueryParams(d->conn, sql, nargs, types, values, lengths, formats, 0);
        if (ok != 1) {
            n = i;
            break;
        }
    }
    PQpipelineSync(d->conn);
    /* each part's result, then NULL */
    for (i = 0; i < n; i++)
        while ((res = PQgetResult(d->conn)) != NULL) {
            ExecStatusType st = PQresultStatus(res);
            if (i < npre && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !*before_failed) {
                status_of(d, res);
                *before_failed = true;
            }
            if (i == npre && out == NULL)
                out = res;
            else
                PQclear(res);
        }
    while ((res = PQgetResult(d->conn)) != NULL) { /* up to the sync */
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        if (st == PGRES_PIPELINE_SYNC)
            break;
    }
    PQexitPipelineMode(d->conn);
    if (out == NULL)
        snprintf(d->err, sizeof(d->err), "%s", PQerrorMessage(d->conn));
    return out;
}

/* A deferred read transaction's BEGIN and settings, then the statement, in one round trip. */
static PGresult *exec_with_begin(pg_db_t *d, const char *name, const char *sql, int nargs, const Oid *types,
                                 const char *const *values, const int *lengths, const int *formats)
{
    char path[160];
    part_t pre[3] = {{"BEGIN READ ONLY", NULL}};
    int npre = 1;
    bool failed;
    PGresult *res;
    d->deferred = false;
    if (d->deferred_tenant[0])
        pre[npre++] = (part_t){"SELECT set_config('app.tenant_id', $1, true)", d->deferred_tenant};
    else
        pre[npre++] = (part_t){"SELECT set_config('app.scope', 'control', true)", NULL};
    if (d->deferred_schema[0]) {
        snprintf(path, sizeof(path), "\"%s\", public", d->deferred_schema);
        pre[npre++] = (part_t){"SELECT set_config('search_path', $1, true)", path};
    }
    res = pipelined(d, pre, npre, name, sql, nargs, types, values, lengths, formats, NULL, 0, &failed);
    return res;
}

/* INSERT, UPDATE, DELETE (the statements that can fail on a constraint). */
static bool writes(const char *sql)
{
    while (*sql == ' ' || *sql == '\n' || *sql == '\t')
        sql++;
    return (*sql | 0x20) == 'i' || (*sql | 0x20) == 'u' || (*sql | 0x20) == 'd';
}

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ? h : 1;
}

/* The prepared statement of sql with these parameter types on this connection (prepared now
 * if new), or NULL when the cache is full (the statement then runs unprepared). Fills *rc on
 * a failed prepare. */
static const char *prepared(pg_db_t *d, const char *sql, int nargs, const Oid *types, int *rc)
{
    uint64_t h = hash_text(sql);
    int k;
    for (k = 0; k < nargs; k++) /* the same text with other parameter types is another statement */
        h = (h ^ (uint64_t)(types[k] + 1)) * 1099511628211ULL;
    size_t i, base = (size_t)(h % STMT_SLOTS);
    PGresult *res;
    pg_stmt_t *s = NULL;
    *rc = 0;
    for (i = 0; i < 16; i++) {
        pg_stmt_t *c = &d->slots[(base + i) % STMT_SLOTS];
        if (c->sql == NULL) {
            s = c;
            break;
        }
        if (c->hash == h && strcmp(c->sql, sql) == 0)
            return c->name;
    }
    if (s == NULL)
        return NULL;
    snprintf(s->name, sizeof(s->name), "s%d", d->nprepared++);
    res = PQprepare(d->conn, s->name, sql, nargs, types);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        *rc = status_of(d, res);
        PQclear(res);
        pl_logf(PL_LOG_ERROR, "prepare failed", "%s: %.200s", d->err, sql);
        return NULL;
    }
    PQclear(res);
    s->sql = strdup(sql);
    s->hash = h;
    if (s->sql == NULL)
        abort();
    return s->name;
}

/* The type of a parameter: int8, text, bytea, or 0 (inferred) for a NULL of no type. */
static Oid type_of(const pl_val_t *v)
{
    if (v->untyped)
        return 0;
    switch (v->t == PL_V_NULL ? v->null_of : v->t) {
    case PL_V_INT:
        return 20;
    case PL_V_TEXT:
        return 25;
    case PL_V_BLOB:
        return 17;
    default:
        return 0;
    }
}

static int pg_query(pl_db_t *db, pl_rows_t **rows, const char *sql, const pl_val_t *args, int nargs)
{
    pg_db_t *d = PG(db);
    Oid types[32];
    const char *values[32];
    int lengths[32], formats[32];
    char nums[32][24];
    const char *name;
    PGresult *res;
    ExecStatusType st;
    pg_rows_t *r;
    bool guarded;
    int i, rc;
    if (nargs > 32)
        return PL_EDB;
    for (i = 0; i < nargs; i++) {
        formats[i] = 0;
        lengths[i] = 0;
        types[i] = type_of(&args[i]);
        switch (args[i].t) {
        case PL_V_NULL:
            values[i] = NULL;
            break;
        case PL_V_INT:
            snprintf(nums[i], sizeof(nums[i]), "%" PRId64, args[i].i);
            values[i] = nums[i];
            break;
        case PL_V_TEXT:
            values[i] = args[i].p;
            if (args[i].n != (size_t)-1) { /* a length-delimited string: send it as bytes */
                lengths[i] = (int)args[i].n;
                formats[i] = 1;
            }
            break;
        case PL_V_BLOB:
            values[i] = args[i].p;
            lengths[i] = (int)args[i].n;
            formats[i] = 1;
            break;
        }
    }
    if (PQstatus(d->conn) != CONNECTION_OK) {
        snprintf(d->err, sizeof(d->err), "%s", PQerrorMessage(d->conn));
        return PL_EUNAVAIL;
    }
    settle(d);
    name = prepared(d, sql, nargs, types, &rc);
    if (rc != 0)
        return rc;
    if (d->deferred) {
        res = exec_with_begin(d, name, sql, nargs, types, values, lengths, formats);
        if (res == NULL) {
            if (!d->err[0])
                snprintf(d->err, sizeof(d->err), "%s", PQerrorMessage(d->conn));
            return PQstatus(d->conn) != CONNECTION_OK ? PL_EUNAVAIL : PL_EDB;
        }
        guarded = false;
    } else if ((guarded = db->in_tx && writes(sql))) {
        /* a write that may fail on a constraint inside a transaction that goes on: a savepoint
         * before it and its release after, in the same round trip */
        static const part_t save = {"SAVEPOINT pl_stmt", NULL}, release = {"RELEASE SAVEPOINT pl_stmt", NULL};
        bool failed;
        res = pipelined(d, &save, 1, name, sql, nargs, types, values, lengths, formats, &release, 1, &failed);
        if (res == NULL || failed) {
            PQclear(res);
            return PQstatus(d->conn) != CONNECTION_OK ? PL_EUNAVAIL : PL_EDB;
        }
    } else {
        res = name ? PQexecPrepared(d->conn, name, nargs, values, lengths, formats, 0)
                   : PQexecParams(d->conn, sql, nargs, types, values, lengths, formats, 0);
    }
    st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        rc = status_of(d, res);
        if (rc != PL_ECONFLICT)
            pl_logf(PL_LOG_ERROR, "statement failed", "%s: %.200s", d->err, sql);
        PQclear(res);
        if (guarded) /* the transaction goes on without this statement (the release did not run) */
            simple(d, "ROLLBACK TO SAVEPOINT pl_stmt");
        return rc;
    }
    d->changes = *PQcmdTuples(res) ? strtoll(PQcmdTuples(res), NULL, 10) : 0;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        abort();
    r->base.db = db;
    r->res = res;
    r->row = -1;
    r->nrows = st == PGRES_TUPLES_OK ? PQntuples(res) : 0;
    *rows = &r->base;
    return 0;
}

static int pg_step(pl_rows_t *rows)
{
    pg_rows_t *r = PGR(rows);
    if (r->row + 1 >= r->nrows)
        return 0;
    r->row++;
    return 1;
}

static const char *pg_text(pl_rows_t *rows, int col)
{
    pg_rows_t *r = PGR(rows);
    if (col >= PQnfields(r->res) || PQgetisnull(r->res, r->row, col))
        return NULL;
    return PQgetvalue(r->res, r->row, col);
}

static int64_t pg_int(pl_rows_t *rows, int col)
{
    const char *v = pg_text(rows, col);
    if (v == NULL)
        return 0;
    if (v[0] == 't' && v[1] == '\0') /* a boolean */
        return 1;
    return strtoll(v, NULL, 10);
}

static bool pg_null(pl_rows_t *rows, int col)
{
    pg_rows_t *r = PGR(rows);
    return col >= PQnfields(r->res) || PQgetisnull(r->res, r->row, col);
}

static const void *pg_blob(pl_rows_t *rows, int col, size_t *len)
{
    pg_rows_t *r = PGR(rows);
    const char *v = pg_text(rows, col);
    *len = 0;
    if (v == NULL)
        return NULL;
    PQfreemem(r->blob);
    r->blob = PQunescapeBytea((const unsigned char *)v, len);
    return r->blob;
}

static int pg_ncols(pl_rows_t *rows)
{
    return PQnfields(PGR(rows)->res);
}

/* Every column in its text form, untyped: bound again, the server parses it as the target
 * column's type (bytea's text form included). */
static pl_val_t pg_value(pl_rows_t *rows, int col)
{
    const char *v = pg_text(rows, col);
    pl_val_t out = {.t = v ? PL_V_TEXT : PL_V_NULL, .p = v, .n = (size_t)-1, .untyped = true};
    return out;
}

static void pg_rows_close(pl_rows_t *rows)
{
    pg_rows_t *r = PGR(rows);
    PQfreemem(r->blob);
    PQclear(r->res);
    free(r);
}

static int64_t pg_changes(pl_db_t *db)
{
    return PG(db)->changes;
}

static int pg_script(pl_db_t *db, const char *sql, pl_err_t *err)
{
    pg_db_t *d = PG(db);
    int rc = simple(d, sql);
    if (rc != 0)
        pl_err_set(err, PL_EDB, NULL, "%s", d->err);
    return rc;
}

static int pg_backup(pl_store_t *s, const char *path, pl_err_t *err)
{
    (void)s;
    return pl_err_set(err, PL_EINVAL, NULL,
                      "backups of a PostgreSQL store are the database's own (pg_dump, "
                      "base backups); '%s' was not written",
                      path);
}

/* Runs a query that returns one row; *out gets its result (PQclear it) or NULL. */
static int one_row(pg_db_t *d, const char *sql, const char *arg, PGresult **out)
{
    const char *v[1] = {arg};
    PGresult *res;
    settle(d);
    res = PQexecParams(d->conn, sql, arg ? 1 : 0, NULL, arg ? v : NULL, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        int rc = status_of(d, res);
        PQclear(res);
        *out = NULL;
        return rc ? rc : PL_EDB;
    }
    *out = res;
    return 0;
}

/* The tables that hold tenant rows (a tenant_id column), as c, in the current schema. */
#define TENANT_TABLES                                                                                        \
    "pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' "                      \
    "AND NOT a.attisdropped WHERE c.relkind IN ('r', 'p') AND c.relnamespace = "                             \
    "current_schema()::regnamespace"

/*
 * Run as the owner after the migrations, every time (idempotent): the app role gets data
 * access but owns nothing and cannot change the schema; every table with a tenant_id column
 * gets ENABLE + FORCE ROW LEVEL SECURITY and the policy tenant_isolation. A module's new
 * table is covered by its presence alone. A table already secured is not altered (an ALTER
 * TABLE would wait for every query on it), and nodes starting together take turns on the
 * migrations' advisory lock.
 */
static const char *const secure_sql =
    "DO $plinth$ DECLARE t record; app text := %s; BEGIN "
    "EXECUTE format('GRANT USAGE ON SCHEMA %%I TO %%I', current_schema(), app); "
    "EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %%I TO %%I', "
    "current_schema(), app); "
    "EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %%I TO %%I', current_schema(), app); "
    "EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM %%I', app); "
    "FOR t IN SELECT c.relname, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced, "
    "  EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = current_schema() AND p.tablename = c.relname "
    "    AND p.policyname = 'tenant_isolation') AS has_policy "
    "  FROM " TENANT_TABLES " LOOP "
    "  IF NOT t.rls THEN EXECUTE format('ALTER TABLE %%I ENABLE ROW LEVEL SECURITY', t.relname); END IF; "
    "  IF NOT t.forced THEN EXECUTE format('ALTER TABLE %%I FORCE ROW LEVEL SECURITY', t.relname); END IF; "
    "  IF NOT t.has_policy THEN EXECUTE format('CREATE POLICY tenant_isolation ON %%I "
    "USING (tenant_id = current_setting(''app.tenant_id'', true) "
    "OR current_setting(''app.scope'', true) = ''control'') "
    "WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true) "
    "OR current_setting(''app.scope'', true) = ''control'')', t.relname); END IF; "
    "END LOOP; END $plinth$";

/* The search path of the connection's session: a schema cell's schema first, or (NULL or
 * "") the default again. Schema names are [a-z0-9_] (pl_db_set_schema). */
static int use_schema(pg_db_t *d, const char *schema)
{
    char sql[160];
    if (schema == NULL || schema[0] == '\0')
        return simple(d, "SELECT set_config('search_path', (SELECT reset_val FROM pg_settings WHERE name = "
                         "'search_path'), false)");
    snprintf(sql, sizeof(sql), "SELECT set_config('search_path', '\"%s\", public', false)", schema);
    return simple(d, sql);
}

static int pg_secure(pl_db_t *owner, pl_db_t *app, pl_err_t *err)
{
    pg_db_t *o = PG(owner), *d = PG(app);
    PGresult *res;
    char *lit, *sql;
    size_t n;
    int rc;
    if ((rc = one_row(d, "SELECT current_user", NULL, &res)) != 0)
        return pl_err_set(err, rc, NULL, "cannot read the app role: %s", d->err);
    lit = PQescapeLiteral(o->conn, PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)));
    PQclear(res);
    if (lit == NULL)
        return pl_err_set(err, PL_EDB, NULL, "cannot quote the app role");
    n = strlen(secure_sql) + strlen(lit) + 1;
    if ((sql = malloc(n)) == NULL)
        abort();
    snprintf(sql, n, secure_sql, lit);
    PQfreemem(lit);
    if ((rc = simple(o, "BEGIN; SELECT pg_advisory_xact_lock(7291000001)")) == 0 &&
        (rc = use_schema(o, owner->schema)) == 0 && (rc = simple(o, sql)) == 0)
        rc = simple(o, "COMMIT");
    if (rc != 0 && PQtransactionStatus(o->conn) != PQTRANS_IDLE)
        simple(o, "ROLLBACK");
    use_schema(o, NULL);
    free(sql);
    if (rc != 0)
        return pl_err_set(err, rc, NULL, "cannot grant the app role its access: %s", o->err);
    return 0;
}

/* The app role must be subject to row-level security: not a superuser, no BYPASSRLS, owner
 * of no relation (an owner could turn the policies off), and every tenant table forced. */
static int pg_check_app(pl_db_t *db, pl_err_t *err)
{
    static const char *sql =
        "SELECT r.rolsuper, r.rolbypassrls, "
        "(SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid AND c.relkind IN "
        "('r','p','v','m','S','f') "
        "  AND c.relnamespace::regnamespace::text NOT LIKE 'pg\\_%' "
        "  AND c.relnamespace <> 'information_schema'::regnamespace), "
        "(SELECT string_agg(c.relname, ', ') FROM " TENANT_TABLES " AND NOT (c.relrowsecurity AND "
        "  c.relforcerowsecurity)), r.rolname "
        "FROM pg_roles r WHERE r.rolname = current_user";
    PGresult *res;
    int rc;
    if ((rc = use_schema(PG(db), db->schema)) != 0 || (rc = one_row(PG(db), sql, NULL, &res)) != 0)
        return pl_err_set(err, rc, NULL, "cannot read the app role: %s", PG(db)->err);
    use_schema(PG(db), NULL);
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
        rc = pl_err_set(err, PL_EINVAL, NULL,
                        "the database role '%s' is a superuser, which row-level security does not bind; "
                        "connect as an app role (docs/operations.md)",
                        PQgetvalue(res, 0, 4));
    else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
        rc = pl_err_set(err, PL_EINVAL, NULL,
                        "the database role '%s' has BYPASSRLS; connect as an app role without it",
                        PQgetvalue(res, 0, 4));
    else if (strcmp(PQgetvalue(res, 0, 2), "0") != 0)
        rc = pl_err_set(err, PL_EINVAL, NULL,
                        "the database role '%s' owns %s tables or sequences; the schema belongs to the owner "
                        "role (--migrate-url) and the app role may own nothing",
                        PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 2));
    else if (!PQgetisnull(res, 0, 3))
        rc = pl_err_set(
            err, PL_EINVAL, NULL,
            "row-level security is not forced on %.200s; run plinth migrate --migrate-url OWNER_URL",
            PQgetvalue(res, 0, 3));
    PQclear(res);
    return rc;
}

static bool pg_broken(pl_db_t *db)
{
    return PQstatus(PG(db)->conn) != CONNECTION_OK;
}

static const char *pg_errmsg(pl_db_t *db)
{
    return PG(db)->err[0] ? PG(db)->err : PQerrorMessage(PG(db)->conn);
}

const pl_store_driver_t pl_postgres_driver = {
    .name = "postgres",
    .dialect = PL_DIALECT_POSTGRES,
    .open = pg_open,
    .close = pg_close,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .query = pg_query,
    .step = pg_step,
    .text = pg_text,
    .integer = pg_int,
    .null = pg_null,
    .blob = pg_blob,
    .ncols = pg_ncols,
    .value = pg_value,
    .rows_close = pg_rows_close,
    .changes = pg_changes,
    .script = pg_script,
    .backup = pg_backup,
    .errmsg = pg_errmsg,
    .secure = pg_secure,
    .check_app = pg_check_app,
    .broken = pg_broken,
};
