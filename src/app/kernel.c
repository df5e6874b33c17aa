/*
 * kernel.c — the kernel's module descriptor (see kernel.h) and the principal helpers.
 */
#include "app/kernel.h"

#include <stdio.h>
#include <string.h>

#include "app/idempotency.h"
#include "app/principal.h"
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
