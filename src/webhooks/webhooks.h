/*
 * webhooks.h — webhook endpoints of tenants and the delivery of their events.
 *
 * Owns webhook_endpoints, webhook_deliveries (webhooks/migrations).
 * Routes: /v1/webhook-endpoints (CRUD, rotate-secret, deliveries), /v1/webhook-deliveries/{id}/retry,
 * /v1/events/{id}/replay. Options: --allow-private-webhooks, --webhook-retries,
 * --webhook-disable-after.
 *
 *  - its consumer (events/events.h: the dispatcher hands it every committed event) records
 *    one delivery per matching enabled endpoint, in the dispatcher's transaction;
 *  - the sender claims due deliveries under a lease and POSTs them with libcurl (never on an
 *    HTTP worker), signed per the Standard Webhooks spec; failures are retried on a schedule
 *    of about three days, then the delivery fails; an endpoint failing for five days is
 *    disabled. Private, loopback, link-local and metadata addresses are refused at creation
 *    and again at connect time, unless --allow-private-webhooks.
 */
#ifndef PL_WEBHOOKS_H
#define PL_WEBHOOKS_H

#include <stdbool.h>

#include "app/module.h"

extern const pl_module_t pl_webhooks_module;

#endif
