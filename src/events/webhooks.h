/*
 * webhooks.h — webhook endpoints of tenants and the delivery of their events.
 *
 * Owns webhook_endpoints, webhook_deliveries, dispatch_cursor (0005_webhooks.sql).
 * Routes: /v1/webhook-endpoints (CRUD, rotate-secret, deliveries), /v1/webhook-deliveries/{id}/retry.
 *
 * Two background threads per process, each with its own store connection:
 *  - the dispatcher reads committed events in commit order and records one delivery per
 *    matching enabled endpoint (the cursor moves in the same transaction: nothing is skipped
 *    or doubled across a crash);
 *  - the sender claims due deliveries under a lease and POSTs them with libcurl (never on an
 *    HTTP worker), signed per the Standard Webhooks spec; failures are retried on a schedule
 *    of about three days, then the delivery fails; an endpoint failing for five days is
 *    disabled. Private, loopback, link-local and metadata addresses are refused at creation
 *    and again at connect time, unless --allow-private-webhooks.
 */
#ifndef PL_WEBHOOKS_H
#define PL_WEBHOOKS_H

#include <stdbool.h>

#include "http/router.h"

typedef struct pl_server pl_server_t;

extern const pl_module_t pl_webhooks_module;

/* Starts / stops the dispatcher and sender threads. */
int pl_webhooks_start(pl_server_t *s);
void pl_webhooks_stop(pl_server_t *s);

#endif
