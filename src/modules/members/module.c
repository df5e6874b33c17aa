/*
 * module.c — the members module's descriptor: its route tables.
 */
#include "modules/members/internal.h"
#include "modules/members/members.h"

/* Literal paths (/v1/members/bulk, /export, /import) are matched before /v1/members/{id}. */
static const pl_route_t *const tables[] = {
    pl_member_routes,          pl_member_type_routes,      pl_member_bulk_routes,
    pl_member_activity_routes, pl_member_csv_routes,       pl_member_analytics_routes,
    NULL,
};

const pl_module_t pl_members_module = {"members", tables};
