/*
 * money.h — money is integer minor units with an ISO 4217 currency, never floating point.
 * JSON shape: {"amount": 1999, "currency": "EUR"}.
 */
#ifndef PL_MONEY_H
#define PL_MONEY_H

#include <stdbool.h>

#include "core/json.h"

#define PL_MONEY_MAX 1000000000000LL /* 10^12 minor units */

bool pl_currency_valid(const char *code);
/* A schema check for currency fields: NULL when valid. */
const char *pl_currency_check(const char *code);
/* The schema of a money object (amount 0..PL_MONEY_MAX, currency). */
extern const pl_schema_t pl_money_schema;

#endif
