/*
 * outbox.h — appending domain events to the transactional outbox (the kernel's events
 * table), and per-tenant sequence numbers.
 *
 * The commit step (app/op.h) appends the events of an operation's changes in the same
 * transaction as the changes. Event: TypeID evt_…, type, tenant, a per-tenant sequence
 * number (1, 2, 3 … without gaps: a rolled-back number is given again), occurred_at, and
 * data — the resource as the API shows it, secrets redacted. Reading and delivering the
 * events is the events module's (events/events.h).
 */
#ifndef PL_APP_OUTBOX_H
#define PL_APP_OUTBOX_H

#include <jansson.h>

#include "app/app.h"
#include "store/store.h"

/* Appends an event in db's open write transaction. data is not owned (NULL: {}).
 * id_out (PL_TYPEID_MAX) may be NULL. Returns 0 or PL_EDB. */
int pl_outbox_append(pl_app_t *app, pl_db_t *db, const char *tenant_id, const char *type, json_t *data,
                     const char *request_id, char *id_out);

/* Appends an event written first in another database (the relay, a move): its id, type,
 * data text (already redacted), request id and time are kept; it gets this tenant's next
 * number here. Returns 0, or PL_EDB. */
int pl_outbox_append_copy(pl_db_t *db, const char *id, const char *tenant_id, const char *type,
                          const char *data, const char *request_id, int64_t occurred_at);

#endif
