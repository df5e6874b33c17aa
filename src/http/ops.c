/*
 * ops.c — liveness (the process answers), readiness (the store answers and its schema is
 * current) and the OpenAPI document.
 */
#include "http/ops.h"

#include "core/clock.h"
#include "http/ctx.h"
#include "http/idempotency.h"
#include "http/server.h"
#include "jobs/jobs.h"
#include "core/banned.h"

#ifndef PLINTH_VERSION
#define PLINTH_VERSION "dev"
#endif

static int h_healthz(pl_ctx_t *c)
{
    return pl_reply(c, 200,
                    json_pack("{s:s,s:s,s:I}", "status", "ok", "version", PLINTH_VERSION, "uptime_s",
                              (json_int_t)((pl_now_ms() - c->srv->started_ms) / 1000)));
}

static int h_readyz(pl_ctx_t *c)
{
    int pending = pl_db_pending_migrations(c->db);
    if (pending < 0)
        return pl_fail(c, PL_EUNAVAIL, "store_unavailable", "the store does not answer");
    if (pending > 0)
        return pl_fail(c, PL_EUNAVAIL, "migrations_pending",
                       "%d migrations are not applied; run plinth migrate", pending);
    return pl_reply(c, 200,
                    json_pack("{s:s,s:s,s:s}", "status", "ready", "store", pl_store_dialect(c->srv->store),
                              "migrations", "current"));
}

static int h_openapi(pl_ctx_t *c)
{
    return pl_reply_raw(c, 200, "application/json", c->srv->openapi, c->srv->openapi_len);
}

static const pl_route_t routes[] = {
    {"GET", "/healthz", h_healthz, NULL, PL_R_PUBLIC, NULL, 200, "Liveness: the process answers"},
    {"GET", "/readyz", h_readyz, NULL, PL_R_PUBLIC, NULL, 200,
     "Readiness: the store answers, migrations current"},
    {"GET", "/openapi.json", h_openapi, NULL, PL_R_PUBLIC, NULL, 200, "This document"},
    PL_ROUTES_END,
};

static const pl_route_t *const tables[] = {routes, NULL};

static int64_t expire_idempotency_keys(pl_server_t *s, pl_db_t *db)
{
    (void)s;
    return pl_idempotency_expire(db);
}

static const pl_task_t tasks[] = {
    {"idempotency.cleanup", 60000, expire_idempotency_keys},
    {NULL, 0, NULL},
};

const pl_module_t pl_ops_module = {"ops", tables, NULL, NULL, NULL, tasks};
