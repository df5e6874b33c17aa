/*
 * principal.h — who performs an operation: a user in a tenant, or an API key.
 *
 * Resolved once per credential by the module that authenticates (module.h) and cached by
 * it; the operation holds a read-only copy. Not tenant-scoped itself: it names its tenant.
 */
#ifndef PL_PRINCIPAL_H
#define PL_PRINCIPAL_H

#include <stdbool.h>
#include <stdint.h>

#include "app/rbac.h"

#define PL_ID_MAX 64

typedef enum { PL_PRINCIPAL_USER = 1, PL_PRINCIPAL_APIKEY = 2 } pl_principal_kind;

struct pl_principal {
    pl_principal_kind kind;
    char user_id[PL_ID_MAX];    /* users: the user */
    char key_id[PL_ID_MAX];     /* API keys: the key */
    char session_id[PL_ID_MAX]; /* users: the refresh-token family of the access token */
    char tenant_id[PL_ID_MAX];
    char role[16];
    bool platform;      /* the tenant is the platform tenant (operator) */
    bool suspended;     /* the tenant is suspended */
    int cell;           /* the index of the tenant's home cell (app/cells.h; 0: the pool) */
    int64_t tenant_num; /* the tenant's number (tenants.num: the high half of its row keys) */
    pl_perms_t perms;
    int64_t expires_ms; /* the credential's expiry (0: none) */
    /* the tenant's effective plan, resolved with the credential */
    char plan[32];
    int64_t quota_day, quota_month; /* API calls; -1 unlimited */
    double rate[3], burst[3];       /* tenant, API key, IP buckets; 0: the configured default */
    char features[512];             /* ",flag,flag," enabled feature flags */
};
typedef struct pl_principal pl_principal_t;

/* Whether the principal's plan (or tenant override) enables the feature flag. */
bool pl_principal_has_feature(const pl_principal_t *p, const char *feature);
/* The id that acts: the user's, or the API key's. */
const char *pl_principal_actor(const pl_principal_t *p);

#endif
