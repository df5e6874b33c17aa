/*
 * module.h — the module descriptor: everything a module brings to the application.
 *
 * A module (platform, members, webhooks, the HTTP transport itself …) lives in its folder
 * and exports one `const pl_module_t`, written with designated initialisers; main.c lists
 * the modules in one array and hands it to the application (app.h). Adding a module edits
 * nothing outside its folder and that array. The application reads the descriptors at
 * start (option tables, migrations, declarations are checked then) and never changes them.
 *
 * Order matters in one way only: a module's migrations and init hook run after those of the
 * modules before it, start hooks run in order and stop hooks in reverse.
 *
 * Lifecycle (like nginx's init_module / init_process / exit_process, and h2o's per-context
 * slots):
 *   init        after the store is migrated: load state, check configuration (serve and CLI)
 *   start/stop  start and join the module's threads (serve only); a failed start stops the
 *               modules already started
 *   worker_init per worker thread (its slot is the module's per-thread state), worker_exit
 *   fini        release what init made
 */
#ifndef PL_MODULE_H
#define PL_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/str.h"
#include "store/store.h"

typedef struct pl_app pl_app_t;
typedef struct pl_op pl_op_t;
typedef struct pl_db pl_db_t;
typedef struct pl_job pl_job_t;
typedef struct pl_principal pl_principal_t;
typedef struct pl_route pl_route_t; /* http/router.h: the kernel does not look inside */
typedef struct pl_thread pl_thread_t;

/* ---- migrations (types in store/store.h) ---- */
/* The build embeds src/<dir>/migrations/<dialect>/NNNN_name.sql of every folder as
 * pl_migrations_<dir>_<dialect> (tools/embed-migrations). A module names its folder's set: */
#define PL_MIGRATIONS_DECLARE(dir)                                                                           \
    extern const pl_migration_t pl_migrations_##dir##_sqlite[], pl_migrations_##dir##_postgres[]
#define PL_MIGRATIONS_OF(dir)                                                                                \
    (&(const pl_migrations_t){pl_migrations_##dir##_sqlite, pl_migrations_##dir##_postgres})

/* ---- events ---- */
typedef struct pl_event_type {
    const char *type; /* "member.created" */
    const char *summary;
} pl_event_type_t;

/* A committed domain event, as a subscriber sees it. */
typedef struct pl_event {
    const char *id, *type, *tenant_id;
    int64_t occurred_ms;
    struct json_t *data;
} pl_event_t;

/* A committed event as the dispatcher hands it to consumers (its data stays in the outbox). */
typedef struct pl_event_ref {
    int64_t seq, occurred_ms;
    const char *id, *type, *tenant_id;
} pl_event_ref_t;

/* Runs for every committed event, in commit order, inside the dispatcher's transaction that
 * moves its cursor past the event (events/events.h): whatever it writes commits exactly
 * when the cursor moves. Returns 0, or <0 to retry the batch later. */
typedef struct pl_consumer {
    const char *name;
    int (*consume)(pl_app_t *app, pl_db_t *db, const pl_event_ref_t *ev);
} pl_consumer_t;

/* ---- background work ---- */
typedef int (*pl_job_fn)(pl_job_t *j);

typedef struct pl_job_kind {
    const char *kind;
    pl_job_fn run;
    int max_attempts; /* 0: --job-attempts */
} pl_job_kind_t;

typedef struct pl_subscriber {
    const char *name;
    const char *const *events; /* patterns: "member.created", "member.*", "*"; NULL-terminated */
    /* runs on op: a write transaction in the event's tenant that also holds the receipt; the
     * changes it records commit with it */
    int (*handle)(pl_op_t *op, const pl_event_t *ev);
} pl_subscriber_t;

typedef struct pl_task {
    const char *name;
    int64_t period_ms;
    /* runs on the scheduler's connection, no transaction open; returns rows changed or <0 */
    int64_t (*run)(pl_app_t *app, pl_db_t *db);
} pl_task_t;

/* ---- plan limits ---- */
typedef struct pl_usage {
    const char *limit; /* "members" */
    /* how many the tenant has now, or <0 when the store failed (the limit check fails closed) */
    int64_t (*count)(pl_app_t *app, pl_db_t *db, const char *tenant_id);
} pl_usage_t;

/* ---- credentials ---- */
/* Turns a bearer credential into a principal (filled by the callee, valid for the
 * operation). Returns 0, or fills op->err (401, or 500 when the store failed). */
typedef int (*pl_authenticate_fn)(pl_op_t *op, pl_str_t credential, const pl_principal_t **out);

/* ---- the CLI ---- */
typedef struct pl_command {
    const char *name;  /* "tenant" */
    const char *usage; /* lines for `plinth --help` */
    /* argv[0] is the command name; returns the exit code. The application is open. */
    int (*run)(pl_app_t *app, int argc, char **argv);
    /* options that, after the command's name, are the command's own although the kernel has
     * options of those names ("--database-url" of `cell add`): the command reads them as
     * "--NAME-option" ("--cell-database-url"); NULL-terminated, or NULL */
    const char *const *own_options;
} pl_command_t;

typedef struct pl_cell pl_cell_t; /* app/cells.h */

/* The tenant directory (the control plane's): the cell that holds a tenant's data. Returns 0
 * with *cell set (opening a cell the process has not opened yet), PL_ENOTFOUND for an
 * unknown tenant, or another error. Runs on db, the control plane's connection. */
typedef int (*pl_locate_fn)(pl_app_t *app, pl_db_t *db, const char *tenant_id, const pl_cell_t **cell);

typedef struct pl_module {
    const char *name;
    /* Its tables are the control plane's (tenants, users, keys …): its migrations apply to the
     * control database only, its routes run there, and its tasks on the pool's scheduler.
     * Every other module's tables are the data plane: they exist in every cell. */
    bool control_plane;
    const pl_route_t *const *routes; /* NULL-terminated list of route tables */
    const pl_option_t *options;      /* ending PL_OPTIONS_END; written into a struct of conf_size */
    size_t conf_size;
    const pl_migrations_t *migrations;
    const pl_event_type_t *events;      /* event types it announces, ending {NULL} */
    const char *const *redact;          /* member names whose values are secrets, NULL-ended */
    const char *const *redact_prefixes; /* secret values by prefix ("whsec_"), NULL-ended */
    const pl_job_kind_t *jobs;          /* ending {NULL} */
    const pl_subscriber_t *subscribers; /* ending {NULL} */
    const pl_consumer_t *consumers;     /* ending {NULL} */
    const pl_task_t *tasks;             /* ending {NULL} */
    const pl_usage_t *usage;            /* ending {NULL} */
    const char *const *features;        /* plan features it enforces (routes or code), NULL-ended */
    const pl_command_t *commands;       /* ending {NULL} */
    pl_authenticate_fn authenticate;    /* at most one module */
    pl_locate_fn locate;                /* at most one module (the tenant directory) */
    int (*init)(pl_app_t *app, pl_err_t *err);
    int (*start)(pl_app_t *app, pl_err_t *err);
    /* serve only, after every start: background work of one cell (its dispatcher, sender,
     * job runners …) — for each cell open at start and each cell opened later; the stop hook
     * ends them all */
    int (*start_cell)(pl_app_t *app, const pl_cell_t *cell, pl_err_t *err);
    /* serve only, once every module has started */
    int (*serving)(pl_app_t *app, pl_err_t *err);
    void (*stop)(pl_app_t *app);
    void (*fini)(pl_app_t *app);
    int (*worker_init)(pl_app_t *app, pl_thread_t *t, void **slot);
    void (*worker_exit)(pl_app_t *app, pl_thread_t *t, void *slot);
} pl_module_t;

#endif
