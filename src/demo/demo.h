/*
 * demo.h — the demo data module: `plinth demo [--members N]` creates an organization with a
 * user of each role, an operator, an API key and (once) seeded members, then prints how to
 * log in. Owns no table and no route.
 */
#ifndef PL_DEMO_H
#define PL_DEMO_H

#include "app/module.h"

extern const pl_module_t pl_demo_module;

#endif
