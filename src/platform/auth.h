/*
 * auth.h — turning a credential into a principal, for the gateway pipeline.
 *
 * A credential is an access token (JWT issued by this server) or an API key (pk_live_…).
 * Each worker caches resolved principals by a hash of the credential bytes until the
 * credential expires; pl_app_auth_changed() (logout, revocation, role change, tenant
 * suspension) empties every worker's cache, so a revoked credential stops working at once.
 */
#ifndef PL_AUTH_H
#define PL_AUTH_H

#include "app/op.h"
#include "core/str.h"

typedef struct pl_authcache pl_authcache_t;

/* The cache is a per-worker slot of the platform module (module.h worker hooks). */
int pl_authcache_worker_init(pl_app_t *app, pl_thread_t *t, void **slot);
void pl_authcache_worker_exit(pl_app_t *app, pl_thread_t *t, void *slot);

/* Resolves cred into *out (valid for the operation): the platform module's authenticate
 * hook. On failure fills op->err (401, or 500 when the store failed). */
int pl_auth_resolve(pl_op_t *op, pl_str_t cred, const pl_principal_t **out);

#endif
