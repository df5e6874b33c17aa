/*
 * ops.c — liveness (the process answers), readiness (the store answers and its schema is
 * current) and the OpenAPI document.
 */
#include "ops/ops.h"

#include "core/clock.h"
#include "http/ctx.h"
#include "http/http.h"
#include "core/banned.h"

#ifndef PLINTH_VERSION
#define PLINTH_VERSION "dev"
#endif

static int h_healthz(pl_ctx_t *c)
{
    return pl_reply(c, 200,
                    json_pack("{s:s,s:s,s:I}", "status", "ok", "version", PLINTH_VERSION, "uptime_s",
                              (json_int_t)((pl_now_ms() - pl_app_started_ms(c->app)) / 1000)));
}

static int h_readyz(pl_ctx_t *c)
{
    int pending = pl_app_pending_migrations(c->app, c->db);
    if (pending < 0)
        return pl_fail(c, PL_EUNAVAIL, "store_unavailable", "the store does not answer");
    if (pending > 0)
        return pl_fail(c, PL_EUNAVAIL, "migrations_pending",
                       "%d migrations are not applied; run plinth migrate", pending);
    return pl_reply(c, 200,
                    json_pack("{s:s,s:s,s:s}", "status", "ready", "store",
                              pl_store_dialect(pl_app_store(c->app)), "migrations", "current"));
}

static int h_openapi(pl_ctx_t *c)
{
    size_t len;
    const char *doc = pl_http_openapi(c->app, &len);
    return pl_reply_raw(c, 200, "application/json", doc, len);
}

static const pl_route_t routes[] = {
    {"GET", "/healthz", h_healthz, NULL, PL_R_PUBLIC, NULL, 200, "Liveness: the process answers"},
    {"GET", "/readyz", h_readyz, NULL, PL_R_PUBLIC, NULL, 200,
     "Readiness: the store answers, migrations current"},
    {"GET", "/openapi.json", h_openapi, NULL, PL_R_PUBLIC, NULL, 200, "This document"},
    PL_ROUTES_END,
};

static const pl_route_t *const tables[] = {routes, NULL};

const pl_module_t pl_ops_module = {
    .name = "ops",
    .routes = tables,
};
