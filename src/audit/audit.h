/*
 * audit.h — the audit module: the audit log as tenants read it (GET /v1/audit-logs, with
 * filters) and `plinth audit verify`. Entries are written by the kernel's commit step
 * (app/op.h, app/audit.h) for every change an operation records.
 */
#ifndef PL_AUDIT_MODULE_H
#define PL_AUDIT_MODULE_H

#include "app/module.h"

extern const pl_module_t pl_audit_module;

#endif
