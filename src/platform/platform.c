/*
 * platform.c — the platform module's descriptor and start-up.
 */
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>

#include "http/server.h"
#include "platform/internal.h"
#include "platform/tokens.h"
#include "core/clock.h"
#include "jobs/jobs.h"
#include "core/banned.h"

static const pl_route_t *const tables[] = {pl_auth_routes,   pl_apikey_routes, pl_team_routes,
                                           pl_tenant_routes, pl_plan_routes,   NULL};

/* Expired refresh tokens (a day after expiry: until then a replayed one is still recognised
 * as reuse), single-use email tokens, and invitations that expired a month ago. */
static int64_t expire_tokens(pl_server_t *s, pl_db_t *db)
{
    static const char *const sql[] = {
        "DELETE FROM sessions WHERE expires_at < $1 - 86400000",
        "DELETE FROM user_tokens WHERE expires_at < $1",
        "DELETE FROM invitations WHERE accepted_at IS NULL AND expires_at < $1 - 2592000000",
        NULL,
    };
    (void)s;
    return pl_task_exec_all(db, sql, pl_now_ms());
}

static const pl_task_t tasks[] = {
    {"tokens.cleanup", 3600000, expire_tokens},
    {NULL, 0, NULL},
};

const pl_module_t pl_platform_module = {"platform", tables, pl_platform_usage, NULL, NULL, tasks};

int pl_platform_init(pl_server_t *s, pl_db_t *db, pl_err_t *err)
{
    pl_arena_t a;
    const char *pid;
    char issuer[300];
    int rc;
    pl_arena_init(&a);
    rc = pl_db_begin(db, PL_TX_WRITE, NULL);
    if (rc == 0 && (rc = pl_platform_tenant(db, &a, &pid, err)) == 0)
        snprintf(s->platform_tenant, sizeof(s->platform_tenant), "%s", pid);
    if (rc == 0)
        rc = pl_db_commit(db);
    else
        pl_db_rollback(db);
    pl_arena_release(&a);
    if (rc != 0) {
        if (err->status == PL_OK)
            pl_err_set(err, PL_EDB, NULL, "cannot prepare the platform tenant");
        return rc;
    }
    snprintf(issuer, sizeof(issuer), "plinth");
    s->tokens = pl_tokens_load(db, issuer, err);
    return s->tokens ? 0 : PL_EINTERNAL;
}

void pl_platform_shutdown(pl_server_t *s)
{
    pl_tokens_destroy(s->tokens);
    s->tokens = NULL;
}

const char *pl_public_url(pl_ctx_t *c)
{
    return pl_server_public_url(c->srv);
}
