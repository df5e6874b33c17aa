/*
 * app.h — the application object: the composition root of Plinth.
 *
 * One pl_app_t per process owns the kernel's configuration, every module's option struct
 * and state, the store, the module registry and the background threads. main.c hands it
 * the module array (module.h) and the command line; nothing else is global and mutable.
 *
 *   pl_app_main()     parse options over every module's table, open (store, migrations,
 *                     init hooks), run the command: `serve` starts every module (the HTTP
 *                     transport is one of them), waits for SIGINT/SIGTERM and stops them in
 *                     reverse; other commands come from the modules' command tables.
 *
 * Modules reach what they need through the accessors below (never through another module's
 * internals). Registry lookups are linear over a dozen modules and allocation-free.
 * Threads: everything here is read-only after start except the atomics (stop, auth
 * generation), so any thread may call the accessors.
 */
#ifndef PL_APP_H
#define PL_APP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/module.h"
#include "core/config.h"
#include "store/store.h"

#define PL_MAX_MODULES 32
#define PL_MAX_CELLS 32 /* app/cells.h */

/* A thread that serves operations (an HTTP worker): per-module slots from worker_init. */
struct pl_thread {
    int id;
    void *loop;                   /* the transport's event loop (h2o_evloop_t * for HTTP workers) */
    pl_db_t *db;                  /* the thread's store connection */
    pl_db_t *cells[PL_MAX_CELLS]; /* its connections to database cells, opened on first use */
    void *slots[PL_MAX_MODULES];
};

int pl_app_main(const pl_module_t *const *modules, size_t nmodules, int argc, char **argv);

/* ---- for the CLI and tests: the steps of pl_app_main ---- */
pl_app_t *pl_app_create(const pl_module_t *const *modules, size_t nmodules);
/* Loads every option table (see config.h); returns the remaining argc or -1. */
int pl_app_configure(pl_app_t *a, int argc, char **argv, char *errbuf, size_t errlen);
/* Opens the store, applies every module's pending migrations, runs init hooks. */
int pl_app_open(pl_app_t *a, pl_err_t *err);
/* Starts every module (start hooks, in order), waits for SIGINT/SIGTERM, stops them. */
int pl_app_serve(pl_app_t *a);
/* Starts the modules; on a failure stops those already started. For tests: pl_app_stop. */
int pl_app_start(pl_app_t *a, pl_err_t *err);
void pl_app_request_stop(pl_app_t *a);
void pl_app_stop(pl_app_t *a);
void pl_app_destroy(pl_app_t *a);

/* Migration sets: the data plane's (every cell: modules not .control_plane) or all (the
 * control database). */
size_t pl_app_migration_sets(const pl_app_t *a, bool data_plane_only, pl_migration_set_t *sets);
/* Migrates (as owner_url's role, when given) and checks a store, or one schema of it. */
int pl_app_prepare_store(pl_app_t *a, pl_store_t *store, const char *owner_url, const char *schema,
                         bool data_plane_only, int *applied, pl_err_t *err);
/* How many known migrations db's database has not applied yet (<0: error). */
int pl_app_pending_migrations(pl_app_t *a, pl_db_t *db);
int pl_app_migrate(pl_app_t *a, int *applied, pl_err_t *err);
/* How many migrations opening the application applied. */
int pl_app_migrations_applied(const pl_app_t *a);

/* ---- accessors ---- */
const pl_config_t *pl_app_config(const pl_app_t *a);
/* The option struct of module m (conf_size bytes), or NULL if m has none. */
const void *pl_app_conf(const pl_app_t *a, const pl_module_t *m);
/* Module state set by its init hook (owned by the module; released by its fini hook). */
void *pl_app_state(const pl_app_t *a, const pl_module_t *m);
void pl_app_set_state(pl_app_t *a, const pl_module_t *m, void *state);
/* The slot of module m in a thread (NULL if t is NULL: the CLI and background threads). */
void *pl_app_slot(const pl_app_t *a, const pl_thread_t *t, const pl_module_t *m);
pl_store_t *pl_app_store(const pl_app_t *a);
/* A new connection of the process store (the caller owns it). */
int pl_app_connect(pl_app_t *a, pl_db_t **db, pl_err_t *err);

bool pl_app_stopping(const pl_app_t *a);
/* Bumped whenever a credential or a role may have lost validity: caches compare it.
 * auth_changed also tells the other nodes (Redis channel PL_AUTH_CHANNEL); auth_forget
 * only bumps this node's (what a node does when it hears of a change, or cannot hear). */
#define PL_AUTH_CHANNEL "plinth:auth"
uint64_t pl_app_auth_gen(const pl_app_t *a);
void pl_app_auth_changed(pl_app_t *a);
void pl_app_auth_forget(pl_app_t *a);
/* The Redis several nodes share (--redis-url), or NULL for one node. */
typedef struct pl_redis pl_redis_t;
pl_redis_t *pl_app_redis(const pl_app_t *a);
/* The stop flag (for threads that wait on it). */
const _Atomic bool *pl_app_stop_flag(const pl_app_t *a);

/* The platform tenant (operators), known once the platform module's init ran. */
const char *pl_app_platform_tenant(const pl_app_t *a);
void pl_app_set_platform_tenant(pl_app_t *a, const char *id);
/* Base of links in mails: --public-url, else what the transport bound (set at its start). */
const char *pl_app_public_url(const pl_app_t *a);
void pl_app_set_bound_url(pl_app_t *a, const char *url);
int64_t pl_app_started_ms(const pl_app_t *a);

/* ---- registry ---- */
size_t pl_app_nmodules(const pl_app_t *a);
const pl_module_t *pl_app_module(const pl_app_t *a, size_t i);
const pl_job_kind_t *pl_app_job_kind(const pl_app_t *a, const char *kind);
const pl_subscriber_t *pl_app_subscriber(const pl_app_t *a, const char *name);
/* The meter of a plan limit, or NULL when no module counts it. */
const pl_usage_t *pl_app_usage_meter(const pl_app_t *a, const char *limit);
/* The module that counts it (its tables tell which database: app/cells.h). */
const pl_module_t *pl_app_usage_module(const pl_app_t *a, const char *limit);
/* Whether some module enforces the plan feature. */
bool pl_app_feature_enforced(const pl_app_t *a, const char *feature);
/* Whether some module declares the event type. */
bool pl_app_event_declared(const pl_app_t *a, const char *type);
/* Whether a member (name may be NULL for array items) holds a secret. */
bool pl_app_is_secret(const pl_app_t *a, const char *name, const char *string_value);
/* Attempts of a job kind: its own, else the default the jobs module set at its init
 * (--job-attempts), else 8. */
int pl_app_job_attempts(const pl_app_t *a, const char *kind);
void pl_app_set_job_attempts(pl_app_t *a, int default_attempts);

/* The tenant directory's hook (module.h), or NULL. */
pl_locate_fn pl_app_locator(const pl_app_t *a);
/* Runs every module's start_cell hook for cell when serving (else 0). */
int pl_app_cell_started(pl_app_t *a, const pl_cell_t *cell, pl_err_t *err);
/* The slot of the cell registry (app/cells.h owns what is in it). */
void *pl_app_cells_get(const pl_app_t *a);
void pl_app_cells_set(pl_app_t *a, void *cells);

/* ---- threads ---- */
/* pthread_create, checked: on failure fills err and returns PL_EINTERNAL. */
int pl_app_thread(pthread_t *t, void *(*fn)(void *), void *arg, const char *what, pl_err_t *err);
/* Runs every module's worker_init for t (on failure, worker_exit of those done). */
int pl_app_worker_init(pl_app_t *a, pl_thread_t *t, pl_err_t *err);
void pl_app_worker_exit(pl_app_t *a, pl_thread_t *t);

#endif
