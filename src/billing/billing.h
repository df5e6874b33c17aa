/*
 * billing.h — metering and billing (issue 12, being built): customers so far.
 *
 * Owns billing_customers. Routes: /v1/customers. Objects follow Stripe's shapes and field
 * names (docs/billing.md).
 */
#ifndef PL_BILLING_H
#define PL_BILLING_H

#include "app/module.h"

extern const pl_module_t pl_billing_module;

#endif
