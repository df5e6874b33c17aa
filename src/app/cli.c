/*
 * cli.c — helpers for module commands (see cli.h).
 */
#include "app/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/cells.h"
#include "core/typeid.h"
#include "core/banned.h"

int pl_cli_open(pl_cli_t *c, pl_app_t *app)
{
    pl_db_t *db = NULL;
    pl_err_t err;
    memset(c, 0, sizeof(*c));
    pl_err_clear(&err);
    pl_arena_init(&c->arena);
    if (pl_app_connect(app, &db, &err) != 0) {
        fprintf(stderr, "plinth: %s\n", err.message[0] ? err.message : "cannot open the store");
        pl_arena_release(&c->arena);
        return -1;
    }
    pl_op_init(&c->op, app, db, &c->arena);
    c->control = db;
    c->op.actor_type = "cli";
    pl_typeid_new("cli", c->op.request_id);
    return 0;
}

int pl_cli_home(pl_cli_t *c, const char *tenant_id)
{
    const pl_cell_t *home;
    pl_db_t *db;
    if (pl_app_home(c->op.app, c->control, tenant_id, &home) != 0)
        return pl_op_fail(&c->op, PL_EDB, NULL, "the tenant directory could not be read");
    if (home->index == 0 || c->op.cell == home)
        return 0;
    if (pl_app_connect_cell(c->op.app, home, &db, &c->op.err) != 0)
        return c->op.err.status;
    if (c->op.db != c->control)
        pl_db_close(c->op.db);
    c->op.db = db;
    c->op.cell = home;
    c->op.control = c->control;
    return 0;
}

void pl_cli_close(pl_cli_t *c)
{
    pl_op_abort(&c->op);
    pl_op_release(&c->op);
    if (c->op.db != c->control)
        pl_db_close(c->op.db);
    pl_db_close(c->control);
    pl_arena_release(&c->arena);
}

int pl_cli_fail(pl_cli_t *c)
{
    const pl_err_t *e = &c->op.err;
    int i;
    pl_op_abort(&c->op);
    fprintf(stderr, "plinth: %s\n", e->message[0] ? e->message : "failed");
    for (i = 0; i < e->nfields; i++)
        fprintf(stderr, "  %s: %s\n", e->fields[i].field, e->fields[i].message);
    return 1;
}

void pl_cli_print(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(j);
}

void pl_cli_record(pl_op_t *op, const char *action, const char *tenant, const char *id, json_t *after)
{
    pl_op_record(op,
                 &(pl_change_t){.action = action, .tenant_id = tenant, .resource_id = id, .after = after});
    json_decref(after);
}

bool pl_cli_count(const char *s, long max, long *out)
{
    char *end = NULL;
    if (s == NULL || *s == '\0')
        return false;
    *out = strtol(s, &end, 10);
    return *end == '\0' && *out >= 0 && *out <= max;
}

const char *pl_cli_opt(int argc, char **argv, const char *name)
{
    int i;
    size_t n = strlen(name);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], name) == 0)
            return i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0 ? argv[i + 1] : "";
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
    }
    return NULL;
}
