/*
 * auth.h — turning a credential into a principal, for the gateway pipeline.
 *
 * A credential is an access token (JWT issued by this server) or an API key (pk_live_…).
 * Each worker caches resolved principals by a hash of the credential bytes until the
 * credential expires; pl_server_auth_changed() (logout, revocation, role change, tenant
 * suspension) empties every worker's cache, so a revoked credential stops working at once.
 */
#ifndef PL_AUTH_H
#define PL_AUTH_H

#include "core/str.h"
#include "http/ctx.h"

typedef struct pl_authcache pl_authcache_t;

pl_authcache_t *pl_authcache_create(void);
void pl_authcache_destroy(pl_authcache_t *c);

/* Resolves cred into *out (valid for the request). On failure fills c->err (401) and
 * returns PL_EUNAUTH. */
int pl_auth_resolve(pl_ctx_t *c, pl_str_t cred, const pl_principal_t **out);

/* Marks that this request changed who may do what; the pipeline empties the caches after
 * the transaction commits. */
void pl_auth_changed(pl_ctx_t *c);

#endif
