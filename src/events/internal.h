/*
 * internal.h — shared by the events module's files only (events.c, stream.c, dispatcher.c).
 */
#ifndef PL_EVENTS_INTERNAL_H
#define PL_EVENTS_INTERNAL_H

#include "events/events.h"
#include "http/ctx.h"

typedef struct pl_events_conf {
    long retention_days; /* delivered events older than this are removed */
} pl_events_conf_t;

/* GET /v1/stream (stream.c) and its per-worker state: the open streams of a worker. */
extern const pl_route_t pl_stream_routes[];
int pl_streams_worker_init(pl_app_t *app, pl_thread_t *t, void **slot);
void pl_streams_worker_exit(pl_app_t *app, pl_thread_t *t, void *slot);

/* The dispatcher thread (dispatcher.c). */
int pl_dispatcher_start(pl_app_t *app, pl_err_t *err);
int pl_dispatcher_start_cell(pl_app_t *app, const pl_cell_t *cell, pl_err_t *err);
void pl_dispatcher_stop(pl_app_t *app);

#endif
