/*
 * events.h — the events module: reading the outbox and delivering what it holds.
 *
 * The kernel's commit step appends domain events to the outbox (app/outbox.h). This module
 *   - serves them: GET /v1/events (type, after, cursor), GET /v1/events/{id}, and the live
 *     stream GET /v1/stream (Server-Sent Events held by the HTTP workers' loops);
 *   - runs the dispatcher: a thread that reads committed events in commit order and hands
 *     each to every module's consumers (module.h: pl_consumer_t — webhook fan-out, subscriber
 *     jobs …) in one transaction with its cursor (dispatch_cursor), so each consumer sees
 *     every event at least once and dropping one module stops none of the others;
 *   - removes delivered events after --event-retention-days (task outbox.cleanup).
 * Owns dispatch_cursor (events/migrations). Tenant-scoped routes.
 */
#ifndef PL_EVENTS_H
#define PL_EVENTS_H

#include "app/module.h"

extern const pl_module_t pl_events_module;

/* --event-retention-days in ms: how long delivered events, finished webhook deliveries and
 * sent mail are kept (the cleanup tasks of events, webhooks and mail). */
int64_t pl_events_retention_ms(const pl_app_t *app);

/* Glob-style match of an event type against "a.b", "a.*" or "*" patterns (NULL-terminated). */
bool pl_event_matches(const char *const *patterns, const char *type);

#endif
