/*
 * http.h — the HTTP transport as a module: h2o workers, the router built from every
 * module's routes, the gateway pipeline (http/pipeline.c), rate limits and API-call quotas.
 *
 * Options: --listen, --workers, --max-body, --rate-limit-tenant|key|ip. Owns api_usage
 * (API calls per tenant and period). Starting it binds the socket and starts the workers;
 * stopping it lets in-flight requests finish, then joins the workers before their loops are
 * disposed. Modules never include server.h: what they need from the transport is here.
 */
#ifndef PL_HTTP_H
#define PL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/module.h"

extern const pl_module_t pl_http_module;

/* API calls the tenant made today (day) or this month, counted by the gateway; <0 on a
 * store error. */
int64_t pl_http_calls(pl_app_t *app, pl_db_t *db, const char *tenant_id, bool day);
/* The OpenAPI document rendered from the router (NULL before the transport started). */
const char *pl_http_openapi(const pl_app_t *app, size_t *len);

#endif
