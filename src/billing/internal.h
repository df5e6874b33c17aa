/*
 * internal.h — what the billing module's files share; not for other modules (billing.h).
 */
#ifndef PL_BILLING_INTERNAL_H
#define PL_BILLING_INTERNAL_H

#include "billing/billing.h"
#include "http/ctx.h"

extern const pl_route_t pl_customer_routes[];

#endif
