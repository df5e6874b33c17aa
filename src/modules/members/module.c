/*
 * module.c — the members module's descriptor: its route tables.
 */
#include "modules/members/internal.h"
#include "modules/members/members.h"
#include "jobs/jobs.h"

/* Literal paths (/v1/members/bulk, /export, /import) are matched before /v1/members/{id}. */
static const pl_route_t *const tables[] = {
    pl_member_routes,
    pl_member_type_routes,
    pl_member_bulk_routes,
    pl_member_activity_routes,
    pl_member_csv_routes,
    pl_member_analytics_routes,
    NULL,
};

static int64_t count_members(pl_db_t *db, const char *tenant_id)
{
    static const char *sql = "SELECT COUNT(*) FROM members WHERE tenant_id = $1 AND deleted_at IS NULL";
    int64_t n = 0;
    pl_db_int(db, &n, sql, PL_ARGS(PL_TEXT(tenant_id)));
    return n;
}

static const pl_usage_t usage[] = {
    {"members", count_members},
    {NULL, NULL},
};

const pl_module_t pl_members_module = {"members", tables, usage, pl_member_jobs, NULL, NULL};
