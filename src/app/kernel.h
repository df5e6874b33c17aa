/*
 * kernel.h — the kernel's own module descriptor, first in every module list: the tables of
 * the commit step (idempotent responses, the audit chain, the outbox, tenant sequences), the
 * secrets every audit entry and event redacts, the expiry of idempotency keys, and
 * `plinth migrate`.
 */
#ifndef PL_KERNEL_H
#define PL_KERNEL_H

#include "app/app.h"

extern const pl_module_t pl_kernel_module;

#endif
