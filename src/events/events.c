/*
 * events.c — the events module: GET /v1/events, the outbox cleanup and the descriptor
 * (see events.h).
 */
#include "events/events.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "events/internal.h"
#include "core/banned.h"

PL_MIGRATIONS_DECLARE(events);

bool pl_event_matches(const char *const *patterns, const char *type)
{
    for (; patterns && *patterns; patterns++) {
        const char *p = *patterns;
        size_t n = strlen(p);
        if (strcmp(p, "*") == 0 || strcmp(p, type) == 0 ||
            (n >= 2 && p[n - 1] == '*' && p[n - 2] == '.' && strncmp(p, type, n - 1) == 0))
            return true;
    }
    return false;
}

/* ---- routes ---- */

#define COLS "id, type, tenant_seq, data, request_id, occurred_at, tenant_id"

static json_t *event_json(pl_rows_t *r)
{
    json_t *data = json_loads(pl_rows_text(r, 3), 0, NULL);
    return json_pack("{s:s,s:s,s:s,s:I,s:o,s:o,s:o}", "id", pl_rows_text(r, 0), "type", pl_rows_text(r, 1),
                     "tenant_id", pl_rows_text(r, 6), "sequence", (json_int_t)pl_rows_int(r, 2),
                     "occurred_at", pl_json_time(pl_rows_int(r, 5)), "request_id",
                     pl_json_str_or_null(pl_rows_text(r, 4)), "data", data ? data : json_object());
}

static int h_list(pl_ctx_t *c)
{
    static const char *sql =
        "SELECT " COLS " FROM events WHERE tenant_id = $1 AND tenant_seq > $2 "
        "AND ($3 IS NULL OR " PL_SQL_DOTTED_PREFIX("type", 3) ") ORDER BY tenant_seq LIMIT $4";
    static const char *sql_n = "SELECT COUNT(*) FROM events WHERE tenant_id = $1 AND tenant_seq > $2 "
                               "AND ($3 IS NULL OR " PL_SQL_DOTTED_PREFIX("type", 3) ")";
    static const char *sql_after = "SELECT tenant_seq FROM events WHERE tenant_id = $1 AND id = $2";
    const char *type = pl_query_prefix(c, "type"), *after = pl_query(c, "after");
    int64_t from = 0, total = -1;
    pl_page_t pg;
    json_t *data;
    if (pl_page_parse(c, &pg) != 0)
        return c->err.status;
    if (pg.after) {
        char *end;
        from = strtoll(pg.after, &end, 10);
        if (*end || from < 0) {
            pl_err_field(&c->err, "cursor", "is not a valid cursor");
            return PL_EINVAL;
        }
    } else if (after) {
        /* after=evt_…: the events that follow that one (how a consumer resumes) */
        if (!pl_id_ok(after, "evt") ||
            pl_db_int(c->db, &from, sql_after, PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(after))) != 1) {
            pl_err_field(&c->err, "after", "is not an event of this organization");
            return PL_EINVAL;
        }
    }
    data = pl_query_all(c->db, event_json, sql,
                        PL_ARGS(PL_TEXT(c->tenant_id), PL_INT(from), PL_TEXT(type), PL_INT(pg.limit + 1)));
    if (data == NULL ||
        (pg.include_total &&
         pl_db_int(c->db, &total, sql_n, PL_ARGS(PL_TEXT(c->tenant_id), PL_INT(from), PL_TEXT(type))) != 1)) {
        json_decref(data);
        return pl_fail(c, PL_EDB, NULL, "the events could not be read");
    }
    return pl_reply(c, 200, pl_page_envelope(c, &pg, data, "sequence", total));
}

static int h_get(pl_ctx_t *c)
{
    static const char *sql = "SELECT " COLS " FROM events WHERE id = $1 AND tenant_id = $2";
    const char *id = pl_param(c, 0);
    json_t *e = pl_id_ok(id, "evt")
                    ? pl_query_one(c->db, event_json, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id)))
                    : NULL;
    return e ? pl_reply(c, 200, e) : pl_fail_notfound(c, "event");
}

static const pl_route_t routes[] = {
    {"GET", "/v1/events", h_list, "events:read", PL_R_TENANT, NULL, 200,
     "The organization's domain events in order (type, after=evt_…, cursor)"},
    {"GET", "/v1/events/{id}", h_get, "events:read", PL_R_TENANT, NULL, 200, "One event"},
    PL_ROUTES_END,
};
static const pl_route_t *const tables[] = {routes, pl_stream_routes, NULL};

int64_t pl_events_retention_ms(const pl_app_t *app)
{
    const pl_events_conf_t *conf = pl_app_conf(app, &pl_events_module);
    return (conf ? conf->retention_days : 30) * 86400000LL;
}

/* Outbox cleanup: events older than the retention that the dispatcher has passed, in
 * batches so that no write transaction is long; each tenant's newest event stays, so a
 * consumer resuming after it still finds its place. (Webhook retries end within days, far
 * inside the retention, so no delivery still needs an event removed here.) */
static int64_t cleanup(pl_app_t *a, pl_db_t *db)
{
    static const char *sql_events =
        "DELETE FROM events WHERE seq IN (SELECT seq FROM events e WHERE e.occurred_at < $1 "
        "AND e.seq <= (SELECT last_seq FROM dispatch_cursor WHERE name = 'dispatcher') "
        "AND e.tenant_seq < (SELECT MAX(tenant_seq) FROM events l WHERE l.tenant_id = e.tenant_id) "
        "ORDER BY e.seq LIMIT 2000)";
    const pl_events_conf_t *conf = pl_app_conf(a, &pl_events_module);
    int64_t before = pl_now_ms() - conf->retention_days * 86400000LL, n = 0;
    int rc;
    do {
        if ((rc = pl_db_exec(db, sql_events, PL_ARGS(PL_INT(before)))) < 0)
            return rc;
        n += rc;
    } while (rc == 2000 && !pl_app_stopping(a));
    return n;
}

static const pl_task_t tasks[] = {
    {"outbox.cleanup", 3600000, cleanup},
    {NULL, 0, NULL},
};

static const pl_option_t options[] = {
    PL_OPTION_LONG(pl_events_conf_t, retention_days, "--event-retention-days", "PLINTH_EVENT_RETENTION_DAYS",
                   1, 3650, "30",
                   "days delivered events, finished webhook deliveries and sent mail are kept (default 30)"),
    PL_OPTIONS_END,
};

const pl_module_t pl_events_module = {
    .name = "events",
    .routes = tables,
    .options = options,
    .conf_size = sizeof(pl_events_conf_t),
    .migrations = PL_MIGRATIONS_OF(events),
    .tasks = tasks,
    .start = pl_dispatcher_start,
    .start_cell = pl_dispatcher_start_cell,
    .stop = pl_dispatcher_stop,
    .worker_init = pl_streams_worker_init,
    .worker_exit = pl_streams_worker_exit,
};
