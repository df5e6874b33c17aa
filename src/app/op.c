/*
 * op.c — the operation context and the one commit step (see op.h).
 */
#include "app/op.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "app/audit.h"
#include "app/cells.h"
#include "app/idempotency.h"
#include "app/outbox.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/typeid.h"
#include "core/banned.h"

void pl_op_init(pl_op_t *op, pl_app_t *app, pl_db_t *db, pl_arena_t *arena)
{
    memset(op, 0, sizeof(*op));
    op->app = app;
    op->db = db;
    op->arena = arena;
    pl_err_clear(&op->err);
}

static void forget_changes(pl_op_t *op)
{
    pl_change_t *ch;
    for (ch = op->changes; ch; ch = ch->next) {
        json_decref(ch->before);
        json_decref(ch->after);
        json_decref(ch->event_data);
    }
    op->changes = op->changes_tail = NULL;
}

static void close_sides(pl_op_t *op)
{
    size_t i;
    for (i = 0; i < sizeof(op->side) / sizeof(op->side[0]); i++) {
        if (op->side[i] == NULL)
            continue;
        pl_db_rollback(op->side[i]);
        if (op->side_owned[i])
            pl_db_close(op->side[i]);
        op->side[i] = NULL;
        op->side_owned[i] = false;
    }
}

static bool is_pool(const pl_cell_t *c)
{
    return c == NULL || c->index == 0;
}

/* A read transaction on another database: cell NULL for the control database. */
static pl_db_t *side(pl_op_t *op, const pl_cell_t *cell)
{
    pl_db_t *db = NULL;
    pl_err_t err;
    size_t i, free_slot = sizeof(op->side) / sizeof(op->side[0]);
    bool owned = false;
    if (is_pool(cell) ? is_pool(op->cell) : op->cell == cell)
        return op->db;
    for (i = 0; i < sizeof(op->side) / sizeof(op->side[0]); i++) {
        if (op->side[i] == NULL) {
            if (free_slot == sizeof(op->side) / sizeof(op->side[0]))
                free_slot = i;
            continue;
        }
        if (op->side[i]->store == (cell ? cell->store : pl_app_store(op->app)) &&
            strcmp(pl_db_schema(op->side[i]) ? pl_db_schema(op->side[i]) : "", cell ? cell->schema : "") == 0)
            return op->side[i];
    }
    if (free_slot == sizeof(op->side) / sizeof(op->side[0])) {
        pl_op_fail(op, PL_EINTERNAL, NULL, "too many databases in one operation");
        return NULL;
    }
    pl_err_clear(&err);
    if (op->thread && pl_app_thread_db(op->app, op->thread, cell ? cell : pl_app_pool(op->app), &db) == 0)
        ;
    else if (is_pool(cell) && op->control)
        db = op->control;
    else if (pl_app_connect_cell(op->app, cell ? cell : pl_app_pool(op->app), &db, &err) == 0)
        owned = true;
    else
        db = NULL;
    if (db == NULL || pl_db_in_tx(db) || pl_db_begin(db, PL_TX_READ, op->tenant_id) != 0) {
        if (owned)
            pl_db_close(db);
        pl_op_fail(op, PL_EUNAVAIL, "store_unavailable", "the store is unavailable; retry");
        return NULL;
    }
    op->side[free_slot] = db;
    op->side_owned[free_slot] = owned;
    return db;
}

pl_db_t *pl_op_control(pl_op_t *op)
{
    return side(op, NULL);
}

pl_db_t *pl_op_home(pl_op_t *op, const char *tenant_id)
{
    const pl_cell_t *home;
    pl_db_t *control = pl_op_control(op);
    if (control == NULL)
        return NULL;
    if (pl_app_home(op->app, control, tenant_id, &home) != 0) {
        pl_op_fail(op, PL_EDB, NULL, "the tenant directory could not be read");
        return NULL;
    }
    return side(op, is_pool(home) ? NULL : home);
}

pl_db_t *pl_op_db_of(pl_op_t *op, const pl_module_t *m, const char *tenant_id)
{
    return m && m->control_plane ? pl_op_control(op) : pl_op_home(op, tenant_id);
}

void pl_op_release(pl_op_t *op)
{
    close_sides(op);
    forget_changes(op);
    json_decref(op->problem_extra);
    op->problem_extra = NULL;
}

int pl_op_fail(pl_op_t *op, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    char msg[sizeof(op->err.message)];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return pl_err_set(&op->err, status, code, "%s", msg);
}

int pl_op_begin(pl_op_t *op, pl_txmode_t mode, const char *tenant_id)
{
    int rc = pl_db_begin(op->db, mode, tenant_id);
    if (rc == PL_EMOVED)
        return pl_op_fail(op, PL_EMOVED, NULL, "the organization's data is moving to another cell; retry");
    if (rc != 0)
        return pl_op_fail(op, PL_EUNAVAIL, "store_unavailable", "the store is unavailable; retry");
    return 0;
}

int pl_op_record(pl_op_t *op, const pl_change_t *change)
{
    pl_change_t *ch = pl_alloc(op->arena, sizeof(*ch));
    *ch = *change;
    ch->next = NULL;
    if (ch->resource_id) /* it may point into a JSON value the handler changes later */
        ch->resource_id = pl_strdup(op->arena, ch->resource_id);
    json_incref(ch->before);
    json_incref(ch->after);
    json_incref(ch->event_data);
    if (op->changes_tail)
        op->changes_tail->next = ch;
    else
        op->changes = ch;
    op->changes_tail = ch;
    return 0;
}

const char *pl_op_actor(const pl_op_t *op)
{
    return op->principal ? pl_principal_actor(op->principal) : NULL;
}

static const char *actor_type(const pl_op_t *op)
{
    if (op->actor_type)
        return op->actor_type;
    if (op->principal == NULL)
        return "system";
    return op->principal->kind == PL_PRINCIPAL_APIKEY ? "api_key" : "user";
}

/* Entries written in the pool for a tenant whose home is another cell are queued for the
 * relay, in the same transaction (cells.h). */
static int queue_relay(pl_op_t *op, const char *tenant)
{
    static const char *sql = "INSERT INTO relay_queue (tenant_id, queued_at) VALUES ($1, $2) "
                             "ON CONFLICT (tenant_id) DO NOTHING";
    const pl_cell_t *home;
    if (!is_pool(op->cell) || pl_app_ncells(op->app) < 2)
        return 0;
    if (pl_app_home_now(op->app, op->db, tenant, &home) != 0)
        return pl_op_fail(op, PL_EDB, NULL, "the tenant directory could not be read");
    if (is_pool(home))
        return 0;
    if (pl_db_exec(op->db, sql, PL_ARGS(PL_TEXT(tenant), PL_INT(pl_now_ms()))) < 0)
        return pl_op_fail(op, PL_EDB, NULL, "the relay of the tenant's entries could not be queued");
    return 0;
}

/* The audit entry and the event of one change. */
static int write_change(pl_op_t *op, const pl_change_t *ch)
{
    const char *tenant = ch->tenant_id   ? ch->tenant_id
                         : op->tenant_id ? op->tenant_id
                                         : pl_app_platform_tenant(op->app);
    const char *event = ch->event, *dot = strchr(ch->action, '.');
    char rtype[64];
    pl_audit_entry_t e;
    snprintf(rtype, sizeof(rtype), "%.*s", dot ? (int)(dot - ch->action) : (int)strlen(ch->action),
             ch->action);
    e = (pl_audit_entry_t){
        .tenant_id = tenant,
        .actor_type = ch->actor_type ? ch->actor_type : actor_type(op),
        .actor_id = ch->actor_id ? ch->actor_id : pl_op_actor(op),
        .action = ch->action,
        .resource_type = ch->resource_type ? ch->resource_type : rtype,
        .resource_id = ch->resource_id,
        .before = ch->before,
        .after = ch->after,
        .request_id = op->request_id[0] ? op->request_id : NULL,
        .ip = op->ip,
        .user_agent = op->user_agent,
    };
    if (pl_audit_append(op->app, op->db, &e) != 0)
        return pl_op_fail(op, PL_EDB, NULL, "the audit entry could not be written");
    if (queue_relay(op, tenant) != 0)
        return op->err.status;
    if (event == NULL)
        event = pl_app_event_declared(op->app, ch->action) ? ch->action : "";
    if (*event == '\0')
        return 0;
    if (!pl_app_event_declared(op->app, event)) {
        pl_logf(PL_LOG_ERROR, "undeclared event type", "%s", event);
        return pl_op_fail(op, PL_EINTERNAL, NULL, "the event type '%s' is not declared by any module", event);
    }
    if (ch->event_tenant && strcmp(ch->event_tenant, tenant) != 0 && queue_relay(op, ch->event_tenant) != 0)
        return op->err.status;
    if (pl_outbox_append(op->app, op->db, ch->event_tenant ? ch->event_tenant : tenant, event,
                         ch->event_data ? ch->event_data
                         : ch->after    ? ch->after
                                        : ch->before,
                         e.request_id, NULL) != 0)
        return pl_op_fail(op, PL_EDB, NULL, "the event could not be written");
    return 0;
}

int pl_op_commit(pl_op_t *op)
{
    pl_change_t *ch;
    int rc = 0;
    if (!pl_db_in_tx(op->db)) {
        if (op->changes == NULL && op->idem_key == NULL)
            return 0;
        /* a change and its entries commit together or not at all: never in a second transaction */
        forget_changes(op);
        pl_log(PL_LOG_ERROR, "changes recorded outside a transaction", NULL);
        return pl_op_fail(op, PL_EINTERNAL, NULL, "the operation recorded changes outside its transaction");
    }
    for (ch = op->changes; ch && rc == 0; ch = ch->next)
        rc = write_change(op, ch);
    if (rc == 0 && op->idem_key &&
        pl_idempotency_store(op->db, op->tenant_id, op->idem_key, op->idem_status, op->idem_type,
                             op->idem_body, op->idem_len) != 0)
        rc = pl_op_fail(op, PL_EDB, NULL, "the response could not be stored for the idempotency key");
    if (rc == 0 && pl_db_commit(op->db) != 0)
        rc = pl_op_fail(op, PL_EDB, NULL, "the transaction could not be committed");
    if (rc != 0)
        pl_db_rollback(op->db);
    forget_changes(op);
    if (rc == 0 && op->auth_changed)
        pl_app_auth_changed(op->app);
    return rc;
}

void pl_op_abort(pl_op_t *op)
{
    pl_db_rollback(op->db);
    forget_changes(op);
}

char *pl_op_new_id(pl_op_t *op, const char *prefix)
{
    char *id = pl_alloc(op->arena, PL_TYPEID_MAX);
    pl_typeid_new(prefix, id);
    return id;
}

char *pl_op_json_text(pl_op_t *op, json_t *v, const char *dflt)
{
    char *s, *copy;
    if (v == NULL)
        return dflt ? pl_strdup(op->arena, dflt) : NULL;
    s = json_dumps(v, JSON_COMPACT);
    copy = pl_strdup(op->arena, s ? s : "null");
    free(s);
    return copy;
}
