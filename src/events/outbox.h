/*
 * outbox.h — domain events, written in the same transaction as the change they announce.
 *
 * Owns: events (0004_events.sql). Event: TypeID evt_…, type, tenant, a per-tenant sequence
 * number, occurred_at, and data — the resource as the API shows it, secrets redacted.
 * Routes: GET /v1/events (type, after, cursor), GET /v1/events/{id}. Tenant-scoped.
 */
#ifndef PL_OUTBOX_H
#define PL_OUTBOX_H

#include <jansson.h>

#include "http/ctx.h"

extern const pl_module_t pl_events_module;

/* The event type a mutation announces (from its audit action), or NULL if it announces none. */
const char *pl_event_type_for(const char *audit_action);
/* Appends an event to tenant_id's stream in the current transaction. data is not owned.
 * Returns 0 or PL_EDB. */
int pl_event_emit(pl_ctx_t *c, const char *tenant_id, const char *type, json_t *data);
/* The same outside a request (background threads, jobs), in db's current transaction;
 * request_id may be NULL. */
int pl_event_emit_db(pl_db_t *db, const char *tenant_id, const char *type, json_t *data, const char *request_id);

#endif
