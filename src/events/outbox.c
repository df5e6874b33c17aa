/*
 * outbox.c — writing domain events and reading them back (see outbox.h).
 */
#include "events/outbox.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "events/audit.h"
#include "http/server.h"
#include "jobs/jobs.h"
#include "core/banned.h"

/* audit action → event type, for the mutations that announce something */
static const struct {
    const char *action, *type;
} announced[] = {
    {"auth.signup", "tenant.created"},
    {"tenant.created", "tenant.created"},
    {"tenant.updated", "tenant.updated"},
    {"tenant.suspended", "tenant.suspended"},
    {"tenant.reactivated", "tenant.reactivated"},
    {"tenant.plan_changed", "tenant.plan_changed"},
    {"user.invited", "user.invited"},
    {"invitation.accepted", "team.member_added"},
    {"invitation.revoked", "invitation.revoked"},
    {"team.role_changed", "team.role_changed"},
    {"team.member_removed", "team.member_removed"},
    {"api_key.created", "api_key.created"},
    {"api_key.revoked", "api_key.revoked"},
    {"member.created", "member.created"},
    {"member.updated", "member.updated"},
    {"member.deleted", "member.deleted"},
    {"member.bulk", "member.bulk_updated"},
    {"member.imported", "member.imported"},
    {"member.activity_recorded", "member.activity_recorded"},
    {"membership_type.created", "membership_type.created"},
    {"membership_type.updated", "membership_type.updated"},
    {"membership_type.deleted", "membership_type.deleted"},
    {NULL, NULL},
};

const char *pl_event_type_for(const char *audit_action)
{
    int i;
    for (i = 0; announced[i].action; i++)
        if (strcmp(announced[i].action, audit_action) == 0)
            return announced[i].type;
    return NULL;
}

int pl_event_emit(pl_ctx_t *c, const char *tenant_id, const char *type, json_t *data)
{
    return pl_event_emit_db(c->db, tenant_id, type, data, c->request_id);
}

int pl_event_emit_db(pl_db_t *db, const char *tenant_id, const char *type, json_t *data, const char *request_id)
{
    static const char *sql_next = "SELECT COALESCE(MAX(tenant_seq), 0) + 1 FROM events WHERE tenant_id = $1";
    static const char *sql_ins =
        "INSERT INTO events (id, tenant_id, tenant_seq, type, data, request_id, occurred_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)";
    json_t *clean = data ? pl_json_redact(data) : json_object();
    char *text = json_dumps(clean, JSON_COMPACT);
    int64_t next = 1;
    int rc = PL_EDB;
    char id[PL_TYPEID_MAX];
    json_decref(clean);
    pl_typeid_new("evt", id);
    if (text && pl_db_int(db, &next, sql_next, PL_ARGS(PL_TEXT(tenant_id))) == 1 &&
        pl_db_exec(db, sql_ins,
                   PL_ARGS(PL_TEXT(id), PL_TEXT(tenant_id), PL_INT(next), PL_TEXT(type), PL_TEXT(text),
                           PL_TEXT(request_id), PL_INT(pl_now_ms()))) == 1)
        rc = 0;
    free(text);
    return rc;
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
        "AND ($3 IS NULL OR type = $3 OR type LIKE $3 || '.%') ORDER BY tenant_seq LIMIT $4";
    static const char *sql_after = "SELECT tenant_seq FROM events WHERE tenant_id = $1 AND id = $2";
    const char *type = pl_query(c, "type"), *after = pl_query(c, "after");
    int64_t from = 0;
    pl_page_t pg;
    json_t *data, *env;
    bool has_more;
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
    if (data == NULL)
        return pl_fail(c, PL_EDB, NULL, "the events could not be read");
    has_more = json_array_size(data) > (size_t)pg.limit;
    if (has_more)
        json_array_remove(data, (size_t)pg.limit);
    env = json_pack(
        "{s:o,s:b,s:o}", "data", data, "has_more", has_more, "next_cursor",
        has_more ? json_string(pl_cursor_encode(
                       c, pl_printf(c->arena, "%lld",
                                    (long long)json_integer_value(json_object_get(
                                        json_array_get(data, json_array_size(data) - 1), "sequence")))))
                 : json_null());
    return pl_reply(c, 200, env);
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
static const pl_route_t *const tables[] = {routes, NULL};

/* Outbox cleanup: events older than the retention that every consumer is done with (the
 * dispatcher has passed them and no delivery of them is pending), in batches so that no
 * write transaction is long; each tenant's newest event stays, so its sequence goes on.
 * Then finished deliveries, subscriber receipts and sent mail past the retention. */
static int64_t cleanup(pl_server_t *s, pl_db_t *db)
{
    static const char *sql_events =
        "DELETE FROM events WHERE seq IN (SELECT seq FROM events e WHERE e.occurred_at < $1 "
        "AND e.seq <= (SELECT last_seq FROM dispatch_cursor WHERE name = 'webhooks') "
        "AND e.tenant_seq < (SELECT MAX(tenant_seq) FROM events l WHERE l.tenant_id = e.tenant_id) "
        "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.state = 'pending') "
        "ORDER BY e.seq LIMIT 2000)";
    static const char *const sql_rest[] = {
        "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND updated_at < $1",
        "DELETE FROM subscriber_receipts WHERE processed_at < $1",
        "DELETE FROM mail_outbox WHERE state <> 'pending' AND created_at < $1",
        NULL,
    };
    int64_t before = pl_now_ms() - s->cfg.event_retention_days * 86400000LL, n = 0, rest;
    int rc;
    do {
        if ((rc = pl_db_exec(db, sql_events, PL_ARGS(PL_INT(before)))) < 0)
            return rc;
        n += rc;
    } while (rc == 2000 && !atomic_load(&s->stop));
    rest = pl_task_exec_all(db, sql_rest, before);
    return rest < 0 ? rest : n + rest;
}

static const pl_task_t tasks[] = {
    {"outbox.cleanup", 3600000, cleanup},
    {NULL, 0, NULL},
};

const pl_module_t pl_events_module = {"events", tables, NULL, NULL, NULL, tasks};
