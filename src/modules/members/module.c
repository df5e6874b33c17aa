/*
 * module.c — the members module's descriptor: route tables, migrations, the events it
 * announces, its jobs, the member count behind the plan's "members" limit, and
 * `plinth members seed`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/cli.h"
#include "modules/members/internal.h"
#include "modules/members/members.h"
#include "jobs/jobs.h"
#include "platform/platform.h"
#include "core/banned.h"

PL_MIGRATIONS_DECLARE(members);

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

static const pl_option_t options[] = {
    PL_OPTION_LONG(
        pl_members_conf_t, csv_job_threshold, "--csv-job-threshold", "PLINTH_CSV_JOB_THRESHOLD", 0, 100000000,
        "5000", "rows above which member exports (POST) and imports run as background jobs (default 5000)"),
    PL_OPTIONS_END,
};

const pl_members_conf_t *pl_members_conf(const pl_app_t *app)
{
    return pl_app_conf(app, &pl_members_module);
}

static const pl_event_type_t events[] = {
    {"member.created", "a member was created"},
    {"member.updated", "a member's details or status changed"},
    {"member.deleted", "a member was deleted"},
    {"member.bulk_updated", "a bulk action changed several members"},
    {"member.imported", "an import job finished"},
    {"member.activity_recorded", "an activity (visit, purchase …) was recorded for a member"},
    {"membership_type.created", "a membership type was created"},
    {"membership_type.updated", "a membership type changed"},
    {"membership_type.deleted", "a membership type was deleted"},
    {NULL, NULL},
};

static int64_t count_members(pl_app_t *app, pl_db_t *db, const char *tenant_id)
{
    static const char *sql = "SELECT COUNT(*) FROM members WHERE tenant_id = $1 AND deleted_at IS NULL";
    int64_t n = 0;
    return pl_db_int(db, &n, sql, PL_ARGS(PL_TEXT(tenant_id))) == 1 ? n : -1;
}

static const pl_usage_t usage[] = {
    {"members", count_members},
    {NULL, NULL},
};

static void seed_progress(long done, long total, void *arg)
{
    (void)arg;
    fprintf(stderr, "\rseeding %ld / %ld", done, total);
    if (done == total)
        fprintf(stderr, "\n");
}

static int cmd_members(pl_app_t *app, int argc, char **argv)
{
    pl_cli_t c;
    const char *tenant = pl_cli_opt(argc, argv, "--tenant"), *n = pl_cli_opt(argc, argv, "--count");
    const char *acts = pl_cli_opt(argc, argv, "--activities");
    pl_members_seed_t seed = {5, 0, 0, seed_progress, NULL};
    json_t *t;
    int rc = 0;
    if (argc < 2 || strcmp(argv[1], "seed") != 0 || !tenant || !n) {
        fprintf(stderr, "usage: plinth members seed --tenant ID --count N [--activities N]\n");
        return 2;
    }
    if (!pl_cli_count(n, 100000000, &seed.members) ||
        (acts && !pl_cli_count(acts, 1000000000, &seed.activities))) {
        fprintf(stderr, "plinth members seed: --count and --activities must be whole numbers, 0 or more\n");
        return 2;
    }
    if (pl_cli_open(&c, app) != 0)
        return 1;
    if ((t = pl_tenant_json(c.op.db, tenant)) == NULL) {
        fprintf(stderr, "plinth members seed: no tenant %s\n", tenant);
        rc = 1;
    } else if (json_decref(t), pl_cli_home(&c, tenant) != 0 || pl_members_seed(&c.op, tenant, &seed) != 0) {
        rc = pl_cli_fail(&c);
    } else {
        printf("{\"tenant\":\"%s\",\"members\":%ld,\"activities\":%ld}\n", tenant, seed.members,
               seed.activities);
    }
    pl_cli_close(&c);
    return rc;
}

static const pl_command_t commands[] = {
    {"members", "  members seed --tenant ID --count N [--activities N]\n", cmd_members},
    {NULL, NULL, NULL},
};

static const char *const features[] = {"basic_analytics", NULL}; /* the analytics routes */

const pl_module_t pl_members_module = {
    .name = "members",
    .routes = tables,
    .options = options,
    .conf_size = sizeof(pl_members_conf_t),
    .migrations = PL_MIGRATIONS_OF(members),
    .events = events,
    .jobs = pl_member_jobs,
    .usage = usage,
    .features = features,
    .commands = commands,
};
