/*
 * platform.c — the platform module's descriptor and start-up.
 */
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "jobs/jobs.h"
#include "platform/auth.h"
#include "platform/internal.h"
#include "platform/tokens.h"
#include "core/banned.h"

PL_MIGRATIONS_DECLARE(platform);

typedef struct platform_state {
    pl_tokens_t *tokens;
} platform_state_t;

static const pl_route_t *const tables[] = {pl_auth_routes,   pl_apikey_routes, pl_team_routes,
                                           pl_tenant_routes, pl_plan_routes,   NULL};

/* Expired refresh tokens (a day after expiry: until then a replayed one is still recognised
 * as reuse), single-use email tokens, and invitations that expired a month ago. */
static int64_t expire_tokens(pl_app_t *s, pl_db_t *db)
{
    static const char *const sql[] = {
        "DELETE FROM sessions WHERE expires_at < $1 - 86400000",
        "DELETE FROM user_tokens WHERE expires_at < $1",
        "DELETE FROM invitations WHERE accepted_at IS NULL AND expires_at < $1 - 2592000000",
        NULL,
    };
    (void)s;
    return pl_db_exec_list(db, sql, pl_now_ms());
}

static const pl_task_t tasks[] = {
    {"tokens.cleanup", 3600000, expire_tokens},
    {NULL, 0, NULL},
};

static const pl_option_t options[] = {
    PL_OPTION_BOOL(pl_platform_conf_t, signup, "--signup", "PLINTH_SIGNUP", "on",
                   "self-service signup on|off (default on)"),
    PL_OPTION_LONG(pl_platform_conf_t, access_ttl, "--access-ttl", "PLINTH_ACCESS_TTL", 1, 86400, "900",
                   "access token lifetime in seconds (default 900)"),
    PL_OPTION_LONG(pl_platform_conf_t, refresh_ttl, "--refresh-ttl", "PLINTH_REFRESH_TTL", 60, 365L * 86400,
                   "2592000", "refresh token lifetime in seconds (default 2592000)"),
    PL_OPTIONS_END,
};

static const pl_event_type_t events[] = {
    {"tenant.created", "an organization was created (signup or operator)"},
    {"tenant.updated", "an organization's settings changed"},
    {"tenant.suspended", "an organization was suspended"},
    {"tenant.reactivated", "an organization was reactivated"},
    {"tenant.plan_changed", "an organization's plan or overrides changed"},
    {"tenant.moved", "an organization's data moved to another cell"},
    {"user.invited", "someone was invited to the organization"},
    {"team.member_added", "an invitation was accepted"},
    {"invitation.revoked", "an invitation was revoked"},
    {"team.role_changed", "a team member's role changed"},
    {"team.member_removed", "a team member was removed"},
    {"api_key.created", "an API key was created"},
    {"api_key.revoked", "an API key was revoked"},
    {NULL, NULL},
};

static const char *const secret_prefixes[] = {"pk_live_", NULL};

const pl_platform_conf_t *pl_platform_conf(const pl_app_t *app)
{
    return pl_app_conf(app, &pl_platform_module);
}

pl_tokens_t *pl_platform_tokens(const pl_app_t *app)
{
    platform_state_t *st = pl_app_state(app, &pl_platform_module);
    return st ? st->tokens : NULL;
}

/* Makes sure the platform tenant exists, and loads (or creates) the signing key. */
static int platform_init(pl_app_t *app, pl_err_t *err)
{
    platform_state_t *st = calloc(1, sizeof(*st));
    pl_db_t *db = NULL;
    pl_arena_t a;
    const char *pid;
    int rc;
    if (st == NULL)
        abort();
    pl_app_set_state(app, &pl_platform_module, st);
    if (pl_app_connect(app, &db, err) != 0)
        return err->status;
    pl_arena_init(&a);
    rc = pl_db_begin(db, PL_TX_WRITE, NULL);
    if (rc == 0 && (rc = pl_platform_tenant(db, &a, &pid, err)) == 0)
        pl_app_set_platform_tenant(app, pid);
    if (rc == 0)
        rc = pl_db_commit(db);
    else
        pl_db_rollback(db);
    pl_arena_release(&a);
    if (rc == 0 && (st->tokens = pl_tokens_load(db, "plinth", err)) == NULL)
        rc = PL_EINTERNAL;
    if (rc == 0 && (rc = pl_db_begin(db, PL_TX_READ, NULL)) == 0) {
        rc = pl_platform_cells_open(app, db, err);
        pl_db_rollback(db);
    }
    pl_db_close(db);
    if (rc != 0 && err->status == PL_OK)
        pl_err_set(err, PL_EDB, NULL, "cannot prepare the platform tenant");
    return rc;
}

static void platform_fini(pl_app_t *app)
{
    platform_state_t *st = pl_app_state(app, &pl_platform_module);
    if (st == NULL)
        return;
    pl_tokens_destroy(st->tokens);
    free(st);
    pl_app_set_state(app, &pl_platform_module, NULL);
}

const char *pl_public_url(pl_ctx_t *c)
{
    return pl_app_public_url(c->app);
}

/* settings.domain needs custom_domain (tenant.c) */
static const char *const features[] = {"custom_domain", NULL};

const pl_module_t pl_platform_module = {
    .name = "platform",
    .control_plane = true,
    .routes = tables,
    .options = options,
    .conf_size = sizeof(pl_platform_conf_t),
    .migrations = PL_MIGRATIONS_OF(platform),
    .events = events,
    .redact_prefixes = secret_prefixes,
    .tasks = tasks,
    .usage = pl_platform_usage,
    .features = features,
    .commands = pl_platform_commands,
    .authenticate = pl_auth_resolve,
    .locate = pl_platform_locate,
    .init = platform_init,
    .fini = platform_fini,
    .worker_init = pl_authcache_worker_init,
    .worker_exit = pl_authcache_worker_exit,
};
