/*
 * relay.h — the relay: audit entries and events written in the pool for a tenant whose home
 * is another cell go to that cell (app/cells.h). The kernel runs it on one thread per process;
 * several nodes may relay at once (a copy the home already has is skipped).
 */
#ifndef PL_APP_RELAY_H
#define PL_APP_RELAY_H

#include <pthread.h>
#include <stdbool.h>

#include "app/app.h"

typedef struct pl_relay {
    pl_app_t *app;
    pthread_t thread;
    bool started;
} pl_relay_t;

/* One pass over the queue on pool (no transaction open); conns caches a connection per cell.
 * Returns how many tenants it finished, or <0. */
int pl_relay_run(pl_app_t *app, pl_db_t *pool, pl_db_t **conns);
int pl_relay_start(pl_relay_t *rl, pl_app_t *app, pl_err_t *err);
/* In pool's open write transaction: the directory changed (a tenant moved). Every process
 * drops its cached homes and credentials within a second of the commit (the relay thread
 * watches the counter), at once with Redis (pl_app_auth_changed after the commit). */
int pl_app_directory_changed(pl_app_t *app, pl_db_t *pool);
void pl_relay_stop(pl_relay_t *rl);

#endif
