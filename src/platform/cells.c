/*
 * cells.c — the tenant directory of the control plane: the cells table, which cell each
 * tenant's data is in (tenants.cell), and `plinth cell add|list|migrate` (app/cells.h has the
 * mechanism; this file keeps the records).
 */
#include "platform/internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app/cells.h"
#include "app/cli.h"
#include "app/move.h"
#include "app/relay.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/banned.h"

/* The cell's row → an open cell (migrating it, unless its database cell needs an owner's URL
 * this process does not have: then the answer is PL_EUNAVAIL with why). */
static int open_named(pl_app_t *app, pl_db_t *db, const char *name, const char *migrate_url,
                      const pl_cell_t **out, pl_err_t *err)
{
    static const char *sql = "SELECT kind, database_url FROM cells WHERE name = $1";
    pl_rows_t *r;
    char kind[16] = "", url[1024] = "";
    int rc;
    if ((*out = pl_app_cell_named(app, name)) != NULL)
        return 0;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_TEXT(name))) != 0)
        return pl_err_set(err, PL_EDB, NULL, "cannot read the cells");
    rc = pl_rows_next(r);
    if (rc == 1) {
        snprintf(kind, sizeof(kind), "%s", pl_rows_text(r, 0));
        snprintf(url, sizeof(url), "%s", pl_rows_text(r, 1) ? pl_rows_text(r, 1) : "");
    }
    pl_rows_close(r);
    if (rc != 1)
        return rc < 0 ? pl_err_set(err, PL_EDB, NULL, "cannot read the cells")
                      : pl_err_set(err, PL_ENOTFOUND, NULL, "no cell is named '%s'", name);
    return pl_app_cell_open(
        app, &(pl_cell_def_t){.name = name, .kind = kind, .database_url = url, .migrate_url = migrate_url},
        out, err);
}

int pl_platform_locate(pl_app_t *app, pl_db_t *db, const char *tenant_id, const pl_cell_t **cell)
{
    static const char *sql = "SELECT cell FROM tenants WHERE id = $1";
    pl_rows_t *r;
    char name[64] = "";
    pl_err_t err;
    int rc;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_TEXT(tenant_id))) != 0)
        return PL_EDB;
    if ((rc = pl_rows_next(r)) == 1)
        snprintf(name, sizeof(name), "%s", pl_rows_text(r, 0));
    pl_rows_close(r);
    if (rc != 1)
        return rc < 0 ? PL_EDB : PL_ENOTFOUND;
    pl_err_clear(&err);
    if ((rc = open_named(app, db, name, NULL, cell, &err)) != 0)
        pl_logf(PL_LOG_ERROR, "a tenant's cell cannot be opened", "%s (tenant %s): %s", name, tenant_id,
                err.message);
    return rc;
}

/* Every recorded cell, opened at start: their background work runs from the first moment. */
int pl_platform_cells_open(pl_app_t *app, pl_db_t *db, pl_err_t *err)
{
    static const char *sql = "SELECT name FROM cells WHERE kind <> 'pool' ORDER BY created_at, name";
    char names[PL_MAX_CELLS][64];
    pl_rows_t *r;
    int n = 0, i, rc;
    if (pl_db_query(db, &r, sql, PL_NOARGS) != 0)
        return pl_err_set(err, PL_EDB, NULL, "cannot read the cells");
    while (n < PL_MAX_CELLS && (rc = pl_rows_next(r)) == 1)
        snprintf(names[n++], sizeof(names[0]), "%s", pl_rows_text(r, 0));
    pl_rows_close(r);
    for (i = 0; i < n; i++) {
        const pl_cell_t *c;
        if (open_named(app, db, names[i], NULL, &c, err) != 0) {
            char why[sizeof(err->message)];
            snprintf(why, sizeof(why), "%s", err->message);
            return pl_err_set(err, err->status, NULL, "cell %s: %.200s", names[i], why);
        }
    }
    return 0;
}

int pl_tenant_place(pl_db_t *db, pl_app_t *app, const char *tenant_id, const char *cell, pl_err_t *err)
{
    static const char *sql_cell = "UPDATE tenants SET cell = $2 WHERE id = $1";
    const pl_cell_t *c;
    if (open_named(app, db, cell, NULL, &c, err) != 0) {
        if (err->status == PL_ENOTFOUND) {
            pl_err_clear(err);
            pl_err_field(err, "cell", "no cell is named '%s' (plinth cell list)", cell);
        }
        return err->status;
    }
    return pl_db_exec(db, sql_cell, PL_ARGS(PL_TEXT(tenant_id), PL_TEXT(cell))) == 1
               ? 0
               : pl_err_set(err, PL_EDB, NULL, "cannot place the tenant");
}

json_t *pl_cells_list(pl_db_t *db)
{
    static const char *sql = "SELECT c.name, c.kind, c.database_url, c.created_at, "
                             "(SELECT COUNT(*) FROM tenants t WHERE t.cell = c.name) "
                             "FROM cells c ORDER BY c.created_at, c.name";
    pl_rows_t *r;
    json_t *out = json_array();
    int rc;
    if (pl_db_query(db, &r, sql, PL_NOARGS) != 0) {
        json_decref(out);
        return NULL;
    }
    while ((rc = pl_rows_next(r)) == 1) {
        const char *url = pl_rows_text(r, 2);
        char shown[1024] = "";
        /* the app role's password is not printed */
        if (url) {
            const char *at = strchr(url, '@'), *scheme = strstr(url, "://");
            if (at && scheme && at > scheme)
                snprintf(shown, sizeof(shown), "%.*s***%s", (int)(scheme + 3 - url), url, at);
            else
                snprintf(shown, sizeof(shown), "%s", url);
        }
        json_array_append_new(out, json_pack("{s:s,s:s,s:s?,s:I,s:I}", "name", pl_rows_text(r, 0), "kind",
                                             pl_rows_text(r, 1), "database_url", url ? shown : NULL,
                                             "created_at", (json_int_t)pl_rows_int(r, 3), "tenants",
                                             (json_int_t)pl_rows_int(r, 4)));
    }
    pl_rows_close(r);
    if (rc < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* plinth tenant move TENANT --to CELL (cli.c): copy, switch the directory, clean up. */
int pl_tenant_move(pl_cli_t *c, const char *tenant, const char *to_name)
{
    static const char *sql_cell = "SELECT cell FROM tenants WHERE id = $1";
    static const char *sql_switch =
        "UPDATE tenants SET cell = $2, updated_at = $3 WHERE id = $1 AND cell = $4";
    pl_app_t *app = c->op.app;
    const pl_cell_t *from, *to;
    pl_move_t mv;
    json_t *before, *after;
    char from_name[64] = "";
    pl_rows_t *r;
    int64_t switched;
    int rc;
    if (pl_db_begin(c->op.db, PL_TX_READ, NULL) != 0 ||
        pl_db_query(c->op.db, &r, sql_cell, PL_ARGS(PL_TEXT(tenant))) != 0) {
        pl_db_rollback(c->op.db);
        pl_err_set(&c->op.err, PL_EDB, NULL, "cannot read the tenant");
        return pl_cli_fail(c);
    }
    if ((rc = pl_rows_next(r)) == 1)
        snprintf(from_name, sizeof(from_name), "%s", pl_rows_text(r, 0));
    pl_rows_close(r);
    if (rc != 1) {
        pl_db_rollback(c->op.db);
        pl_err_set(&c->op.err, PL_ENOTFOUND, NULL, "no tenant %s", tenant);
        return pl_cli_fail(c);
    }
    rc = open_named(app, c->op.db, from_name, NULL, &from, &c->op.err) != 0 ||
         open_named(app, c->op.db, to_name, NULL, &to, &c->op.err) != 0;
    pl_db_rollback(c->op.db);
    if (rc)
        return pl_cli_fail(c);
    if (from == to) {
        pl_err_set(&c->op.err, PL_ECONFLICT, NULL, "the tenant is in cell %s already", to->name);
        return pl_cli_fail(c);
    }
    fprintf(stderr, "moving %s from %s to %s: writes pause\n", tenant, from->name, to->name);
    if (pl_move_copy(&mv, app, tenant, from, to, &c->op.err) != 0) {
        pl_move_close(&mv);
        return pl_cli_fail(c);
    }
    /* the switch, its audit entry (relayed to the new home: this process looks the home up
     * again, in the switching transaction) and the announcement */
    c->op.tenant_id = tenant;
    before = json_pack("{s:s}", "cell", from->name);
    after = json_pack("{s:s}", "cell", to->name);
    pl_app_auth_forget(app);
    rc = pl_op_begin(&c->op, PL_TX_WRITE, NULL) != 0 ||
         pl_db_exec(c->op.db, sql_switch,
                    PL_ARGS(PL_TEXT(tenant), PL_TEXT(to->name), PL_INT(pl_now_ms()), PL_TEXT(from->name))) !=
             1 ||
         pl_app_directory_changed(app, c->op.db) != 0 ||
         pl_op_record(&c->op, &(pl_change_t){.action = "tenant.moved",
                                             .resource_id = tenant,
                                             .before = before,
                                             .after = after}) != 0 ||
         pl_op_commit(&c->op) != 0;
    json_decref(before);
    json_decref(after);
    if (rc) {
        pl_op_abort(&c->op);
        pl_move_abort(&mv);
        pl_move_close(&mv);
        if (c->op.err.status == PL_OK)
            pl_err_set(&c->op.err, PL_EDB, NULL,
                       "the directory could not be switched; the tenant stays in %s", from->name);
        return pl_cli_fail(c);
    }
    switched = pl_now_ms();
    pl_app_auth_changed(app);
    fprintf(stderr, "moved: writes resumed after %lld ms; removing the old rows\n",
            (long long)(switched - mv.paused_at_ms));
    /* every node learns the new home within a second (the directory counter, or Redis at once):
     * until then reads may still be answered from the old rows */
    usleep(PL_MOVE_GRACE_MS * 1000);
    rc = pl_move_finish(&mv, &c->op.err);
    pl_cli_print(json_pack("{s:s,s:s,s:s,s:I,s:i,s:I,s:b}", "tenant", tenant, "from", from->name, "to",
                           to->name, "rows", (json_int_t)mv.rows, "tables", mv.ntables, "write_pause_ms",
                           (json_int_t)(switched - mv.paused_at_ms), "old_rows_removed", rc == 0));
    pl_move_close(&mv);
    return rc == 0 ? 0 : pl_cli_fail(c);
}

static int usage_cell(void)
{
    fprintf(stderr, "usage: plinth cell add NAME --kind schema|database [--database-url URL] "
                    "[--migrate-url OWNER_URL]\n"
                    "       plinth cell migrate NAME [--migrate-url OWNER_URL]\n"
                    "       plinth cell list\n");
    return 2;
}

static int cell_add(pl_cli_t *c, int argc, char **argv)
{
    static const char *sql =
        "INSERT INTO cells (name, kind, database_url, created_at) VALUES ($1, $2, $3, $4)";
    const char *name = argv[2], *kind = pl_cli_opt(argc, argv, "--kind");
    const char *url = pl_cli_opt(argc, argv, "--cell-database-url");
    const char *owner = pl_cli_opt(argc, argv, "--cell-migrate-url");
    const pl_cell_t *cell;
    pl_cell_def_t def = {.name = name, .kind = kind, .database_url = url, .migrate_url = owner};
    if (kind && strcmp(kind, "database") != 0)
        def.database_url = NULL;
    if (pl_cell_def_check(c->op.app, &def, &c->op.err) != 0)
        return pl_cli_fail(c);
    if (pl_app_cell_named(c->op.app, name) ||
        pl_db_int_tx(c->op.db, NULL, &(int64_t){0}, "SELECT 1 FROM cells WHERE name = $1",
                     PL_ARGS(PL_TEXT(name))) == 1) {
        pl_err_set(&c->op.err, PL_ECONFLICT, NULL, "a cell named '%s' exists", name);
        return pl_cli_fail(c);
    }
    /* the cell's tables first (as its owner), then its record: a record names a usable cell */
    if (pl_app_cell_open(c->op.app, &def, &cell, &c->op.err) != 0)
        return pl_cli_fail(c);
    if (pl_db_exec_tx(
            c->op.db, NULL, sql,
            PL_ARGS(PL_TEXT(name), PL_TEXT(kind), PL_TEXT(def.database_url), PL_INT(pl_now_ms()))) != 1) {
        pl_err_set(&c->op.err, PL_EDB, NULL, "cannot record the cell");
        return pl_cli_fail(c);
    }
    pl_cli_print(json_pack("{s:s,s:s,s:s?}", "name", name, "kind", kind, "schema",
                           cell->schema[0] ? cell->schema : NULL));
    return 0;
}

int pl_cmd_cell(pl_app_t *app, int argc, char **argv)
{
    pl_cli_t c;
    const char *sub = argc > 1 ? argv[1] : "";
    int rc = 0;
    if (strcmp(sub, "list") != 0 &&
        ((strcmp(sub, "add") != 0 && strcmp(sub, "migrate") != 0) || argc < 3 || argv[2][0] == '-'))
        return usage_cell();
    if (pl_cli_open(&c, app) != 0)
        return 1;
    if (strcmp(sub, "list") == 0) {
        json_t *all = NULL;
        if (pl_db_begin(c.op.db, PL_TX_READ, NULL) == 0)
            all = pl_cells_list(c.op.db);
        pl_db_rollback(c.op.db);
        if (all == NULL) {
            pl_err_set(&c.op.err, PL_EDB, NULL, "cannot read the cells");
            rc = pl_cli_fail(&c);
        } else {
            pl_cli_print(all);
        }
    } else if (strcmp(sub, "add") == 0) {
        rc = cell_add(&c, argc, argv);
    } else {
        const pl_cell_t *cell;
        const char *owner = pl_cli_opt(argc, argv, "--cell-migrate-url");
        if (pl_db_begin(c.op.db, PL_TX_READ, NULL) != 0 ||
            open_named(app, c.op.db, argv[2], owner, &cell, &c.op.err) != 0)
            rc = pl_cli_fail(&c);
        else
            pl_cli_print(json_pack("{s:s,s:s}", "name", cell->name, "status", "up to date"));
        pl_db_rollback(c.op.db);
    }
    pl_cli_close(&c);
    return rc;
}

const char *const pl_cell_own_options[] = {"--database-url", "--migrate-url", NULL};
