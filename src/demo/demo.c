/*
 * demo.c — `plinth demo`: a demo organization with a user of each role, an operator and an
 * API key, then how to log in. Running it again keeps what exists and adds a fresh key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo.h"

#include "app/cli.h"
#include "core/crypto.h"
#include "modules/members/members.h"
#include "platform/platform.h"
#include "store/store.h"
#include "core/banned.h"

#define DEMO_PASSWORD "plinth-demo-2026"
#define DEMO_SLUG "acme-demo"

static const struct {
    const char *email, *name, *role;
} people[] = {
    {"owner@acme.test", "Olivia Owner", "owner"},
    {"admin@acme.test", "Adam Admin", "admin"},
    {"editor@acme.test", "Eddie Editor", "editor"},
    {"viewer@acme.test", "Vera Viewer", "viewer"},
};

static int find_tenant(pl_db_t *db, pl_arena_t *a, const char **id)
{
    static const char *sql = "SELECT id FROM tenants WHERE slug = $1";
    pl_rows_t *r;
    int rc;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_TEXT(DEMO_SLUG))) != 0)
        return -1;
    rc = pl_rows_next(r);
    if (rc == 1)
        *id = pl_strdup(a, pl_rows_text(r, 0));
    pl_rows_close(r);
    return rc;
}

static int ensure_user(pl_db_t *db, pl_arena_t *a, const char *email, const char *name, const char *hash,
                       const char *tenant, const char *role, pl_err_t *err)
{
    const char *uid;
    int found = pl_user_find(db, a, email, &uid);
    if (found < 0)
        return pl_err_set(err, PL_EDB, NULL, "cannot read users");
    if (found == 0 && pl_user_create(db, a, email, hash, name, true, &uid, err) != 0)
        return err->status;
    if (pl_membership_add(db, tenant, uid, role, err) != 0 && err->status != PL_ECONFLICT)
        return err->status;
    pl_err_clear(err);
    return 0;
}

static void progress(long done, long total, void *arg)
{
    (void)arg;
    fprintf(stderr, "\rdemo: members and activities %ld / %ld", done, total);
    if (done == total)
        fprintf(stderr, "\n");
}

static int member_count(pl_db_t *db, const char *tid, int64_t *n)
{
    static const char *sql = "SELECT COUNT(*) FROM members WHERE tenant_id = $1";
    return pl_db_int_tx(db, tid, n, sql, PL_ARGS(PL_TEXT(tid)));
}

static int cmd_demo(pl_app_t *app, int argc, char **argv)
{
    pl_cli_t c;
    pl_op_t *op = &c.op;
    const char *tid = NULL, *pid = NULL, *opt = pl_cli_opt(argc, argv, "--members");
    const char *url = pl_app_public_url(app);
    char hash[128];
    json_t *key = NULL;
    size_t i;
    int rc = 1;
    long members = 10000;
    int64_t have = 0;
    pl_members_seed_t seed = {5, 0, 0, progress, NULL};
    if (opt != NULL && !pl_cli_count(opt, 10000000, &members)) {
        fprintf(stderr, "plinth demo: --members must be 0 to 10000000\n");
        return 2;
    }
    if (pl_cli_open(&c, app) != 0)
        return 1;
    fprintf(stderr, "demo: hashing the demo password\n");
    if (pl_password_prepare(DEMO_PASSWORD, NULL, hash, sizeof(hash), &op->err) != 0 ||
        pl_op_begin(op, PL_TX_WRITE, NULL) != 0)
        goto out;
    if (find_tenant(op->db, op->arena, &tid) == 0) {
        if (pl_tenant_create(op->db, op->arena, "Acme Fitness", DEMO_SLUG, &tid, &op->err) != 0)
            goto out;
        pl_cli_record(op, "tenant.created", tid, tid, pl_tenant_json(op->db, tid));
    }
    fprintf(stderr, "demo: organization %s\n", tid);
    for (i = 0; i < sizeof(people) / sizeof(people[0]); i++)
        if (ensure_user(op->db, op->arena, people[i].email, people[i].name, hash, tid, people[i].role,
                        &op->err) != 0)
            goto out;
    if (pl_platform_tenant(op->db, op->arena, &pid, &op->err) != 0 ||
        ensure_user(op->db, op->arena, "operator@plinth.test", "Pat Operator", hash, pid, "owner",
                    &op->err) != 0)
        goto out;
    if (pl_apikey_create(op->db, op->arena, tid, "demo key", "admin", "demo", &key, &op->err) != 0)
        goto out;
    pl_cli_record(op, "api_key.created", tid, json_string_value(json_object_get(key, "id")),
                  json_pack("{s:s, s:s}", "name", "demo key", "role", "admin"));
    if (pl_op_commit(op) != 0 || pl_cli_home(&c, tid) != 0)
        goto out;
    if (member_count(op->db, tid, &have) < 0) {
        pl_op_fail(op, PL_EDB, NULL, "cannot count members");
        goto out;
    }
    if (have == 0 && members > 0) {
        seed.members = members;
        seed.activities = members * 10;
        if (pl_members_seed(op, tid, &seed) != 0)
            goto out;
        have = members;
    }

    printf("Demo data is ready in %s.\n\n", pl_app_config(app)->data_dir);
    printf("Organization: Acme Fitness (%s, slug %s)\n", tid, DEMO_SLUG);
    printf("Users (password: %s):\n", DEMO_PASSWORD);
    for (i = 0; i < sizeof(people) / sizeof(people[0]); i++)
        printf("  %-20s %s\n", people[i].email, people[i].role);
    printf("Operator (platform tenant): operator@plinth.test\n");
    printf("Members: %lld, with membership types and a year of activities\n", (long long)have);
    printf("API key (admin, shown once): %s\n\n", json_string_value(json_object_get(key, "key")));
    printf("Try:\n  curl -s %s/v1/auth/login -H 'content-type: application/json' \\\n"
           "       -d '{\"email\":\"owner@acme.test\",\"password\":\"%s\"}'\n",
           url, DEMO_PASSWORD);
    printf("  curl -s %s/v1/me -H 'authorization: Bearer %s'\n", url,
           json_string_value(json_object_get(key, "key")));
    rc = 0;
out:
    if (rc != 0)
        rc = pl_cli_fail(&c);
    json_decref(key);
    pl_cli_close(&c);
    return rc;
}

static const pl_command_t commands[] = {
    {"demo", "  demo [--members N]         create demo data (an organization, users, an API key, members)\n",
     cmd_demo},
    {NULL, NULL, NULL},
};

const pl_module_t pl_demo_module = {
    .name = "demo",
    .commands = commands,
};
