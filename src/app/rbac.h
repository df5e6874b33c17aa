/*
 * rbac.h — roles and permissions: the one table of who may do what.
 *
 * Permissions are strings ("members:read"); internally a bit in a 64-bit set. Built-in
 * roles are owner, admin, editor, viewer. Members of the platform tenant (operators)
 * additionally hold platform:* permissions, which only /v1/admin/... routes ask for.
 * Not tenant-scoped; pure functions over static tables.
 */
#ifndef PL_RBAC_H
#define PL_RBAC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef uint64_t pl_perms_t;

/* Index of a permission string, or -1. */
int pl_rbac_perm_index(const char *perm);
bool pl_rbac_role_valid(const char *role);
/* Permissions of a role; platform: the role is held in the platform tenant. */
pl_perms_t pl_rbac_role_perms(const char *role, bool platform);
bool pl_rbac_has(pl_perms_t perms, int index);
/* Rank: owner 4 > admin 3 > editor 2 > viewer 1; 0 for unknown. */
int pl_rbac_rank(const char *role);
/* JSON array of the permission strings in perms. */
json_t *pl_rbac_perms_json(pl_perms_t perms);
/* The whole table, for GET /v1/roles. */
json_t *pl_rbac_roles_json(void);

#endif
