/*
 * notifications.c — in-app notifications (see notifications.h): the inbox routes, pl_notify(),
 * and the "notifications" subscriber that turns events people must hear about into
 * notifications and emails.
 */
#include "notifications/notifications.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/typeid.h"
#include "http/ctx.h"
#include "mail/mail.h"
#include "platform/platform.h"
#include "jobs/jobs.h"
#include "core/banned.h"

int pl_notify(pl_op_t *op, const char *tenant_id, const char *user_id, const char *type, const char *title,
              const char *body, json_t *data)
{
    pl_db_t *db = op->db, *control = user_id ? NULL : pl_op_control(op);
    static const char *sql_ins =
        "INSERT INTO notifications (id, tenant_id, user_id, type, title, body, data, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    char *text = data ? json_dumps(data, JSON_COMPACT) : strdup("{}");
    int64_t now = pl_now_ms();
    json_t *users = user_id   ? json_pack("[{s:s}]", "user_id", user_id)
                    : control ? pl_tenant_admins(control, tenant_id)
                              : NULL;
    size_t i;
    int n = users ? 0 : PL_EDB;
    for (i = 0; n >= 0 && i < json_array_size(users); i++) {
        char id[PL_TYPEID_MAX];
        pl_typeid_new("ntf", id);
        if (pl_db_exec(db, sql_ins,
                       PL_ARGS(PL_TEXT(id), PL_TEXT(tenant_id),
                               PL_TEXT(pl_json_str(json_array_get(users, i), "user_id")), PL_TEXT(type),
                               PL_TEXT(title), PL_TEXT(body), PL_TEXT(text), PL_INT(now))) < 0)
            n = PL_EDB;
        else
            n++;
    }
    free(text);
    json_decref(users);
    return n;
}

/* ---- routes ---- */

#define COLS "id, type, title, body, data, created_at, read_at"

static json_t *notification_json(pl_rows_t *r)
{
    json_t *data = json_loads(pl_rows_text(r, 4), 0, NULL);
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:b}", "id", pl_rows_text(r, 0), "type",
                     pl_rows_text(r, 1), "title", pl_rows_text(r, 2), "body", pl_rows_text(r, 3), "data",
                     data ? data : json_object(), "created_at", pl_json_time(pl_rows_int(r, 5)), "read_at",
                     pl_json_time_or_null(r, 6), "read", !pl_rows_null(r, 6));
}

/* Notifications are addressed to people: an API key has an empty inbox. */
static const char *inbox(pl_ctx_t *c)
{
    return c->principal->kind == PL_PRINCIPAL_USER ? c->principal->user_id : NULL;
}

static int h_list(pl_ctx_t *c)
{
    static const char *sql =
        "SELECT " COLS " FROM notifications WHERE tenant_id = $1 AND user_id = $2 "
        "AND ($3 IS NULL OR id < $3) AND ($4 = 0 OR read_at IS NULL) ORDER BY id DESC LIMIT $5";
    static const char *sql_unread =
        "SELECT count(*) FROM notifications WHERE tenant_id = $1 AND user_id = $2 "
        "AND read_at IS NULL";
    static const char *sql_n = "SELECT count(*) FROM notifications WHERE tenant_id = $1 AND user_id = $2 "
                               "AND ($3 = 0 OR read_at IS NULL)";
    const char *unread = pl_query(c, "unread");
    pl_page_t pg;
    json_t *data, *env;
    int64_t count = 0, total = -1;
    if (unread && strcmp(unread, "true") && strcmp(unread, "false"))
        pl_err_field(&c->err, "unread", "must be true or false");
    if (pl_page_parse(c, &pg) != 0 || c->err.status != PL_OK)
        return c->err.status ? c->err.status : PL_EINVAL;
    data = pl_query_all(c->db, notification_json, sql,
                        PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(inbox(c)), PL_TEXT(pg.after),
                                PL_INT(unread && strcmp(unread, "true") == 0), PL_INT(pg.limit + 1)));
    if (data == NULL ||
        pl_db_int(c->db, &count, sql_unread, PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(inbox(c)))) < 0 ||
        (pg.include_total && pl_db_int(c->db, &total, sql_n,
                                       PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(inbox(c)),
                                               PL_INT(unread && strcmp(unread, "true") == 0))) != 1)) {
        json_decref(data);
        return pl_fail(c, PL_EDB, NULL, "the notifications could not be read");
    }
    env = pl_page_envelope(c, &pg, data, "id", total);
    json_object_set_new(env, "unread_count", json_integer(count));
    return pl_reply(c, 200, env);
}

static int h_read(pl_ctx_t *c)
{
    static const char *sql = "UPDATE notifications SET read_at = COALESCE(read_at, $4) WHERE id = $1 "
                             "AND tenant_id = $2 AND user_id = $3";
    static const char *sql_get =
        "SELECT " COLS " FROM notifications WHERE id = $1 AND tenant_id = $2 AND user_id = $3";
    const char *id = pl_param(c, 0);
    json_t *before;
    int rc;
    if (!pl_id_ok(id, "ntf") || inbox(c) == NULL ||
        (before = pl_query_one(c->db, notification_json, sql_get,
                               PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_TEXT(inbox(c))))) == NULL)
        return pl_fail_notfound(c, "notification");
    rc = pl_db_exec(c->db, sql,
                    PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_TEXT(inbox(c)), PL_INT(pl_now_ms())));
    if (rc != 1) {
        json_decref(before);
        return pl_fail(c, PL_EDB, NULL, "the notification could not be updated");
    }
    return pl_reply_change(c, 200, id, before,
                           pl_query_one(c->db, notification_json, sql_get,
                                        PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_TEXT(inbox(c)))));
}

static int h_read_all(pl_ctx_t *c)
{
    static const char *sql = "UPDATE notifications SET read_at = $3 WHERE tenant_id = $1 AND user_id = $2 "
                             "AND read_at IS NULL";
    int rc = pl_db_exec(c->db, sql, PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(inbox(c)), PL_INT(pl_now_ms())));
    if (rc < 0)
        return pl_fail(c, PL_EDB, NULL, "the notifications could not be updated");
    return pl_reply_change(c, 200, NULL, NULL, json_pack("{s:i}", "marked_read", rc));
}

/* ---- the subscriber ---- */

static const char *const watched[] = {"webhook_endpoint.disabled", NULL};

/* Everyone who manages the organization hears that an endpoint was switched off, in the app
 * and by email. */
static int on_event(pl_op_t *op, const pl_event_t *ev)
{
    const char *url = pl_json_str(ev->data, "url"), *reason = pl_json_str(ev->data, "disabled_reason");
    const char *title = "A webhook endpoint was disabled";
    char *body;
    json_t *data, *emails = NULL;
    pl_db_t *control = NULL;
    size_t i;
    int rc = 0;
    body =
        pl_printf(op->arena,
                  "Plinth stopped sending events to %s because it has been %s. Fix the receiver, then "
                  "enable the endpoint again (PATCH /v1/webhook-endpoints/%s {\"status\":\"enabled\"}) and "
                  "replay what it missed.",
                  url ? url : "an endpoint", reason ? reason : "failing", pl_json_str(ev->data, "id"));
    data = json_pack("{s:s,s:s?,s:s}", "endpoint_id", pl_json_str(ev->data, "id"), "url", url, "event_id",
                     ev->id);
    if (pl_notify(op, ev->tenant_id, NULL, ev->type, title, body, data) < 0)
        rc = pl_op_fail(op, PL_EDB, NULL, "the notifications could not be written");
    json_decref(data);
    if (rc == 0 && (control = pl_op_control(op)) == NULL)
        rc = op->err.status;
    if (rc == 0 && (emails = pl_tenant_admins(control, ev->tenant_id)) == NULL)
        rc = pl_op_fail(op, PL_EDB, NULL, "the admins could not be read");
    for (i = 0; rc == 0 && i < json_array_size(emails); i++) {
        pl_mail_msg_t m = {.brand = pl_tenant_brand(control, op->arena, ev->tenant_id),
                           .subject = title,
                           .text = body,
                           .action_label = "Open the endpoint",
                           .action_url = pl_printf(op->arena, "%s/console/#/webhooks/%s",
                                                   pl_app_public_url(op->app), pl_json_str(ev->data, "id"))};
        rc = pl_mail_send(op, ev->tenant_id, pl_json_str(json_array_get(emails, i), "email"), &m);
    }
    json_decref(emails);
    return rc;
}

static const pl_subscriber_t subscribers[] = {
    {"notifications", watched, on_event},
    {NULL, NULL, NULL},
};

static const pl_route_t routes[] = {
    {"GET", "/v1/notifications", h_list, NULL, PL_R_TENANT, NULL, 200,
     "The caller's notifications, newest first (unread=true, cursor), with unread_count"},
    {"POST", "/v1/notifications/{id}/read", h_read, NULL, PL_R_TENANT, NULL, 200, "Mark a notification read",
     "notification.read"},
    {"POST", "/v1/notifications/read-all", h_read_all, NULL, PL_R_TENANT, NULL, 200,
     "Mark all of the caller's notifications read", "notification.read_all"},
    PL_ROUTES_END,
};
static const pl_route_t *const tables[] = {routes, NULL};

PL_MIGRATIONS_DECLARE(notifications);

const pl_module_t pl_notifications_module = {
    .name = "notifications",
    .routes = tables,
    .migrations = PL_MIGRATIONS_OF(notifications),
    .subscribers = subscribers,
};
