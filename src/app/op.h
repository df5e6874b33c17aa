/*
 * op.h — the operation context and the commit step.
 *
 * Every unit of domain work — an HTTP request, a job, a subscriber handling an event, a CLI
 * command — runs on a pl_op_t: the application, the arena everything it allocates lives in,
 * its store connection and transaction, the tenant it acts in, who acts (principal), the
 * error it fills, a request id and where it came from. Nothing in it knows HTTP; the HTTP
 * context (http/ctx.h) embeds one.
 *
 * Domain code records what it changed — pl_op_record(): an audit action, the resource, its
 * state before and after, and the domain event it announces. pl_op_commit() is the one
 * commit step: in the operation's open write transaction it appends an audit entry per
 * change (the tenant's hash chain), an outbox event per announced change, and the stored
 * response of an idempotent request, then commits — all or nothing. On any failure it
 * rolls back and the operation answers an error; a failed operation writes nothing (except
 * when it asks to keep its changes: op->keep_on_error, e.g. revoking a session family on a
 * refresh-token replay while answering 401).
 *
 * Lifetime: a pl_op_t lives as long as its arena; pl_op_release() drops the JSON references
 * the recorded changes hold. Not thread-safe: one op, one thread.
 */
#ifndef PL_OP_H
#define PL_OP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "app/principal.h"
#include "core/arena.h"
#include "core/err.h"
#include "store/store.h"

typedef struct pl_change {
    const char *action;        /* audit action: "member.updated" */
    const char *event;         /* event type; NULL: the action, if a module declares it; "": none */
    const char *tenant_id;     /* the audit entry's tenant; NULL: the operation's (else the platform's) */
    const char *event_tenant;  /* the event's tenant; NULL: tenant_id */
    const char *resource_type; /* NULL: the action up to its first dot */
    const char *resource_id;
    json_t *before, *after; /* borrowed: pl_op_record takes its own references */
    json_t *event_data;     /* the event's data; NULL: after, else before */
    const char *actor_type; /* NULL: from the principal ("user", "api_key", "operator") or "system" */
    const char *actor_id;
    struct pl_change *next;
} pl_change_t;

/* The members every operation has. The HTTP context repeats them in an anonymous struct
 * inside a union with a pl_op_t, so handler code writes c->db while domain code gets &c->op. */
#define PL_OP_FIELDS                                                                                         \
    pl_app_t *app;                                                                                           \
    pl_thread_t *thread; /* the serving thread's module slots, or NULL */                                    \
    pl_arena_t *arena;                                                                                       \
    pl_db_t *db;                                                                                             \
    const struct pl_cell *cell; /* the cell db reaches; NULL: the control database (the pool) */             \
    pl_db_t *control;           /* when db is another cell's: a control-database connection, or NULL */      \
    pl_db_t *side[3];           /* read transactions on other databases (pl_op_control, pl_op_home) */       \
    bool side_owned[3];                                                                                      \
    const char *tenant_id;           /* the tenant it acts in, or NULL (control plane) */                    \
    const pl_principal_t *principal; /* NULL: anonymous, the system or the CLI */                            \
    const char *actor_type;          /* overrides the principal's kind in audit entries */                   \
    pl_err_t err;                                                                                            \
    json_t *problem_extra; /* members added to the error answer (limit, value, usage …) */                 \
    char request_id[129];                                                                                    \
    const char *ip;                                                                                          \
    const char *user_agent;                                                                                  \
    pl_change_t *changes, *changes_tail;                                                                     \
    bool auth_changed; /* credentials or roles changed: caches are emptied after the commit */               \
    bool keep_on_error;                                                                                      \
    /* an idempotent request: the key claimed and the response to store with the commit */                   \
    const char *idem_key;                                                                                    \
    int idem_status;                                                                                         \
    const char *idem_type, *idem_body;                                                                       \
    size_t idem_len;

struct pl_op {
    PL_OP_FIELDS
};
typedef struct pl_op pl_op_t;

/* A fresh operation on db (no transaction open), its arena, in no tenant. */
void pl_op_init(pl_op_t *op, pl_app_t *app, pl_db_t *db, pl_arena_t *arena);
/* Drops the references the recorded changes and the problem's extra members hold. */
void pl_op_release(pl_op_t *op);

/* Fills op->err and returns status. */
int pl_op_fail(pl_op_t *op, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Opens the operation's transaction in tenant_id's context; fills op->err on failure. */
int pl_op_begin(pl_op_t *op, pl_txmode_t mode, const char *tenant_id);
/* Records a change to write with the commit. Returns 0. */
int pl_op_record(pl_op_t *op, const pl_change_t *change);
/* The commit step (see above). A read transaction is simply committed. Returns 0, or a
 * negative status with op->err filled after rolling back. */
int pl_op_commit(pl_op_t *op);
/* Rolls back whatever is open and forgets the recorded changes. */
void pl_op_abort(pl_op_t *op);

/* Reads across the planes (app/cells.h). The connection, with a read transaction in the
 * operation's tenant context, to the control database (its tables: tenants, plans, users …)
 * or to a tenant's home cell (its data); op->db itself when that is the same database. A
 * second connection is the serving thread's, else op->control, else a new one closed by
 * pl_op_release. NULL with op->err filled when the store fails. */
pl_db_t *pl_op_control(pl_op_t *op);
pl_db_t *pl_op_home(pl_op_t *op, const char *tenant_id);
/* Where a module's tables of the tenant are: the control database for a control-plane
 * module, else the tenant's home. */
pl_db_t *pl_op_db_of(pl_op_t *op, const pl_module_t *m, const char *tenant_id);

/* A new TypeID in the arena. */
char *pl_op_new_id(pl_op_t *op, const char *prefix);
/* Compact JSON text of v in the arena; dflt (may be NULL) when v is NULL. */
char *pl_op_json_text(pl_op_t *op, json_t *v, const char *dflt);
/* The acting id: the user's or API key's, or NULL. */
const char *pl_op_actor(const pl_op_t *op);

#endif
