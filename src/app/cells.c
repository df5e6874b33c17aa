/*
 * cells.c — the cell registry, the schema of a cell, the directory cache and the
 * connections of serving threads to cells (see cells.h).
 */
#include "app/cells.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/banned.h"

#define HOME_SLOTS 4096 /* the directory cache: tenant → cell index, open addressing */

typedef struct {
    char tenant[48];
    int cell;
} home_t;

struct pl_cells {
    pthread_mutex_t lock; /* additions */
    _Atomic size_t n;
    pl_cell_t *cell[PL_MAX_CELLS];
    pthread_mutex_t cache_lock;
    uint64_t cache_gen;
    home_t home[HOME_SLOTS];
};

static pl_cells_t *cells_create(void)
{
    pl_cells_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->cache_lock, NULL);
    return c;
}

void pl_cells_destroy(pl_app_t *a)
{
    pl_cells_t *c = pl_app_cells_get(a);
    size_t i;
    if (c == NULL)
        return;
    pl_app_cells_set(a, NULL);
    for (i = 0; i < atomic_load(&c->n); i++) {
        if (c->cell[i]->kind == PL_CELL_DATABASE)
            pl_store_close(c->cell[i]->store);
        free(c->cell[i]);
    }
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->cache_lock);
    free(c);
}

/* The registry, in the application's slot for it (made by the first cell opened, the pool,
 * while the application opens: one thread). */
static pl_cells_t *state(const pl_app_t *a)
{
    pl_cells_t *c = pl_app_cells_get(a);
    if (c == NULL) {
        c = cells_create();
        pl_app_cells_set((pl_app_t *)a, c);
    }
    return c;
}

const char *pl_cell_kind_name(pl_cell_kind_t k)
{
    return k == PL_CELL_SCHEMA ? "schema" : k == PL_CELL_DATABASE ? "database" : "pool";
}

static int kind_of(const char *s, pl_cell_kind_t *k)
{
    if (s && strcmp(s, "pool") == 0)
        *k = PL_CELL_POOL;
    else if (s && strcmp(s, "schema") == 0)
        *k = PL_CELL_SCHEMA;
    else if (s && strcmp(s, "database") == 0)
        *k = PL_CELL_DATABASE;
    else
        return -1;
    return 0;
}

static bool is_postgres_url(const char *u)
{
    return u && (strncmp(u, "postgres://", 11) == 0 || strncmp(u, "postgresql://", 13) == 0);
}

int pl_cell_def_check(const pl_app_t *a, const pl_cell_def_t *def, pl_err_t *err)
{
    const pl_config_t *cfg = pl_app_config(a);
    bool pg = is_postgres_url(cfg->database_url);
    pl_cell_kind_t k;
    size_t i, n = def->name ? strlen(def->name) : 0;
    bool name_ok = n >= 1 && n <= 40;
    for (i = 0; name_ok && i < n; i++) {
        char ch = def->name[i];
        name_ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
    }
    pl_err_clear(err);
    if (!name_ok)
        pl_err_field(err, "name", "1 to 40 characters of a-z, 0-9, '_' and '-'");
    if (kind_of(def->kind, &k) != 0) {
        pl_err_field(err, "kind", "one of pool, schema, database");
    } else if (k == PL_CELL_POOL && name_ok && strcmp(def->name, PL_POOL) != 0) {
        pl_err_field(err, "kind", "there is one pool: the control database's own tables (cell 'pool')");
    } else if (k == PL_CELL_SCHEMA && !pg) {
        pl_err_field(err, "kind", "schema cells need a PostgreSQL store (--database-url postgres://…)");
    } else if (k == PL_CELL_DATABASE) {
        const char *u = def->database_url;
        if (u == NULL || u[0] == '\0')
            pl_err_field(err, "database_url", "a database cell needs --database-url");
        else if (pg != is_postgres_url(u) || (!pg && strncmp(u, "sqlite:", 7) != 0))
            pl_err_field(err, "database_url",
                         pg ? "the store is PostgreSQL: a postgres:// URL"
                            : "the store is SQLite: sqlite:PATH");
        else if (strcmp(u, cfg->database_url) == 0)
            pl_err_field(err, "database_url", "this is the control database: use the pool or a schema cell");
    }
    return pl_err_is_set(err) ? PL_EINVAL : 0;
}

size_t pl_app_ncells(const pl_app_t *a)
{
    return atomic_load(&state(a)->n);
}

const pl_cell_t *pl_app_cell(const pl_app_t *a, size_t i)
{
    pl_cells_t *c = state(a);
    return i < atomic_load(&c->n) ? c->cell[i] : NULL;
}

const pl_cell_t *pl_app_cell_named(const pl_app_t *a, const char *name)
{
    pl_cells_t *c = state(a);
    size_t i, n = atomic_load(&c->n);
    for (i = 0; name && i < n; i++)
        if (strcmp(c->cell[i]->name, name) == 0)
            return c->cell[i];
    return NULL;
}

const pl_cell_t *pl_app_pool(const pl_app_t *a)
{
    return pl_app_cell(a, 0);
}

/* sqlite:NAME without a directory is a file in the data directory. */
static const char *cell_url(const pl_app_t *a, const char *url, char *buf, size_t len)
{
    if (strncmp(url, "sqlite:", 7) == 0 && strchr(url + 7, '/') == NULL) {
        snprintf(buf, len, "sqlite:%s/%s", pl_app_config(a)->data_dir, url + 7);
        return buf;
    }
    return url;
}

int pl_app_cell_open(pl_app_t *a, const pl_cell_def_t *def, const pl_cell_t **out, pl_err_t *err)
{
    pl_cells_t *c = state(a);
    const pl_config_t *cfg = pl_app_config(a);
    const pl_cell_t *found;
    pl_cell_t *cell;
    char url[PATH_MAX + 600];
    int applied = 0, rc = 0;
    if ((found = pl_app_cell_named(a, def->name)) != NULL) {
        *out = found;
        return 0;
    }
    if (pl_cell_def_check(a, def, err) != 0)
        return PL_EINVAL;
    pthread_mutex_lock(&c->lock);
    if ((found = pl_app_cell_named(a, def->name)) != NULL) { /* opened meanwhile */
        pthread_mutex_unlock(&c->lock);
        *out = found;
        return 0;
    }
    if (atomic_load(&c->n) >= PL_MAX_CELLS) {
        pthread_mutex_unlock(&c->lock);
        return pl_err_set(err, PL_ELIMIT, NULL, "at most %d cells", PL_MAX_CELLS);
    }
    if ((cell = calloc(1, sizeof(*cell))) == NULL)
        abort();
    snprintf(cell->name, sizeof(cell->name), "%s", def->name);
    kind_of(def->kind, &cell->kind);
    cell->index = (int)atomic_load(&c->n);
    cell->store = pl_app_store(a);
    if (cell->kind == PL_CELL_SCHEMA) {
        size_t i;
        snprintf(cell->schema, sizeof(cell->schema), "cell_%s", def->name);
        for (i = 0; cell->schema[i]; i++)
            if (cell->schema[i] == '-')
                cell->schema[i] = '_';
        rc = pl_app_prepare_store(
            a, cell->store, def->migrate_url && def->migrate_url[0] ? def->migrate_url : cfg->migrate_url,
            cell->schema, true, &applied, err);
    } else if (cell->kind == PL_CELL_DATABASE) {
        if ((rc = pl_store_open(&cell->store, cell_url(a, def->database_url, url, sizeof(url)), cfg, err)) ==
            0)
            rc = pl_app_prepare_store(a, cell->store, def->migrate_url, NULL, true, &applied, err);
        if (rc != 0 && cell->store)
            pl_store_close(cell->store);
    }
    if (rc != 0) {
        pthread_mutex_unlock(&c->lock);
        free(cell);
        return err->status ? err->status : PL_EDB;
    }
    c->cell[cell->index] = cell;
    atomic_store(&c->n, (size_t)cell->index + 1);
    pthread_mutex_unlock(&c->lock);
    if (cell->index > 0)
        pl_logf(PL_LOG_INFO, "cell open", "%s (%s, %d migrations applied)", cell->name,
                pl_cell_kind_name(cell->kind), applied);
    *out = cell;
    return pl_app_cell_started(a, cell, err);
}

int pl_cells_open_pool(pl_app_t *a, pl_err_t *err)
{
    const pl_cell_t *pool;
    return pl_app_cell_open(a, &(pl_cell_def_t){.name = PL_POOL, .kind = "pool"}, &pool, err);
}

int pl_cells_serving(pl_app_t *a, pl_err_t *err)
{
    size_t i;
    for (i = 0; i < pl_app_ncells(a); i++)
        if (pl_app_cell_started(a, pl_app_cell(a, i), err) != 0)
            return err->status;
    return 0;
}

/* ---- the directory cache ---- */

static size_t slot_of(const char *tenant)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *tenant; tenant++)
        h = (h ^ (unsigned char)*tenant) * 1099511628211ULL;
    return (size_t)(h % HOME_SLOTS);
}

int pl_app_home(pl_app_t *a, pl_db_t *control, const char *tenant_id, const pl_cell_t **out)
{
    pl_cells_t *c = state(a);
    pl_locate_fn locate = pl_app_locator(a);
    uint64_t gen = pl_app_auth_gen(a);
    size_t i = 0, k;
    int rc, cell = -1;
    if (tenant_id == NULL || locate == NULL || strlen(tenant_id) >= sizeof(c->home[0].tenant)) {
        *out = pl_app_pool(a);
        return 0;
    }
    k = slot_of(tenant_id);
    pthread_mutex_lock(&c->cache_lock);
    if (c->cache_gen != gen) {
        memset(c->home, 0, sizeof(c->home));
        c->cache_gen = gen;
    }
    for (i = 0; i < 8 && c->home[(k + i) % HOME_SLOTS].tenant[0]; i++)
        if (strcmp(c->home[(k + i) % HOME_SLOTS].tenant, tenant_id) == 0) {
            cell = c->home[(k + i) % HOME_SLOTS].cell;
            break;
        }
    pthread_mutex_unlock(&c->cache_lock);
    if (cell >= 0) {
        *out = pl_app_cell(a, (size_t)cell);
        return 0;
    }
    if ((rc = locate(a, control, tenant_id, out)) != 0)
        return rc;
    pthread_mutex_lock(&c->cache_lock);
    if (c->cache_gen == gen) { /* not filled from an answer older than a change */
        for (i = 0; i < 8; i++) {
            home_t *h = &c->home[(k + i) % HOME_SLOTS];
            if (h->tenant[0] == '\0' || strcmp(h->tenant, tenant_id) == 0 || i == 7) {
                snprintf(h->tenant, sizeof(h->tenant), "%s", tenant_id);
                h->cell = (*out)->index;
                break;
            }
        }
    }
    pthread_mutex_unlock(&c->cache_lock);
    return 0;
}

int pl_app_home_now(pl_app_t *a, pl_db_t *control, const char *tenant_id, const pl_cell_t **out)
{
    pl_locate_fn locate = pl_app_locator(a);
    if (tenant_id == NULL || locate == NULL) {
        *out = pl_app_pool(a);
        return 0;
    }
    return locate(a, control, tenant_id, out);
}

/* ---- connections ---- */

int pl_app_connect_cell(pl_app_t *a, const pl_cell_t *cell, pl_db_t **db, pl_err_t *err)
{
    (void)a;
    if (pl_db_connect(cell->store, db, err) != 0)
        return PL_EDB;
    pl_db_set_schema(*db, cell->schema);
    pl_db_set_data_plane(*db, true);
    return 0;
}

int pl_app_thread_db(pl_app_t *a, pl_thread_t *t, const pl_cell_t *cell, pl_db_t **db)
{
    pl_err_t err;
    if (cell->index == 0) {
        *db = t->db;
        return 0;
    }
    if (t->cells[cell->index] == NULL) {
        pl_err_clear(&err);
        if (pl_app_connect_cell(a, cell, &t->cells[cell->index], &err) != 0) {
            pl_logf(PL_LOG_ERROR, "no connection to a cell", "%s: %s", cell->name, err.message);
            t->cells[cell->index] = NULL;
            return PL_EUNAVAIL;
        }
    }
    *db = t->cells[cell->index];
    return 0;
}

void pl_app_thread_cells_close(pl_thread_t *t)
{
    size_t i;
    for (i = 0; i < PL_MAX_CELLS; i++) {
        pl_db_close(t->cells[i]);
        t->cells[i] = NULL;
    }
}
