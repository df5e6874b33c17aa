/*
 * audit.c — the audit module: GET /v1/audit-logs and `plinth audit verify`.
 * The chain itself is the kernel's (app/audit.h): every change is audited by the commit step.
 */
#include "audit/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audit.h"
#include "app/cells.h"
#include "app/cli.h"
#include "core/clock.h"
#include "http/ctx.h"
#include "core/banned.h"

/* ---- GET /v1/audit-logs ---- */

#define COLS                                                                                                 \
    "id, seq, actor_type, actor_id, action, resource_type, resource_id, before, after, request_id, ip, "     \
    "user_agent, created_at, hash"

static json_t *entry_json(pl_rows_t *r)
{
    json_t *before = pl_rows_text(r, 7) ? json_loads(pl_rows_text(r, 7), 0, NULL) : NULL;
    json_t *after = pl_rows_text(r, 8) ? json_loads(pl_rows_text(r, 8), 0, NULL) : NULL;
    return json_pack("{s:s,s:I,s:{s:s,s:o},s:s,s:{s:o,s:o},s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "id",
                     pl_rows_text(r, 0), "seq", (json_int_t)pl_rows_int(r, 1), "actor", "type",
                     pl_rows_text(r, 2), "id", pl_json_str_or_null(pl_rows_text(r, 3)), "action",
                     pl_rows_text(r, 4), "resource", "type", pl_json_str_or_null(pl_rows_text(r, 5)), "id",
                     pl_json_str_or_null(pl_rows_text(r, 6)), "before", before ? before : json_null(),
                     "after", after ? after : json_null(), "request_id",
                     pl_json_str_or_null(pl_rows_text(r, 9)), "ip", pl_json_str_or_null(pl_rows_text(r, 10)),
                     "user_agent", pl_json_str_or_null(pl_rows_text(r, 11)), "created_at",
                     pl_json_time(pl_rows_int(r, 12)), "hash", pl_rows_text(r, 13));
}

#define FILTERS                                                                                              \
    "WHERE tenant_id = $1 AND ($3 IS NULL OR actor_id = $3) AND ($4 IS NULL OR " PL_SQL_DOTTED_PREFIX(       \
        "action", 4) ") AND ($5 IS NULL OR resource_type = $5) AND ($6 IS NULL OR resource_id = $6) "        \
                     "AND ($7 IS NULL OR created_at >= $7) AND ($8 IS NULL OR created_at < $8)"

static int h_list(pl_ctx_t *c)
{
    static const char *sql =
        "SELECT " COLS " FROM audit_log " FILTERS " AND ($2 IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $9";
    /* $2 and $9 are bound but unused: both statements take the same arguments */
    static const char *sql_n =
        "SELECT COUNT(*) FROM audit_log " FILTERS " AND ($2 IS NULL OR $2 = $2) AND $9 > 0";
    const char *actor = pl_query(c, "actor"), *action = pl_query_prefix(c, "action"),
               *rtype = pl_query(c, "resource_type");
    const char *rid = pl_query(c, "resource_id"), *since = pl_query(c, "since"),
               *until = pl_query(c, "until");
    int64_t s_ms = 0, u_ms = 0, after_seq = 0, total = -1;
    pl_page_t pg;
    json_t *data;
    if (since && pl_rfc3339_parse(since, &s_ms) != 0)
        pl_err_field(&c->err, "since", "must be an RFC 3339 timestamp");
    if (until && pl_rfc3339_parse(until, &u_ms) != 0)
        pl_err_field(&c->err, "until", "must be an RFC 3339 timestamp");
    if (pl_page_parse(c, &pg) != 0)
        return c->err.status;
    if (pg.after) {
        char *end;
        after_seq = strtoll(pg.after, &end, 10);
        if (*end || after_seq < 1) {
            pl_err_field(&c->err, "cursor", "is not a valid cursor");
            return PL_EINVAL;
        }
    }
    {
        pl_val_t args[] = {PL_TEXT(c->tenant_id),
                           after_seq ? PL_INT(after_seq) : PL_NULL_INT,
                           PL_TEXT(actor),
                           PL_TEXT(action),
                           PL_TEXT(rtype),
                           PL_TEXT(rid),
                           since ? PL_INT(s_ms) : PL_NULL_INT,
                           until ? PL_INT(u_ms) : PL_NULL_INT,
                           PL_INT(pg.limit + 1)};
        data = pl_query_all(c->db, entry_json, sql, args, 9);
        if (data == NULL || (pg.include_total && pl_db_int(c->db, &total, sql_n, args, 9) != 1)) {
            json_decref(data);
            return pl_fail(c, PL_EDB, NULL, "the audit log could not be read");
        }
    }
    return pl_reply(c, 200, pl_page_envelope(c, &pg, data, "seq", total));
}

static const pl_route_t routes[] = {
    {"GET", "/v1/audit-logs", h_list, "audit:read", PL_R_TENANT, NULL, 200,
     "The organization's audit log (actor, action, resource_type, resource_id, since, until)"},
    PL_ROUTES_END,
};
static const pl_route_t *const tables[] = {routes, NULL};

/* `plinth audit verify [--tenant ID]`: 0 when every chain verifies, 1 when one is broken, 2
 * when the log cannot be read. */
static int cmd_audit(pl_app_t *app, int argc, char **argv)
{
    pl_cli_t c;
    const char *tenant = pl_cli_opt(argc, argv, "--tenant");
    int rc;
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        fprintf(stderr, "usage: plinth audit verify [--tenant ID]\n");
        return 2;
    }
    if (pl_cli_open(&c, app) != 0)
        return 2;
    if (tenant && *tenant) { /* the tenant's chain is in its home cell */
        rc = pl_cli_home(&c, tenant) != 0 ? -1 : pl_audit_verify(c.op.db, tenant, stdout);
    } else { /* every cell's chains */
        size_t i;
        rc = pl_audit_verify(c.op.db, NULL, stdout);
        for (i = 1; rc >= 0 && i < pl_app_ncells(app); i++) {
            pl_db_t *db;
            int one;
            if (pl_app_connect_cell(app, pl_app_cell(app, i), &db, &c.op.err) != 0) {
                rc = -1;
                break;
            }
            one = pl_audit_verify(db, NULL, stdout);
            pl_db_close(db);
            rc = one < 0 ? one : rc > one ? rc : one;
        }
    }
    pl_cli_close(&c);
    if (rc < 0) {
        fprintf(stderr, "plinth audit verify: the audit log could not be read\n");
        return 2;
    }
    return rc == 0 ? 0 : 1;
}

static const pl_command_t commands[] = {
    {"audit", "  audit verify [--tenant ID]  check every tenant's audit hash chain\n", cmd_audit},
    {NULL, NULL, NULL},
};

const pl_module_t pl_audit_module = {
    .name = "audit",
    .routes = tables,
    .commands = commands,
};
