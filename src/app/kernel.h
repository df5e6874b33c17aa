/*
 * kernel.h — the kernel's own module descriptor, always first in the application: the
 * tables of the commit step (idempotent responses, the audit chain, the outbox, tenant
 * sequences), the store URL option, the secrets every audit entry and event redacts, the
 * expiry of idempotency keys, and `plinth migrate`.
 */
#ifndef PL_KERNEL_H
#define PL_KERNEL_H

#include "app/app.h"

extern const pl_module_t pl_kernel_module;

/* --database-url (NULL or "": SQLite in the data directory). */
const char *pl_kernel_store_url(const pl_app_t *a);
/* How many known migrations db's database has not applied yet (<0: error). */
int pl_app_pending_migrations(pl_app_t *a, pl_db_t *db);
int pl_app_migrate(pl_app_t *a, int *applied, pl_err_t *err);
/* How many migrations opening the application applied. */
int pl_app_migrations_applied(const pl_app_t *a);

#endif
