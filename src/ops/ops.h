/*
 * ops.h — operational routes: /healthz, /readyz, /openapi.json.
 */
#ifndef PL_OPS_H
#define PL_OPS_H

#include "app/module.h"

extern const pl_module_t pl_ops_module;

#endif
