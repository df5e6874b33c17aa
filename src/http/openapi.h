/*
 * openapi.h — the OpenAPI 3.1 document, rendered from the router's own route table, so
 * it is true to the router by construction.
 */
#ifndef PL_OPENAPI_H
#define PL_OPENAPI_H

#include <stddef.h>

#include "http/router.h"

/* Returns a malloc'd JSON text; *len receives its length. */
char *pl_openapi_render(const pl_router_t *r, size_t *len);

#endif
