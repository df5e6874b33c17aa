/*
 * rbac.c — the role → permission table.
 */
#include "app/rbac.h"

#include <string.h>

#include "core/banned.h"

static const char *const perms[] = {
    "tenant:read",
    "tenant:manage",
    "team:read",
    "team:manage",
    "apikeys:read",
    "apikeys:manage",
    "members:read",
    "members:write",
    "billing:read",
    "billing:manage",
    "webhooks:read",
    "webhooks:manage",
    "events:read",
    "audit:read",
    "analytics:read",
    "usage:read",
    "usage:write",
    "catalog:read",
    "catalog:write",
    "orders:read",
    "orders:write",
    "devices:read",
    "devices:write",
    "jobs:read",
    "jobs:manage",
    "platform:tenants:read",
    "platform:tenants:manage",
    "platform:plans:read",
    "platform:plans:manage",
    "platform:jobs:read",
    NULL,
};

/* What each role may do, as permission strings ("*:read" = every tenant read permission). */
static const struct role {
    const char *name;
    const char *desc;
    const char *const grants[24];
} roles[] = {
    {"owner", "full control of the organization, including other owners", {"*", NULL}},
    {"admin", "manages the organization, its team, keys, billing and integrations", {"*", NULL}},
    {"editor",
     "reads everything operational and changes members, catalog, orders, devices and usage",
     {"*:read", "members:write", "catalog:write", "orders:write", "devices:write", "usage:write", NULL}},
    {"viewer", "reads the organization's data", {"*:read", NULL}},
};

/* Reads nobody but admins and owners see, even though they end in ":read". */
static const char *const admin_only_reads[] = {"apikeys:read", "audit:read", "webhooks:read", "jobs:read",
                                               NULL};

int pl_rbac_perm_index(const char *perm)
{
    int i;
    for (i = 0; perms[i]; i++)
        if (strcmp(perms[i], perm) == 0)
            return i;
    return -1;
}

bool pl_rbac_role_valid(const char *role)
{
    return pl_rbac_rank(role) > 0;
}

int pl_rbac_rank(const char *role)
{
    if (role == NULL)
        return 0;
    if (!strcmp(role, "owner"))
        return 4;
    if (!strcmp(role, "admin"))
        return 3;
    if (!strcmp(role, "editor"))
        return 2;
    if (!strcmp(role, "viewer"))
        return 1;
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

pl_perms_t pl_rbac_role_perms(const char *role, bool platform)
{
    pl_perms_t set = 0;
    size_t r;
    int i, g;
    for (r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
        if (strcmp(roles[r].name, role) != 0)
            continue;
        for (g = 0; roles[r].grants[g]; g++) {
            const char *grant = roles[r].grants[g];
            for (i = 0; perms[i]; i++) {
                bool is_platform = strncmp(perms[i], "platform:", 9) == 0;
                if (is_platform)
                    continue;
                if (!strcmp(grant, "*") || !strcmp(grant, perms[i]) ||
                    (!strcmp(grant, "*:read") && ends_with(perms[i], ":read") &&
                     !in_list(admin_only_reads, perms[i])))
                    set |= (pl_perms_t)1 << i;
            }
        }
        if (platform) {
            bool manage = pl_rbac_rank(role) >= 3;
            for (i = 0; perms[i]; i++)
                if (strncmp(perms[i], "platform:", 9) == 0 && (manage || ends_with(perms[i], ":read")))
                    set |= (pl_perms_t)1 << i;
        }
    }
    return set;
}

bool pl_rbac_has(pl_perms_t set, int index)
{
    return index < 0 || (set & ((pl_perms_t)1 << index)) != 0;
}

json_t *pl_rbac_perms_json(pl_perms_t set)
{
    json_t *a = json_array();
    int i;
    for (i = 0; perms[i]; i++)
        if (set & ((pl_perms_t)1 << i))
            json_array_append_new(a, json_string(perms[i]));
    return a;
}

json_t *pl_rbac_roles_json(void)
{
    json_t *a = json_array();
    size_t r;
    for (r = 0; r < sizeof(roles) / sizeof(roles[0]); r++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:o,s:o}", "name", roles[r].name, "description",
                                           roles[r].desc, "permissions",
                                           pl_rbac_perms_json(pl_rbac_role_perms(roles[r].name, false)),
                                           "operator_permissions",
                                           pl_rbac_perms_json(pl_rbac_role_perms(roles[r].name, true) &
                                                              ~pl_rbac_role_perms(roles[r].name, false))));
    return a;
}
