/*
 * billing.c — the billing module's descriptor (see billing.h).
 */
#include "billing/internal.h"

#include "core/banned.h"

PL_MIGRATIONS_DECLARE(billing);

static const pl_route_t *const tables[] = {pl_customer_routes, NULL};

static const pl_event_type_t events[] = {
    {"customer.created", "a customer was created"},
    {"customer.updated", "a customer was changed"},
    {"customer.deleted", "a customer was deleted"},
    {NULL, NULL},
};

const pl_module_t pl_billing_module = {
    .name = "billing",
    .routes = tables,
    .migrations = PL_MIGRATIONS_OF(billing),
    .events = events,
};
