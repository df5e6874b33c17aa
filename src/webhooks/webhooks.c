/*
 * webhooks.c — webhook endpoints and deliveries (routes) and the module's descriptor. The
 * SSRF guard and endpoint reads live in endpoint.c, the fan-out and the sender in delivery.c.
 */
#include "webhooks/webhooks.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "platform/platform.h"
#include "webhooks/internal.h"
#include "core/banned.h"

/* ---- routes ---- */

static json_t *endpoint_get(pl_ctx_t *c, const char *id)
{
    return pl_webhook_endpoint_get(c->db, c->tenant_id, id);
}

static const char *check_url(const char *v)
{
    return strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0 ? NULL
                                                                           : "must be an http or https URL";
}

static void check_events(pl_ctx_t *c, json_t *events)
{
    size_t i;
    for (i = 0; i < json_array_size(events); i++) {
        const char *e = json_string_value(json_array_get(events, i)), *p;
        bool ok = e != NULL;
        for (p = e; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || *p == '_' || *p == '.' || *p == '*';
        if (!ok) {
            char f[32];
            snprintf(f, sizeof(f), "events[%zu]", i);
            pl_err_field(&c->err, f, "must be an event type (member.created), a family (member.*) or *");
        }
    }
}

static const pl_field_t create_fields[] = {
    {"url", PL_T_STRING, PL_F_REQUIRED, 8, 2048, NULL, NULL, "http(s) URL that receives POSTs", check_url},
    {"events", PL_T_ARRAY, PL_F_REQUIRED, 1, 50, NULL, NULL, "event types, families (member.*) or *", NULL},
    {"description", PL_T_STRING, 0, 0, 500, NULL, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
static const pl_schema_t create_schema = {"WebhookEndpointCreate", create_fields, false};
static const char *const statuses[] = {"enabled", "disabled", NULL};
static const pl_field_t update_fields[] = {
    {"url", PL_T_STRING, 0, 8, 2048, NULL, NULL, NULL, check_url},
    {"events", PL_T_ARRAY, 0, 1, 50, NULL, NULL, NULL, NULL},
    {"description", PL_T_STRING, 0, 0, 500, NULL, NULL, NULL, NULL},
    {"status", PL_T_ENUM, 0, 0, 0, statuses, NULL, "enabling clears the failure state", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
static const pl_schema_t update_schema = {"WebhookEndpointUpdate", update_fields, false};

static void new_secret(char *out, size_t n)
{
    uint8_t raw[32];
    size_t len;
    randombytes_buf(raw, sizeof(raw));
    snprintf(out, n, "whsec_");
    len = strlen(out);
    sodium_bin2base64(out + len, n - len, raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(raw, sizeof(raw));
}

static int h_create(pl_ctx_t *c)
{
    static const char *sql =
        "INSERT INTO webhook_endpoints (id, tenant_id, url, description, events, secret, "
        "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
    const char *url = pl_json_str(c->body, "url"), *desc = pl_json_str(c->body, "description"), *why;
    char *id = pl_new_id(c, "whe"), secret[80], *events;
    json_t *out;
    check_events(c, json_object_get(c->body, "events"));
    if ((why = pl_webhook_url_check(url, pl_webhooks_conf(c->app)->allow_private)) != NULL)
        pl_err_field(&c->err, "url", "%s", why);
    if (c->err.status != PL_OK)
        return c->err.status;
    if (pl_limit_check(&c->op, "webhook_endpoints", 1) != 0)
        return c->err.status;
    new_secret(secret, sizeof(secret));
    events = pl_json_text(c, json_object_get(c->body, "events"), "[]");
    if (pl_db_exec(c->db, sql,
                   PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_TEXT(url), PL_TEXT(desc ? desc : ""),
                           PL_TEXT(events), PL_TEXT(secret), PL_INT(pl_now_ms()))) < 0)
        return pl_fail(c, PL_EDB, NULL, "the endpoint could not be saved");
    if ((out = endpoint_get(c, id)) == NULL)
        return pl_fail(c, PL_EDB, NULL, "the endpoint could not be read back");
    pl_record(c, id, NULL, out); /* the secret added below is redacted in the entry and the event */
    json_object_set_new(out, "secret", json_string(secret));
    return pl_reply(c, 201, out);
}

static int h_list(pl_ctx_t *c)
{
    return pl_reply_list(c, PL_LIST_BY_ID_SQL(PL_WEBHOOK_ENDPOINT_COLS, "webhook_endpoints"),
                         PL_COUNT_SQL("webhook_endpoints"), pl_webhook_endpoint_json, "id");
}

static int h_get(pl_ctx_t *c)
{
    json_t *e = endpoint_get(c, pl_param(c, 0));
    return e ? pl_reply(c, 200, e) : pl_fail_notfound(c, "webhook endpoint");
}

static int h_patch(pl_ctx_t *c)
{
    static const char *sql =
        "UPDATE webhook_endpoints SET url = COALESCE($3, url), events = COALESCE($4, events), "
        "description = COALESCE($5, description), status = COALESCE($6, status), "
        "failing_since = CASE WHEN $6 = 'enabled' THEN NULL ELSE failing_since END, "
        "disabled_reason = CASE WHEN $6 IS NULL THEN disabled_reason WHEN $6 = 'enabled' THEN NULL "
        "ELSE 'disabled by the organization' END, updated_at = $7 WHERE id = $1 AND tenant_id = $2";
    const char *id = pl_param(c, 0), *url = pl_json_str(c->body, "url"), *why;
    json_t *ev = json_object_get(c->body, "events"), *before, *after;
    char *events = NULL;
    if ((before = endpoint_get(c, id)) == NULL)
        return pl_fail_notfound(c, "webhook endpoint");
    pl_arena_defer(c->arena, (void (*)(void *))json_decref, before);
    if (ev)
        check_events(c, ev);
    if (url && (why = pl_webhook_url_check(url, pl_webhooks_conf(c->app)->allow_private)) != NULL)
        pl_err_field(&c->err, "url", "%s", why);
    if (c->err.status != PL_OK)
        return c->err.status;
    events = pl_json_text(c, ev, NULL);
    if (pl_db_exec(c->db, sql,
                   PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_TEXT(url), PL_TEXT(events),
                           PL_TEXT(pl_json_str(c->body, "description")),
                           PL_TEXT(pl_json_str(c->body, "status")), PL_INT(pl_now_ms()))) < 0 ||
        (after = endpoint_get(c, id)) == NULL)
        return pl_fail(c, PL_EDB, NULL, "the endpoint could not be saved");
    pl_record(c, id, before, after);
    return pl_reply(c, 200, after);
}

static int h_delete(pl_ctx_t *c)
{
    static const char *sql = "DELETE FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2";
    static const char *sql_d =
        "UPDATE webhook_deliveries SET state = 'failed', last_error = 'endpoint deleted', "
        "next_attempt_at = NULL WHERE endpoint_id = $1 AND tenant_id = $2 AND state = 'pending'";
    const char *id = pl_param(c, 0);
    json_t *before = endpoint_get(c, id);
    int n;
    if (before == NULL)
        return pl_fail_notfound(c, "webhook endpoint");
    n = pl_db_exec(c->db, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id)));
    if (n != 1 || pl_db_exec(c->db, sql_d, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id))) < 0) {
        json_decref(before);
        return pl_fail(c, PL_EDB, NULL, "the endpoint could not be deleted");
    }
    return pl_reply_deleted(c, id, before);
}

static int h_rotate(pl_ctx_t *c)
{
    static const char *sql =
        "UPDATE webhook_endpoints SET secret = $3, updated_at = $4 WHERE id = $1 AND tenant_id = $2";
    const char *id = pl_param(c, 0);
    char secret[80];
    json_t *out;
    if (!pl_id_ok(id, "whe"))
        return pl_fail_notfound(c, "webhook endpoint");
    new_secret(secret, sizeof(secret));
    if (pl_db_exec(c->db, sql,
                   PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_TEXT(secret), PL_INT(pl_now_ms()))) != 1)
        return pl_fail_notfound(c, "webhook endpoint");
    if ((out = endpoint_get(c, id)) == NULL)
        return pl_fail(c, PL_EDB, NULL, "the endpoint could not be read back");
    pl_record(c, id, NULL, out);
    json_object_set_new(out, "secret", json_string(secret));
    return pl_reply(c, 200, out);
}

#define DCOLS                                                                                                \
    "d.id, d.endpoint_id, d.event_id, e.type, d.state, d.attempts, d.last_status, d.last_duration_ms, "      \
    "d.last_error, d.next_attempt_at, d.created_at, d.updated_at"

static json_t *delivery_json(pl_rows_t *r)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "id", pl_rows_text(r, 0),
                     "endpoint_id", pl_rows_text(r, 1), "event_id", pl_rows_text(r, 2), "event_type",
                     pl_json_str_or_null(pl_rows_text(r, 3)), "status", pl_rows_text(r, 4), "attempts",
                     (json_int_t)pl_rows_int(r, 5), "response_status",
                     pl_rows_null(r, 6) ? json_null() : json_integer(pl_rows_int(r, 6)), "duration_ms",
                     pl_rows_null(r, 7) ? json_null() : json_integer(pl_rows_int(r, 7)), "last_error",
                     pl_json_str_or_null(pl_rows_text(r, 8)), "next_attempt_at", pl_json_time_or_null(r, 9),
                     "created_at", pl_json_time(pl_rows_int(r, 10)), "updated_at",
                     pl_json_time(pl_rows_int(r, 11)));
}

static int h_deliveries(pl_ctx_t *c)
{
    static const char *sql =
        "SELECT " DCOLS " FROM webhook_deliveries d LEFT JOIN events e ON e.id = d.event_id "
        "WHERE d.tenant_id = $1 AND d.endpoint_id = $4 AND ($2 IS NULL OR d.id < $2) "
        "ORDER BY d.id DESC LIMIT $3";
    static const char *sql_n =
        "SELECT COUNT(*) FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2";
    const char *id = pl_param(c, 0);
    json_t *e = endpoint_get(c, id), *data;
    pl_page_t pg;
    int64_t total = -1;
    if (e == NULL)
        return pl_fail_notfound(c, "webhook endpoint");
    json_decref(e);
    if (pl_page_parse(c, &pg) != 0)
        return c->err.status;
    data = pl_query_all(c->db, delivery_json, sql,
                        PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(pg.after), PL_INT(pg.limit + 1), PL_TEXT(id)));
    if (data == NULL)
        return pl_fail(c, PL_EDB, NULL, "the deliveries could not be read");
    if (pg.include_total)
        pl_db_int(c->db, &total, sql_n, PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(id)));
    return pl_reply(c, 200, pl_page_envelope(c, &pg, data, "id", total));
}

static int h_retry(pl_ctx_t *c)
{
    /* a pending delivery waiting for its next attempt is moved to now; one being sent right
     * now (leased) is left to its sender */
    static const char *sql =
        "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $3, lease_until = NULL, "
        "updated_at = $3 WHERE id = $1 AND tenant_id = $2 AND (state <> 'pending' OR lease_until IS NULL "
        "OR lease_until < $3)";
    static const char *sql_get =
        "SELECT " DCOLS " FROM webhook_deliveries d LEFT JOIN events e ON e.id = d.event_id "
        "WHERE d.id = $1 AND d.tenant_id = $2";
    const char *id = pl_param(c, 0);
    json_t *d, *after;
    int n;
    if (!pl_id_ok(id, "whd") || (d = pl_query_one(c->db, delivery_json, sql_get,
                                                  PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id)))) == NULL)
        return pl_fail_notfound(c, "webhook delivery");
    n = pl_db_exec(c->db, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_INT(pl_now_ms())));
    if (n == 0) {
        json_decref(d);
        return pl_fail(c, PL_ECONFLICT, "delivery_in_flight", "the delivery is being sent right now");
    }
    if (n < 0 || (after = pl_query_one(c->db, delivery_json, sql_get,
                                       PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id)))) == NULL) {
        json_decref(d);
        return pl_fail(c, PL_EDB, NULL, "the delivery could not be queued again");
    }
    pl_record(c, id, d, after);
    json_decref(d);
    return pl_reply(c, 202, after);
}

static int h_replay(pl_ctx_t *c)
{
    static const char *sql = "SELECT seq FROM events WHERE id = $1 AND tenant_id = $2";
    const char *id = pl_param(c, 0);
    int64_t seq = 0;
    json_t *out;
    int n;
    if (!pl_id_ok(id, "evt") || pl_db_int(c->db, &seq, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id))) != 1)
        return pl_fail_notfound(c, "event");
    if ((n = pl_webhook_fan_out(c->db, seq, c->tenant_id)) < 0)
        return pl_fail(c, PL_EDB, NULL, "the event could not be replayed");
    out = json_pack("{s:s,s:i}", "event_id", id, "deliveries", n);
    pl_record_change(c, (pl_change_t){.resource_type = "event", .resource_id = id, .after = out});
    return pl_reply(c, 202, out);
}

static int64_t count_endpoints(pl_app_t *app, pl_db_t *db, const char *tenant_id)
{
    static const char *sql = "SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = $1";
    int64_t n = 0;
    return pl_db_int(db, &n, sql, PL_ARGS(PL_TEXT(tenant_id))) == 1 ? n : -1;
}

static const pl_route_t routes[] = {
    {"POST", "/v1/webhook-endpoints", h_create, "webhooks:manage", PL_R_TENANT, &create_schema, 201,
     "Create a webhook endpoint (the signing secret is shown once)", "webhook_endpoint.created"},
    {"GET", "/v1/webhook-endpoints", h_list, "webhooks:read", PL_R_TENANT, NULL, 200,
     "List webhook endpoints"},
    {"GET", "/v1/webhook-endpoints/{id}", h_get, "webhooks:read", PL_R_TENANT, NULL, 200,
     "Get a webhook endpoint"},
    {"PATCH", "/v1/webhook-endpoints/{id}", h_patch, "webhooks:manage", PL_R_TENANT, &update_schema, 200,
     "Change a webhook endpoint (url, events, description, status)", "webhook_endpoint.updated"},
    {"DELETE", "/v1/webhook-endpoints/{id}", h_delete, "webhooks:manage", PL_R_TENANT, NULL, 204,
     "Delete a webhook endpoint", "webhook_endpoint.deleted"},
    {"POST", "/v1/webhook-endpoints/{id}/rotate-secret", h_rotate, "webhooks:manage", PL_R_TENANT, NULL, 200,
     "Replace the signing secret (shown once)", "webhook_endpoint.secret_rotated"},
    {"GET", "/v1/webhook-endpoints/{id}/deliveries", h_deliveries, "webhooks:read", PL_R_TENANT, NULL, 200,
     "The delivery log of an endpoint, newest first"},
    {"POST", "/v1/webhook-deliveries/{id}/retry", h_retry, "webhooks:manage", PL_R_TENANT, NULL, 202,
     "Try a delivery again now", "webhook_delivery.retried"},
    {"POST", "/v1/events/{id}/replay", h_replay, "webhooks:manage", PL_R_TENANT, NULL, 202,
     "Deliver an event again to the matching webhook endpoints", "event.replayed"},
    PL_ROUTES_END,
};
static const pl_route_t *const tables[] = {routes, NULL};
static const pl_usage_t usage[] = {{"webhook_endpoints", count_endpoints}, {NULL, NULL}};

static const pl_option_t options[] = {
    PL_OPTION_BOOL(
        pl_webhooks_conf_t, allow_private, "--allow-private-webhooks", "PLINTH_ALLOW_PRIVATE_WEBHOOKS", "off",
        "on: webhook URLs may target loopback and private networks (default off: refused as SSRF)"),
    PL_OPTION_STR(
        pl_webhooks_conf_t, retries, "--webhook-retries", "PLINTH_WEBHOOK_RETRIES",
        "5,300,1800,7200,18000,36000,36000,36000,36000,36000,36000,36000",
        "seconds between webhook attempts (default 5,300,1800,7200,18000,36000×7: about three days)"),
    PL_OPTION_LONG(pl_webhooks_conf_t, disable_after, "--webhook-disable-after",
                   "PLINTH_WEBHOOK_DISABLE_AFTER", 1, 365L * 86400, "432000",
                   "seconds an endpoint may fail continuously before it is disabled and the tenant notified "
                   "(default 432000: five days)"),
    PL_OPTION_LONG(pl_webhooks_conf_t, lease, "--webhook-lease", "PLINTH_WEBHOOK_LEASE", 2, 3600, "10",
                   "seconds a node holds a delivery it claimed, renewed while the request runs; the "
                   "deliveries of a node that died are taken over after it (default 10)"),
    PL_OPTIONS_END,
};

static const pl_event_type_t events[] = {
    {"webhook_endpoint.created", "a webhook endpoint was created"},
    {"webhook_endpoint.updated", "a webhook endpoint was changed"},
    {"webhook_endpoint.deleted", "a webhook endpoint was deleted"},
    {"webhook_endpoint.disabled", "an endpoint failing for too long was switched off"},
    {NULL, NULL},
};

static const char *const secret_prefixes[] = {"whsec_", NULL};

const pl_webhooks_conf_t *pl_webhooks_conf(const pl_app_t *app)
{
    return pl_app_conf(app, &pl_webhooks_module);
}

PL_MIGRATIONS_DECLARE(webhooks);

static int webhooks_start(pl_app_t *app, pl_err_t *err)
{
    pl_webhooks_t *w = pl_webhook_sender_start(app, pl_webhooks_conf(app), err);
    if (w == NULL)
        return err->status ? err->status : PL_EINTERNAL;
    pl_app_set_state(app, &pl_webhooks_module, w);
    return 0;
}

static int webhooks_start_cell(pl_app_t *app, const pl_cell_t *cell, pl_err_t *err)
{
    return pl_webhook_sender_cell(pl_app_state(app, &pl_webhooks_module), cell, err);
}

static void webhooks_stop(pl_app_t *app)
{
    pl_webhook_sender_stop(pl_app_state(app, &pl_webhooks_module));
    pl_app_set_state(app, &pl_webhooks_module, NULL);
}

const pl_module_t pl_webhooks_module = {
    .name = "webhooks",
    .routes = tables,
    .options = options,
    .conf_size = sizeof(pl_webhooks_conf_t),
    .migrations = PL_MIGRATIONS_OF(webhooks),
    .events = events,
    .redact_prefixes = secret_prefixes,
    .consumers = pl_webhook_consumers,
    .tasks = pl_webhook_tasks,
    .usage = usage,
    .start = webhooks_start,
    .start_cell = webhooks_start_cell,
    .stop = webhooks_stop,
};
