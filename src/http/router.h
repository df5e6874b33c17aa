/*
 * router.h — routes and module descriptors.
 *
 * A module (platform, members, …) exports a pl_module_t listing its routes. A route
 * declares everything the gateway pipeline needs to run it without the handler's help:
 * method, path pattern ("/v1/api-keys/{id}"), permission, whether it needs a caller at
 * all, whether it is tenant-scoped or an operator route, whether it is metered, and the
 * schema of its JSON body. The router is built once at start and read-only afterwards.
 */
#ifndef PL_ROUTER_H
#define PL_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"
#include "core/str.h"

typedef struct pl_ctx pl_ctx_t;
typedef int (*pl_handler_fn)(pl_ctx_t *c);

#define PL_R_PUBLIC 1u            /* no credential needed */
#define PL_R_TENANT 2u            /* runs in the caller's tenant */
#define PL_R_PLATFORM 4u          /* operator route: the caller must belong to the platform tenant */
#define PL_R_METERED 8u           /* counts as a billable API call */
#define PL_R_RAW_BODY 16u         /* the handler reads the raw body (no JSON parsing) */
#define PL_R_ANY_TENANT_STATE 32u /* allowed while the tenant is suspended (e.g. /v1/me) */
#define PL_R_OWN_TX 64u           /* the handler opens and commits its own transactions */

#define PL_MAX_PARAMS 4

typedef struct pl_route {
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
} pl_route_t;

/* A route table ends with PL_ROUTES_END. */
#define PL_ROUTES_END                                                                                        \
    {                                                                                                        \
        NULL, NULL, NULL, NULL, 0, NULL, 0, NULL, NULL, NULL                                                 \
    }

/* How much of a plan limit ("members", "api_keys" …) a tenant uses now; the module that owns
 * the counted table provides it. */
typedef struct pl_db pl_db_t;
typedef struct pl_usage {
    const char *limit;
    int64_t (*count)(pl_db_t *db, const char *tenant_id);
} pl_usage_t;

typedef struct pl_job_kind pl_job_kind_t;     /* jobs/jobs.h */
typedef struct pl_subscriber pl_subscriber_t; /* jobs/jobs.h */
typedef struct pl_task pl_task_t;             /* jobs/jobs.h */

typedef struct pl_module {
    const char *name;
    const pl_route_t *const *tables;     /* NULL-terminated list of route tables */
    const pl_usage_t *usage;             /* usage meters for plan limits, ending with {NULL}; or NULL */
    const pl_job_kind_t *jobs;           /* background job kinds, ending with {NULL}; or NULL */
    const pl_subscriber_t *subscribers;  /* in-process event subscribers, ending with {NULL}; or NULL */
    const pl_task_t *tasks;              /* periodic tasks, ending with {NULL}; or NULL */
} pl_module_t;

typedef struct pl_router pl_router_t;

typedef struct pl_match {
    const pl_route_t *route;
    int perm; /* index of the route's permission, -1 for none */
    pl_str_t params[PL_MAX_PARAMS];
    int nparams;
    bool path_matched; /* some route has this path (for 405) */
    char allow[64];    /* methods allowed on the path, for 405 */
} pl_match_t;

/* Builds the router from modules; aborts on a malformed route or unknown permission. */
pl_router_t *pl_router_create(const pl_module_t *const *modules, size_t nmodules);
void pl_router_destroy(pl_router_t *r);
/* Returns 0 and fills m, or -1 (no route; m->path_matched tells 405 from 404). */
int pl_router_match(const pl_router_t *r, pl_str_t method, pl_str_t path, pl_match_t *m);
/* Visits every route in registration order. */
void pl_router_each(const pl_router_t *r, void (*fn)(const pl_route_t *, void *), void *arg);

#endif
