/*
 * kernel.c — the kernel's module descriptor (see kernel.h) and the principal helpers.
 */
#include "app/kernel.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/cells.h"
#include "app/idempotency.h"
#include "app/principal.h"
#include "app/relay.h"
#include "cluster/redis.h"
#include "core/banned.h"

PL_MIGRATIONS_DECLARE(app);

/* Members that hold secrets, by name; and secret values by their prefix, whatever the name. */
static const char *const secret_names[] = {"password",     "password_hash", "secret",     "token",
                                           "access_token", "refresh_token", "token_hash", "key_hash",
                                           "private_jwk",  "client_secret", NULL};
static const char *const secret_prefixes[] = {"rt_", "it_", "ut_", "$argon2", NULL};

static int64_t expire_idempotency_keys(pl_app_t *a, pl_db_t *db)
{
    (void)a;
    return pl_idempotency_expire(db);
}

static const pl_task_t tasks[] = {
    {"idempotency.cleanup", 60000, expire_idempotency_keys},
    {NULL, 0, NULL},
};

static int cmd_migrate(pl_app_t *a, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    /* the application applied every pending migration when it opened the store */
    printf("migrations applied: %d\n", pl_app_migrations_applied(a));
    return 0;
}

/* ---- several nodes: revocations heard from the others ---- */

typedef struct {
    pl_app_t *app;
    pthread_t thread;
    bool listening;
    pl_relay_t relay; /* the kernel's other thread (app/relay.h) */
} listener_t;

static void on_auth_message(void *arg, const char *msg)
{
    (void)msg;
    pl_app_auth_forget(arg);
}

/* While the channel is down a node cannot hear of revocations: its caches keep nothing for
 * longer than this callback's period (250 ms), so a revoked credential is refused within it. */
static void on_auth_down(void *arg)
{
    pl_app_auth_forget(arg);
}

static void *listen_main(void *arg)
{
    listener_t *l = arg;
    pl_redis_listen(pl_app_redis(l->app), PL_AUTH_CHANNEL, on_auth_message, on_auth_down, l->app,
                    pl_app_stop_flag(l->app));
    return NULL;
}

static int kernel_start(pl_app_t *app, pl_err_t *err)
{
    listener_t *l;
    if ((l = calloc(1, sizeof(*l))) == NULL)
        abort();
    l->app = app;
    pl_app_set_state(app, &pl_kernel_module, l);
    if (pl_relay_start(&l->relay, app, err) != 0)
        return err->status;
    if (pl_app_redis(app) == NULL)
        return 0;
    if (pthread_create(&l->thread, NULL, listen_main, l) != 0)
        return pl_err_set(err, PL_EINTERNAL, NULL, "cannot start the revocation listener");
    l->listening = true;
    return 0;
}

static void kernel_stop(pl_app_t *app)
{
    listener_t *l = pl_app_state(app, &pl_kernel_module);
    if (l == NULL)
        return;
    if (l->listening)
        pthread_join(l->thread, NULL);
    pl_relay_stop(&l->relay);
    free(l);
    pl_app_set_state(app, &pl_kernel_module, NULL);
}

/* The cells (app/cells.h): the pool opens with the application, every cell's background work
 * starts once all modules have, and a worker's connections to cells close with it. */
static int kernel_init(pl_app_t *app, pl_err_t *err)
{
    return pl_cells_open_pool(app, err);
}

static void kernel_fini(pl_app_t *app)
{
    pl_cells_destroy(app);
}

static void kernel_worker_exit(pl_app_t *app, pl_thread_t *t, void *slot)
{
    (void)app;
    (void)slot;
    pl_app_thread_cells_close(t);
}

static const pl_command_t commands[] = {
    {"migrate", "  migrate                    apply pending schema migrations\n", cmd_migrate},
    {NULL, NULL, NULL},
};

const pl_module_t pl_kernel_module = {
    .name = "kernel",
    .migrations = PL_MIGRATIONS_OF(app),
    .redact = secret_names,
    .redact_prefixes = secret_prefixes,
    .tasks = tasks,
    .commands = commands,
    .init = kernel_init,
    .start = kernel_start,
    .serving = pl_cells_serving,
    .stop = kernel_stop,
    .fini = kernel_fini,
    .worker_exit = kernel_worker_exit,
};

bool pl_principal_has_feature(const pl_principal_t *p, const char *feature)
{
    char needle[80];
    snprintf(needle, sizeof(needle), ",%s,", feature);
    return strstr(p->features, needle) != NULL;
}

const char *pl_principal_actor(const pl_principal_t *p)
{
    return p->kind == PL_PRINCIPAL_USER ? p->user_id : p->key_id;
}
