/*
 * activities.c — what members do (check-ins, classes, purchases …): recorded per member,
 * listed newest first; recording one moves the member's last_activity_at forward.
 */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "modules/members/internal.h"
#include "core/banned.h"

#define COLS "id, member_id, type, occurred_at, properties, created_at"

static json_t *activity_json(pl_rows_t *r)
{
    json_t *props = json_loads(pl_rows_text(r, 4), 0, NULL);
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "id", pl_rows_text(r, 0), "member_id", pl_rows_text(r, 1),
                     "type", pl_rows_text(r, 2), "occurred_at", pl_json_time(pl_rows_int(r, 3)), "properties",
                     props ? props : json_object(), "created_at", pl_json_time(pl_rows_int(r, 5)));
}

static const char *check_type(const char *v)
{
    const char *p;
    for (p = v; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
            return "may contain only a-z, 0-9, '_', '.' and '-'";
    return NULL;
}

static const char *check_time(const char *v)
{
    int64_t ms;
    if (pl_rfc3339_parse(v, &ms) != 0)
        return "must be an RFC 3339 timestamp";
    return ms > pl_now_ms() + 24LL * 3600 * 1000 ? "must not be more than a day in the future" : NULL;
}

static const pl_field_t create_fields[] = {
    {"type", PL_T_STRING, PL_F_REQUIRED, 1, 64, NULL, NULL, "e.g. check_in, class.booked", check_type},
    {"occurred_at", PL_T_STRING, 0, 1, 40, NULL, NULL, "RFC 3339; default now", check_time},
    {"properties", PL_T_OBJECT, 0, 0, 8192, NULL, NULL, "at most 8 KiB as JSON", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
static const pl_schema_t create_schema = {"ActivityCreate", create_fields, false};

static int h_create(pl_ctx_t *c)
{
    static const char *ins =
        "INSERT INTO member_activities (id, tenant_id, member_id, type, occurred_at, properties, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING " COLS;
    static const char *touch =
        "UPDATE members SET last_activity_at = CASE WHEN last_activity_at IS NULL OR last_activity_at < $1 "
        "THEN $1 ELSE last_activity_at END WHERE id = $2 "
        "AND tenant_id = $3";
    const char *mid = pl_param(c, 0), *when = pl_json_str(c->body, "occurred_at");
    json_t *props = json_object_get(c->body, "properties"), *m, *out = NULL;
    int64_t now = pl_now_ms(), at = now;
    char *p;
    pl_rows_t *r;
    if ((m = pl_member_get(&c->op, mid, false)) == NULL)
        return pl_fail_notfound(c, "member");
    json_decref(m);
    if (when)
        pl_rfc3339_parse(when, &at);
    p = pl_json_text(c, props, "{}");
    if (pl_db_query(c->db, &r, ins,
                    PL_ARGS(PL_TEXT(pl_new_id(c, "act")), PL_TEXT(c->tenant_id), PL_TEXT(mid),
                            PL_TEXT(pl_json_str(c->body, "type")), PL_INT(at), PL_TEXT(p), PL_INT(now))) != 0)
        return pl_fail(c, PL_EDB, NULL, "the activity could not be recorded");
    if (pl_rows_next(r) == 1)
        out = activity_json(r);
    pl_rows_close(r);
    if (out == NULL ||
        pl_db_exec(c->db, touch, PL_ARGS(PL_INT(at), PL_TEXT(mid), PL_TEXT(c->tenant_id))) < 0) {
        json_decref(out);
        return pl_fail(c, PL_EDB, NULL, "the activity could not be recorded");
    }
    return pl_reply_change(c, 201, pl_json_str(out, "id"), NULL, out);
}

static int h_list(pl_ctx_t *c)
{
    static const char *sql = "SELECT " COLS " FROM member_activities WHERE tenant_id = $1 AND member_id = $4 "
                             "AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3";
    static const char *sql_n =
        "SELECT COUNT(*) FROM member_activities WHERE tenant_id = $1 AND member_id = $2";
    const char *mid = pl_param(c, 0);
    json_t *m = pl_member_get(&c->op, mid, false), *data, *env;
    pl_page_t pg;
    pl_rows_t *r;
    int64_t total = -1;
    if (m == NULL)
        return pl_fail_notfound(c, "member");
    json_decref(m);
    if (pl_page_parse(c, &pg) != 0)
        return c->err.status;
    if (pl_db_query(c->db, &r, sql,
                    PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(pg.after), PL_INT(pg.limit + 1), PL_TEXT(mid))) !=
        0)
        return pl_fail(c, PL_EDB, NULL, "the activities could not be listed");
    data = json_array();
    while (pl_rows_next(r) == 1)
        json_array_append_new(data, activity_json(r));
    pl_rows_close(r);
    if (pg.include_total)
        pl_db_int(c->db, &total, sql_n, PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(mid)));
    env = pl_page_envelope(c, &pg, data, "id", total);
    return pl_reply(c, 200, env);
}

const pl_route_t pl_member_activity_routes[] = {
    {"GET", "/v1/members/{id}/activities", h_list, "members:read", PL_R_TENANT, NULL, 200,
     "A member's activities, newest first"},
    {"POST", "/v1/members/{id}/activities", h_create, "members:write", PL_R_TENANT, &create_schema, 201,
     "Record an activity of a member", "member.activity_recorded"},
    PL_ROUTES_END,
};
