/*
 * router.h — routes and module descriptors.
 *
 * A module (platform, members, …) lists its route tables in its descriptor (app/module.h). A
 * route declares everything the gateway pipeline needs to run it without the handler's help:
 * method, path pattern ("/v1/api-keys/{id}"), permission, whether it needs a caller at all,
 * whether it is tenant-scoped or an operator route (exactly one of PL_R_PUBLIC, PL_R_TENANT,
 * PL_R_PLATFORM), whether it counts against the API-call quota, the schema of its JSON body,
 * its audit action, and a prepare step for slow work before the transaction. The router is
 * built once at start, checks every declaration then, and is read-only afterwards.
 */
#ifndef PL_ROUTER_H
#define PL_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "core/json.h"
#include "core/str.h"

typedef struct pl_ctx pl_ctx_t;
typedef int (*pl_handler_fn)(pl_ctx_t *c);

#define PL_R_PUBLIC 1u            /* no credential needed; runs in no tenant */
#define PL_R_TENANT 2u            /* needs a credential; runs in the caller's tenant */
#define PL_R_PLATFORM 4u          /* operator route: the caller must belong to the platform tenant */
#define PL_R_UNMETERED 8u         /* does not count against the plan's API-call quota */
#define PL_R_RAW_BODY 16u         /* the handler reads the raw body (no JSON parsing) */
#define PL_R_ANY_TENANT_STATE 32u /* allowed while the tenant is suspended (e.g. /v1/me) */
#define PL_R_OWN_TX 64u           /* no transaction is opened: the handler only reads, on its own */
#define PL_R_CONTROL                                                                                         \
    128u /* the transaction runs in the control plane's scope, not the caller's                              \
            tenant: it reads the caller's rows of other tenants (/v1/me) */

#define PL_MAX_PARAMS 4

struct pl_route {
    const char *method;
    const char *path;
    pl_handler_fn handler;
    const char *permission; /* NULL: any authenticated caller */
    unsigned flags;
    const pl_schema_t *input;
    int status; /* success status, for the OpenAPI document */
    const char *summary;
    const char *audit;   /* audit action of a mutation ("member.created"); required for non-GET routes */
    const char *feature; /* a feature flag the tenant must have (403 feature_not_enabled), or NULL */
    /* slow work before the transaction (argon2id), or NULL; fills c->prep or fails */
    pl_handler_fn prepare;
};

/* A route table ends with PL_ROUTES_END. */
#define PL_ROUTES_END                                                                                        \
    {                                                                                                        \
        NULL, NULL, NULL, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL                                           \
    }

typedef struct pl_router pl_router_t;

typedef struct pl_match {
    const pl_route_t *route;
    int perm; /* index of the route's permission, -1 for none */
    pl_str_t params[PL_MAX_PARAMS];
    int nparams;
    bool path_matched;  /* some route has this path (for 405) */
    bool control_plane; /* the route's module is a control-plane module (app/cells.h) */
    char allow[64];     /* methods allowed on the path, for 405 */
} pl_match_t;

/* Builds the router from every module's routes; NULL with err filled on a malformed route,
 * an unknown permission or a scope that is not exactly one of public, tenant, platform. */
pl_router_t *pl_router_create(const pl_app_t *app, pl_err_t *err);
void pl_router_destroy(pl_router_t *r);
/* Returns 0 and fills m, or -1 (no route; m->path_matched tells 405 from 404). */
int pl_router_match(const pl_router_t *r, pl_str_t method, pl_str_t path, pl_match_t *m);
/* Visits every route in registration order. */
void pl_router_each(const pl_router_t *r, void (*fn)(const pl_route_t *, void *), void *arg);

#endif
