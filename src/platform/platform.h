/*
 * platform.h — the control plane: tenants, users, memberships, sessions, API keys,
 * invitations, roles. Public header of the platform module.
 *
 * Owns the control-plane tables (0001_control_plane.sql). Routes: /v1/auth/…, /v1/me,
 * /v1/roles, /v1/api-keys, /v1/team, /v1/invitations, /v1/tenant, /v1/admin/tenants,
 * /.well-known/jwks.json.
 *
 * The functions below are for the CLI and for other modules. They run inside the caller's
 * transaction on db (the caller begins and commits); allocations go to the arena.
 */
#ifndef PL_PLATFORM_H
#define PL_PLATFORM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/module.h"
#include "app/op.h"
#include "core/arena.h"
#include "core/err.h"
#include "mail/mail.h"
#include "store/store.h"

extern const pl_module_t pl_platform_module;

/* Creates the platform tenant if missing; *id receives its id (arena). */
int pl_platform_tenant(pl_db_t *db, pl_arena_t *a, const char **id, pl_err_t *err);
/* Creates a tenant; slug NULL derives one from the name. *out: the tenant as the API shows it. */
int pl_tenant_create(pl_db_t *db, pl_arena_t *a, const char *name, const char *slug, const char **id,
                     pl_err_t *err);
json_t *pl_tenant_json(pl_db_t *db, const char *tenant_id);
/* The tenant's name, primary colour and logo for its mail (arena strings; Plinth's for NULL
 * or an unknown tenant). */
pl_mail_brand_t pl_tenant_brand(pl_db_t *db, pl_arena_t *a, const char *tenant_id);
/* The tenant's owners and admins, oldest membership first: a JSON array of
 * {"user_id", "email"}, or NULL when the store failed. */
json_t *pl_tenant_admins(pl_db_t *db, const char *tenant_id);
/* Lists tenants as JSON objects (operator view), newest first after `after`. */
json_t *pl_tenant_list(pl_db_t *db, const char *after, const char *status, int limit);
/* Checks password against the policy (field "password") and hashes it (argon2id) into
 * hash (128 bytes). Slow by design: call it outside a write transaction. */
int pl_password_prepare(const char *password, const char *email, char *hash, size_t hashlen, pl_err_t *err);
/* Creates a user from a prepared password hash; *id receives the id. */
int pl_user_create(pl_db_t *db, pl_arena_t *a, const char *email, const char *password_hash, const char *name,
                   bool email_verified, const char **id, pl_err_t *err);
/* Finds a user by email (case-insensitive); 1 found, 0 not, <0 error. */
int pl_user_find(pl_db_t *db, pl_arena_t *a, const char *email, const char **id);
json_t *pl_user_json(pl_db_t *db, const char *user_id);
int pl_membership_add(pl_db_t *db, const char *tenant_id, const char *user_id, const char *role,
                      pl_err_t *err);
/* Creates an API key; *key receives the secret (shown once), *out the key as the API shows it. */
int pl_apikey_create(pl_db_t *db, pl_arena_t *a, const char *tenant_id, const char *name, const char *role,
                     const char *created_by, json_t **out, pl_err_t *err);

/* ---- plans, limits and feature flags (plans.c) ---- */
typedef struct pl_ctx pl_ctx_t;
typedef struct pl_principal pl_principal_t;
/* {"plan": {key, name}, "features", "limits", "rate_limits", "overrides"} of a tenant (new ref). */
json_t *pl_plan_effective(pl_db_t *db, const char *tenant_id);
/* Copies the tenant's plan (quotas, rate limits, features) into a principal. */
int pl_plan_apply(pl_db_t *db, const char *tenant_id, pl_principal_t *p);
/* Refuses (403 limit_exceeded, naming the limit, its value and the usage) when adding more of
 * `limit` would exceed the tenant's plan. Call inside the write transaction that creates.
 * Fails closed: when the usage cannot be counted, nothing is created. */
int pl_limit_check(pl_op_t *op, const char *limit, int64_t adding);
/* How many of `limit` the tenant has (its meter, in the database its module's rows are in),
 * or <0 when no module counts it or the store failed. */
int64_t pl_usage_count(pl_op_t *op, const char *limit, const char *tenant_id);

#endif
