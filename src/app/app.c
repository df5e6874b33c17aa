/*
 * app.c — the application object: configuration over every module's option table, the
 * module registry, the store and migrations, the lifecycle (init → start → stop → fini),
 * and the command line (see app.h).
 */
#include "app/app.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/redis.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/banned.h"

#ifndef PLINTH_VERSION
#define PLINTH_VERSION "dev"
#endif

struct pl_app {
    pl_config_t cfg;
    const pl_module_t *modules[PL_MAX_MODULES]; /* main's array, the kernel's first */
    size_t n;
    void *conf[PL_MAX_MODULES];
    void *state[PL_MAX_MODULES];
    size_t ninit, nstarted;
    pl_store_t *store;
    void *cells;       /* the cell registry (app/cells.h keeps it) */
    bool serving;      /* every module started: cells opened from now on start their work at once */
    pl_redis_t *redis; /* NULL: one node */
    atomic_bool stop;
    _Atomic uint64_t auth_gen;
    char platform_tenant[64];
    char bound_url[300];
    int64_t started_ms;
    int migrations_applied;
    int job_attempts;        /* the default of job kinds that name none (set by the jobs module) */
    char own_options[8][96]; /* argv strings of commands' own options, renamed (module.h) */
};

static long index_of(const pl_app_t *a, const pl_module_t *m)
{
    size_t i;
    for (i = 0; i < a->n; i++)
        if (a->modules[i] == m)
            return (long)i;
    return -1;
}

pl_app_t *pl_app_create(const pl_module_t *const *modules, size_t nmodules)
{
    pl_app_t *a = calloc(1, sizeof(*a));
    size_t i;
    if (a == NULL)
        abort();
    if (nmodules > PL_MAX_MODULES) {
        fprintf(stderr, "plinth: more than %d modules\n", PL_MAX_MODULES);
        free(a);
        return NULL;
    }
    for (i = 0; i < nmodules; i++)
        a->modules[a->n++] = modules[i];
    for (i = 0; i < a->n; i++)
        if (a->modules[i]->conf_size) {
            a->conf[i] = calloc(1, a->modules[i]->conf_size);
            if (a->conf[i] == NULL)
                abort();
        }
    atomic_init(&a->stop, false);
    atomic_init(&a->auth_gen, 1);
    return a;
}

static size_t optsets(const pl_app_t *a, pl_optset_t *sets)
{
    size_t i, n = 0;
    sets[n++] = (pl_optset_t){"plinth", pl_config_options, (void *)&a->cfg};
    for (i = 0; i < a->n; i++)
        if (a->modules[i]->options)
            sets[n++] = (pl_optset_t){a->modules[i]->name, a->modules[i]->options, a->conf[i]};
    return n;
}

int pl_app_configure(pl_app_t *a, int argc, char **argv, char *errbuf, size_t errlen)
{
    pl_optset_t sets[PL_MAX_MODULES + 1];
    size_t n = optsets(a, sets);
    pl_loglevel level;
    argc = pl_options_load(sets, n, argc, argv, errbuf, errlen);
    if (argc < 0)
        return -1;
    if (pl_log_level_parse(a->cfg.log_level, &level) != 0) {
        snprintf(errbuf, errlen, "--log-level must be debug, info, warn or error");
        return -1;
    }
    pl_log_init(level);
    return argc;
}

size_t pl_app_migration_sets(const pl_app_t *a, bool data_plane_only, pl_migration_set_t *sets)
{
    size_t i, n = 0;
    for (i = 0; i < pl_app_nmodules(a); i++) {
        const pl_module_t *m = pl_app_module(a, i);
        if (m->migrations && !(data_plane_only && m->control_plane))
            sets[n++] = (pl_migration_set_t){m->name, m->migrations};
    }
    return n;
}

/*
 * A store's schema: with an owner's URL (PostgreSQL), migrations and grants run as the owner
 * and the app's own role only reads and writes rows; without one, the app's store migrates
 * itself (SQLite), or on PostgreSQL must already be up to date. Then the app's role is
 * checked: on PostgreSQL it must be bound by row-level security.
 */
int pl_app_prepare_store(pl_app_t *a, pl_store_t *store, const char *owner_url, const char *schema,
                         bool data_plane_only, int *applied, pl_err_t *err)
{
    pl_migration_set_t sets[PL_MAX_MODULES];
    size_t n = pl_app_migration_sets(a, data_plane_only, sets);
    pl_store_t *owner = NULL;
    int rc;
    *applied = 0;
    if (owner_url && owner_url[0]) {
        if ((rc = pl_store_open(&owner, owner_url, pl_app_config(a), err)) == 0 &&
            (rc = pl_store_migrate(owner, schema, sets, n, applied, err)) == 0)
            rc = pl_store_secure(owner, store, schema, err);
        pl_store_close(owner);
    } else if (pl_store_has_roles(store)) {
        pl_db_t *db;
        if ((rc = pl_store_check(store, schema, err)) == 0 && (rc = pl_db_connect(store, &db, err)) == 0) {
            int pending;
            pl_db_set_schema(db, schema);
            pending = pl_db_pending_migrations(db, sets, n);
            pl_db_close(db);
            if (pending != 0)
                rc =
                    pl_err_set(err, PL_EDB, NULL,
                               pending > 0 ? "the database needs %d migrations: give --migrate-url OWNER_URL "
                                             "(plinth migrate or serve)"
                                           : "the database has no schema this role can read: give "
                                             "--migrate-url OWNER_URL%.0d",
                               pending);
        }
    } else {
        rc = pl_store_migrate(store, schema, sets, n, applied, err);
    }
    if (rc == 0)
        rc = pl_store_check(store, schema, err);
    return rc;
}

int pl_app_pending_migrations(pl_app_t *a, pl_db_t *db)
{
    pl_migration_set_t sets[PL_MAX_MODULES];
    return pl_db_pending_migrations(db, sets, pl_app_migration_sets(a, false, sets));
}

int pl_app_migrate(pl_app_t *a, int *applied, pl_err_t *err)
{
    pl_migration_set_t sets[PL_MAX_MODULES];
    return pl_store_migrate(a->store, NULL, sets, pl_app_migration_sets(a, false, sets), applied, err);
}

/* Declarations are checked once, here: a mistake in a descriptor stops the start. */
static int check_modules(const pl_app_t *a, pl_err_t *err)
{
    size_t i, j, auth = 0, locate = 0;
    for (i = 0; i < a->n; i++) {
        const pl_module_t *m = a->modules[i];
        const pl_job_kind_t *k;
        if (m->name == NULL || *m->name == '\0')
            return pl_err_set(err, PL_EINTERNAL, NULL, "module %zu has no name", i);
        for (j = 0; j < i; j++)
            if (strcmp(a->modules[j]->name, m->name) == 0)
                return pl_err_set(err, PL_EINTERNAL, NULL, "two modules are named '%s'", m->name);
        if (m->options && m->conf_size == 0)
            return pl_err_set(err, PL_EINTERNAL, NULL, "module '%s' has options but no conf_size", m->name);
        if (m->authenticate)
            auth++;
        if (m->locate)
            locate++;
        for (k = m->jobs; k && k->kind; k++)
            if (k->run == NULL || k->max_attempts < 0)
                return pl_err_set(err, PL_EINTERNAL, NULL, "job kind '%s' is malformed", k->kind);
    }
    if (auth > 1)
        return pl_err_set(err, PL_EINTERNAL, NULL, "more than one module authenticates");
    if (locate > 1)
        return pl_err_set(err, PL_EINTERNAL, NULL, "more than one module keeps the tenant directory");
    return 0;
}

int pl_app_open(pl_app_t *a, pl_err_t *err)
{
    if (check_modules(a, err) != 0)
        return err->status;
    if (pl_crypto_init() != 0)
        return pl_err_set(err, PL_EINTERNAL, NULL, "libsodium failed to initialise");
    if (pl_store_open(&a->store, a->cfg.database_url, &a->cfg, err) != 0 ||
        pl_app_prepare_store(a, a->store, a->cfg.migrate_url, NULL, false, &a->migrations_applied, err) != 0)
        return err->status ? err->status : PL_EDB;
    if (a->cfg.redis_url[0] && pl_redis_open(&a->redis, a->cfg.redis_url, err) != 0)
        return err->status;
    for (a->ninit = 0; a->ninit < a->n; a->ninit++) {
        const pl_module_t *m = a->modules[a->ninit];
        if (m->init && m->init(a, err) != 0) {
            if (err->status == PL_OK)
                pl_err_set(err, PL_EINTERNAL, NULL, "module '%s' failed to initialise", m->name);
            return err->status;
        }
    }
    return 0;
}

int pl_app_start(pl_app_t *a, pl_err_t *err)
{
    size_t i;
    a->started_ms = pl_now_ms();
    for (a->nstarted = 0; a->nstarted < a->n; a->nstarted++) {
        const pl_module_t *m = a->modules[a->nstarted];
        if (m->start && m->start(a, err) != 0) {
            if (err->status == PL_OK)
                pl_err_set(err, PL_EINTERNAL, NULL, "module '%s' failed to start", m->name);
            pl_app_request_stop(a);
            pl_app_stop(a);
            return err->status;
        }
    }
    a->serving = true;
    for (i = 0; i < a->n; i++)
        if (a->modules[i]->serving && a->modules[i]->serving(a, err) != 0) {
            pl_app_request_stop(a);
            pl_app_stop(a);
            return err->status;
        }
    return 0;
}

int pl_app_cell_started(pl_app_t *a, const pl_cell_t *cell, pl_err_t *err)
{
    size_t i;
    if (!a->serving)
        return 0;
    for (i = 0; i < a->n; i++) {
        const pl_module_t *m = a->modules[i];
        if (m->start_cell && m->start_cell(a, cell, err) != 0) {
            if (err->status == PL_OK)
                pl_err_set(err, PL_EINTERNAL, NULL, "module '%s' failed to start its work in a cell",
                           m->name);
            return err->status;
        }
    }
    return 0;
}

void *pl_app_cells_get(const pl_app_t *a)
{
    return a->cells;
}

void pl_app_cells_set(pl_app_t *a, void *cells)
{
    a->cells = cells;
}

pl_locate_fn pl_app_locator(const pl_app_t *a)
{
    size_t i;
    for (i = 0; i < a->n; i++)
        if (a->modules[i]->locate)
            return a->modules[i]->locate;
    return NULL;
}

void pl_app_request_stop(pl_app_t *a)
{
    atomic_store(&a->stop, true);
}

void pl_app_stop(pl_app_t *a)
{
    pl_app_request_stop(a);
    a->serving = false;
    while (a->nstarted > 0) {
        const pl_module_t *m = a->modules[--a->nstarted];
        if (m->stop)
            m->stop(a);
    }
}

void pl_app_destroy(pl_app_t *a)
{
    size_t i;
    if (a == NULL)
        return;
    pl_app_stop(a);
    while (a->ninit > 0) {
        const pl_module_t *m = a->modules[--a->ninit];
        if (m->fini)
            m->fini(a);
    }
    pl_store_close(a->store);
    pl_redis_close(a->redis);
    for (i = 0; i < a->n; i++)
        free(a->conf[i]);
    free(a);
}

int pl_app_serve(pl_app_t *a)
{
    sigset_t set;
    pl_err_t err;
    int sig = 0;
    /* every thread started from here on inherits the mask: only this one takes the signals */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pl_err_clear(&err);
    if (pl_app_start(a, &err) != 0) {
        pl_log(PL_LOG_ERROR, err.message, NULL);
        return 1;
    }
    while (sigwait(&set, &sig) != 0)
        ;
    pl_logf(PL_LOG_INFO, "shutting down", "signal %d", sig);
    pl_app_stop(a);
    return 0;
}

/* ---- accessors ---- */

const pl_config_t *pl_app_config(const pl_app_t *a)
{
    return &a->cfg;
}

const void *pl_app_conf(const pl_app_t *a, const pl_module_t *m)
{
    long i = index_of(a, m);
    return i < 0 ? NULL : a->conf[i];
}

void *pl_app_state(const pl_app_t *a, const pl_module_t *m)
{
    long i = index_of(a, m);
    return i < 0 ? NULL : a->state[i];
}

void pl_app_set_state(pl_app_t *a, const pl_module_t *m, void *state)
{
    long i = index_of(a, m);
    if (i >= 0)
        a->state[i] = state;
}

void *pl_app_slot(const pl_app_t *a, const pl_thread_t *t, const pl_module_t *m)
{
    long i;
    if (t == NULL || (i = index_of(a, m)) < 0)
        return NULL;
    return t->slots[i];
}

pl_store_t *pl_app_store(const pl_app_t *a)
{
    return a->store;
}

int pl_app_connect(pl_app_t *a, pl_db_t **db, pl_err_t *err)
{
    return pl_db_connect(a->store, db, err);
}

bool pl_app_stopping(const pl_app_t *a)
{
    return atomic_load(&a->stop);
}

const _Atomic bool *pl_app_stop_flag(const pl_app_t *a)
{
    return &a->stop;
}

uint64_t pl_app_auth_gen(const pl_app_t *a)
{
    return atomic_load(&a->auth_gen);
}

/* A credential was revoked or a membership changed: every worker's cache forgets what it
 * resolved, on this node at once and on the others when they hear of it (kernel.c). */
void pl_app_auth_changed(pl_app_t *a)
{
    atomic_fetch_add(&a->auth_gen, 1);
    if (a->redis)
        pl_redis_publish(a->redis, PL_AUTH_CHANNEL, "changed");
}

void pl_app_auth_forget(pl_app_t *a)
{
    atomic_fetch_add(&a->auth_gen, 1);
}

pl_redis_t *pl_app_redis(const pl_app_t *a)
{
    return a->redis;
}

const char *pl_app_platform_tenant(const pl_app_t *a)
{
    return a->platform_tenant;
}

void pl_app_set_platform_tenant(pl_app_t *a, const char *id)
{
    snprintf(a->platform_tenant, sizeof(a->platform_tenant), "%s", id);
}

const char *pl_app_public_url(const pl_app_t *a)
{
    return a->cfg.public_url[0] ? a->cfg.public_url
           : a->bound_url[0]    ? a->bound_url
                                : "http://127.0.0.1:8080";
}

void pl_app_set_bound_url(pl_app_t *a, const char *url)
{
    snprintf(a->bound_url, sizeof(a->bound_url), "%s", url);
}

int pl_app_migrations_applied(const pl_app_t *a)
{
    return a->migrations_applied;
}

int64_t pl_app_started_ms(const pl_app_t *a)
{
    return a->started_ms;
}

/* ---- registry ---- */

size_t pl_app_nmodules(const pl_app_t *a)
{
    return a->n;
}

const pl_module_t *pl_app_module(const pl_app_t *a, size_t i)
{
    return i < a->n ? a->modules[i] : NULL;
}

const pl_job_kind_t *pl_app_job_kind(const pl_app_t *a, const char *kind)
{
    size_t i;
    const pl_job_kind_t *k;
    for (i = 0; i < a->n; i++)
        for (k = a->modules[i]->jobs; k && k->kind; k++)
            if (strcmp(k->kind, kind) == 0)
                return k;
    return NULL;
}

const pl_subscriber_t *pl_app_subscriber(const pl_app_t *a, const char *name)
{
    size_t i;
    const pl_subscriber_t *s;
    for (i = 0; i < a->n; i++)
        for (s = a->modules[i]->subscribers; s && s->name; s++)
            if (strcmp(s->name, name) == 0)
                return s;
    return NULL;
}

bool pl_app_feature_enforced(const pl_app_t *a, const char *feature)
{
    size_t i;
    const char *const *f;
    for (i = 0; i < a->n; i++)
        for (f = a->modules[i]->features; f && *f; f++)
            if (strcmp(*f, feature) == 0)
                return true;
    return false;
}

const pl_usage_t *pl_app_usage_meter(const pl_app_t *a, const char *limit)
{
    const pl_module_t *m = pl_app_usage_module(a, limit);
    const pl_usage_t *u;
    for (u = m ? m->usage : NULL; u && u->limit; u++)
        if (strcmp(u->limit, limit) == 0)
            return u;
    return NULL;
}

const pl_module_t *pl_app_usage_module(const pl_app_t *a, const char *limit)
{
    size_t i;
    const pl_usage_t *u;
    for (i = 0; i < a->n; i++)
        for (u = a->modules[i]->usage; u && u->limit; u++)
            if (strcmp(u->limit, limit) == 0)
                return a->modules[i];
    return NULL;
}

bool pl_app_event_declared(const pl_app_t *a, const char *type)
{
    size_t i;
    const pl_event_type_t *e;
    for (i = 0; i < a->n; i++)
        for (e = a->modules[i]->events; e && e->type; e++)
            if (strcmp(e->type, type) == 0)
                return true;
    return false;
}

bool pl_app_is_secret(const pl_app_t *a, const char *name, const char *value)
{
    size_t i;
    const char *const *w;
    for (i = 0; i < a->n; i++) {
        for (w = a->modules[i]->redact; name && w && *w; w++)
            if (strcmp(name, *w) == 0)
                return true;
        for (w = a->modules[i]->redact_prefixes; value && w && *w; w++)
            if (strncmp(value, *w, strlen(*w)) == 0)
                return true;
    }
    return false;
}

int pl_app_job_attempts(const pl_app_t *a, const char *kind)
{
    const pl_job_kind_t *k = pl_app_job_kind(a, kind);
    return k && k->max_attempts > 0 ? k->max_attempts : a->job_attempts > 0 ? a->job_attempts : 8;
}

void pl_app_set_job_attempts(pl_app_t *a, int default_attempts)
{
    a->job_attempts = default_attempts;
}

/* ---- threads ---- */

int pl_app_thread(pthread_t *t, void *(*fn)(void *), void *arg, const char *what, pl_err_t *err)
{
    int rc = pthread_create(t, NULL, fn, arg);
    if (rc != 0)
        return pl_err_set(err, PL_EINTERNAL, NULL, "cannot start the %s thread: %s", what, strerror(rc));
    return 0;
}

int pl_app_worker_init(pl_app_t *a, pl_thread_t *t, pl_err_t *err)
{
    size_t i;
    for (i = 0; i < a->n; i++) {
        const pl_module_t *m = a->modules[i];
        if (m->worker_init && m->worker_init(a, t, &t->slots[i]) != 0) {
            while (i-- > 0)
                if (a->modules[i]->worker_exit)
                    a->modules[i]->worker_exit(a, t, t->slots[i]);
            return pl_err_set(err, PL_EINTERNAL, NULL, "module '%s' failed to prepare worker %d", m->name,
                              t->id);
        }
    }
    return 0;
}

void pl_app_worker_exit(pl_app_t *a, pl_thread_t *t)
{
    size_t i = a->n;
    while (i-- > 0)
        if (a->modules[i]->worker_exit)
            a->modules[i]->worker_exit(a, t, t->slots[i]);
}

/* ---- the command line ---- */

static void usage(const pl_app_t *a, FILE *out)
{
    pl_optset_t sets[PL_MAX_MODULES + 1];
    size_t i;
    const pl_command_t *c;
    fprintf(out,
            "plinth %s — multi-tenant SaaS platform\n\n"
            "usage: plinth COMMAND [options]\n\n"
            "commands:\n"
            "  serve                      run the server\n"
            "  version                    print the version\n",
            PLINTH_VERSION);
    for (i = 0; i < a->n; i++)
        for (c = a->modules[i]->commands; c && c->name; c++)
            fprintf(out, "%s", c->usage);
    fprintf(out, "\n");
    pl_options_usage(sets, optsets(a, sets), out);
}

/* A command's own options after its name become "--NAME-option" (module.h); the kernel's
 * options of those names then come from before the command or the environment. */
static void own_options(pl_app_t *a, int argc, char **argv)
{
    char(*renamed)[96] = a->own_options;
    const pl_command_t *c;
    size_t i, k, n = 0;
    int j;
    if (argc < 2)
        return;
    for (i = 0; i < a->n; i++)
        for (c = a->modules[i]->commands; c && c->name; c++) {
            if (strcmp(c->name, argv[1]) != 0 || c->own_options == NULL)
                continue;
            for (j = 2; j < argc; j++)
                for (k = 0; c->own_options[k] && n < 8; k++)
                    if (strcmp(argv[j], c->own_options[k]) == 0) {
                        snprintf(renamed[n], sizeof(renamed[n]), "--%s-%s", c->name, argv[j] + 2);
                        argv[j] = renamed[n++];
                        break;
                    }
        }
}

int pl_app_main(const pl_module_t *const *modules, size_t nmodules, int argc, char **argv)
{
    pl_app_t *a = pl_app_create(modules, nmodules);
    char msg[512];
    pl_err_t err;
    const char *cmd;
    const pl_command_t *found = NULL, *c;
    size_t i;
    int k, rc;

    if (a == NULL)
        return 2;
    pl_err_clear(&err);
    own_options(a, argc, argv);
    if ((argc = pl_app_configure(a, argc, argv, msg, sizeof(msg))) < 0) {
        fprintf(stderr, "plinth: %s\n", msg);
        pl_app_destroy(a);
        return 2;
    }
    cmd = argc > 1 ? argv[1] : "";
    for (k = 1; k < argc; k++)
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            usage(a, stdout);
            pl_app_destroy(a);
            return 0;
        }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("plinth %s\n", PLINTH_VERSION);
        pl_app_destroy(a);
        return 0;
    }
    for (i = 0; i < a->n && !found; i++)
        for (c = a->modules[i]->commands; c && c->name; c++)
            if (strcmp(c->name, cmd) == 0) {
                found = c;
                break;
            }
    if (strcmp(cmd, "serve") != 0 && found == NULL) {
        usage(a, stderr);
        pl_app_destroy(a);
        return 2;
    }
    if (found == NULL && argc > 2) {
        fprintf(stderr, "plinth serve: unknown option '%s' (see plinth --help)\n", argv[2]);
        pl_app_destroy(a);
        return 2;
    }
    if (pl_app_open(a, &err) != 0) {
        if (found)
            fprintf(stderr, "plinth: %s\n", err.message);
        else
            pl_log(PL_LOG_ERROR, err.message, NULL);
        pl_app_destroy(a);
        return 1;
    }
    rc = found ? found->run(a, argc - 1, argv + 1) : pl_app_serve(a);
    pl_app_destroy(a);
    return rc;
}
