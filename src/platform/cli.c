/*
 * cli.c — the platform's commands: `plinth tenant create|list`, `plinth user create`,
 * `plinth apikey create` (app/cli.h). What they create goes through the commit step like an
 * API request: an audit entry and an event each, actor "cli".
 */
#include "platform/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/cli.h"
#include "app/rbac.h"
#include "core/banned.h"

static int cmd_tenant(pl_app_t *app, int argc, char **argv)
{
    pl_cli_t c;
    const char *sub = argc > 1 ? argv[1] : "", *id;
    const char *name = pl_cli_opt(argc, argv, "--name"), *slug = pl_cli_opt(argc, argv, "--slug");
    const char *to = pl_cli_opt(argc, argv, "--to");
    int rc = 0;
    if (strcmp(sub, "move") == 0) {
        if (argc < 3 || argv[2][0] == '-' || to == NULL || *to == '\0') {
            fprintf(stderr, "usage: plinth tenant move TENANT --to CELL\n");
            return 2;
        }
        if (pl_cli_open(&c, app) != 0)
            return 1;
        rc = pl_tenant_move(&c, argv[2], to);
        pl_cli_close(&c);
        return rc;
    }
    if (strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0) {
        fprintf(stderr, "usage: plinth tenant create --name NAME [--slug SLUG] | plinth tenant list | "
                        "plinth tenant move TENANT --to CELL\n");
        return 2;
    }
    if (strcmp(sub, "create") == 0 && (name == NULL || *name == '\0')) {
        fprintf(stderr, "plinth tenant create: --name is required\n");
        return 2;
    }
    if (pl_cli_open(&c, app) != 0)
        return 1;
    if (strcmp(sub, "list") == 0) {
        json_t *all = pl_tenant_list(c.op.db, NULL, NULL, 1000000);
        if (all == NULL)
            rc = pl_cli_fail(&c);
        else
            pl_cli_print(all);
    } else if (pl_op_begin(&c.op, PL_TX_WRITE, NULL) != 0 ||
               pl_tenant_create(c.op.db, c.op.arena, name, slug, &id, &c.op.err) != 0 ||
               (pl_cli_record(&c.op, "tenant.created", id, id, pl_tenant_json(c.op.db, id)),
                pl_op_commit(&c.op)) != 0) {
        rc = pl_cli_fail(&c);
    } else {
        pl_cli_print(pl_tenant_json(c.op.db, id));
    }
    pl_cli_close(&c);
    return rc;
}

/* Adds uid to tenant with role and records it in that tenant's log. */
static int add_member(pl_op_t *op, const char *tenant, const char *uid, const char *role)
{
    if (pl_membership_add(op->db, tenant, uid, role, &op->err) != 0)
        return -1;
    pl_cli_record(op, "team.member_added", tenant, uid,
                  json_pack("{s:s, s:s}", "user_id", uid, "role", role));
    return 0;
}

static int cmd_user(pl_app_t *app, int argc, char **argv)
{
    pl_cli_t c;
    const char *email = pl_cli_opt(argc, argv, "--email"), *password = pl_cli_opt(argc, argv, "--password");
    const char *name = pl_cli_opt(argc, argv, "--name"), *tenant = pl_cli_opt(argc, argv, "--tenant");
    const char *role = pl_cli_opt(argc, argv, "--role");
    bool op = pl_cli_opt(argc, argv, "--operator") != NULL;
    const char *uid, *tid = NULL;
    char hash[128];
    json_t *out;
    if (argc < 2 || strcmp(argv[1], "create") != 0 || !email || !password) {
        fprintf(stderr, "usage: plinth user create --email E --password P [--name N] "
                        "[--tenant ID --role owner|admin|editor|viewer] [--operator]\n");
        return 2;
    }
    if (role && !pl_rbac_role_valid(role)) {
        fprintf(stderr, "plinth user create: --role must be owner, admin, editor or viewer\n");
        return 2;
    }
    if (pl_cli_open(&c, app) != 0)
        return 1;
    if (pl_password_prepare(password, email, hash, sizeof(hash), &c.op.err) != 0 ||
        pl_op_begin(&c.op, PL_TX_WRITE, NULL) != 0 ||
        pl_user_create(c.op.db, c.op.arena, email, hash, name ? name : "", true, &uid, &c.op.err) != 0 ||
        (op && (pl_platform_tenant(c.op.db, c.op.arena, &tid, &c.op.err) != 0 ||
                add_member(&c.op, tid, uid, "owner") != 0)) ||
        (tenant && add_member(&c.op, tenant, uid, role ? role : "viewer") != 0)) {
        int rc = pl_cli_fail(&c);
        pl_cli_close(&c);
        return rc;
    }
    if (!op && !tenant)
        pl_op_record(&c.op, &(pl_change_t){.action = "user.created", .event = "", .resource_id = uid});
    if (pl_op_commit(&c.op) != 0) {
        int rc = pl_cli_fail(&c);
        pl_cli_close(&c);
        return rc;
    }
    out = pl_user_json(c.op.db, uid);
    json_object_set_new(out, "operator", json_boolean(op));
    pl_cli_print(out);
    pl_cli_close(&c);
    return 0;
}

static int cmd_apikey(pl_app_t *app, int argc, char **argv)
{
    pl_cli_t c;
    const char *tenant = pl_cli_opt(argc, argv, "--tenant"), *name = pl_cli_opt(argc, argv, "--name");
    const char *role = pl_cli_opt(argc, argv, "--role");
    json_t *out = NULL, *t;
    int rc = 0;
    if (argc < 2 || strcmp(argv[1], "create") != 0 || !tenant || !*tenant) {
        fprintf(stderr, "usage: plinth apikey create --tenant ID [--name N] [--role admin|editor|viewer]\n");
        return 2;
    }
    if (role == NULL)
        role = "admin";
    if (!strcmp(role, "owner") || !pl_rbac_role_valid(role)) {
        fprintf(stderr, "plinth apikey create: --role must be admin, editor or viewer\n");
        return 2;
    }
    if (pl_cli_open(&c, app) != 0)
        return 1;
    if ((t = pl_tenant_json(c.op.db, tenant)) == NULL) {
        fprintf(stderr, "plinth apikey create: no tenant %s\n", tenant);
        pl_cli_close(&c);
        return 1;
    }
    json_decref(t);
    if (pl_op_begin(&c.op, PL_TX_WRITE, tenant) != 0 ||
        pl_apikey_create(c.op.db, c.op.arena, tenant, name && *name ? name : "cli", role, "cli", &out,
                         &c.op.err) != 0) {
        rc = pl_cli_fail(&c);
    } else {
        pl_cli_record(&c.op, "api_key.created", tenant, json_string_value(json_object_get(out, "id")),
                      json_incref(out));
        if (pl_op_commit(&c.op) != 0)
            rc = pl_cli_fail(&c);
        else
            pl_cli_print(json_incref(out));
    }
    json_decref(out);
    pl_cli_close(&c);
    return rc;
}

const pl_command_t pl_platform_commands[] = {
    {"tenant", "  tenant create --name NAME [--slug SLUG] | tenant list | tenant move TENANT --to CELL\n",
     cmd_tenant},
    {"user", "  user create --email E --password P [--name N] [--tenant ID --role ROLE] [--operator]\n",
     cmd_user},
    {"apikey", "  apikey create --tenant ID [--name N] [--role admin|editor|viewer]\n", cmd_apikey},
    {"cell",
     "  cell add NAME --kind schema|database [--database-url URL] [--migrate-url OWNER_URL]\n"
     "  cell migrate NAME [--migrate-url OWNER_URL] | cell list\n"
     "      (the cell's URLs: the control database's come before 'cell' or from the environment)\n",
     pl_cmd_cell, pl_cell_own_options},
    {NULL, NULL, NULL},
};
