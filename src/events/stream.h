/*
 * stream.h — GET /v1/stream: the tenant's domain events as Server-Sent Events, live.
 *
 * Each HTTP worker keeps its open streams in a list (no thread per client). Every 250 ms the
 * worker reads the events committed since its last look — one query for all its streams —
 * and writes each to the streams of its tenant. A client that reconnects with Last-Event-ID
 * first receives what it missed, from the outbox, without gaps. A comment line every 15 s
 * keeps proxies from closing an idle stream. Owned by the worker; created and destroyed on
 * the worker's thread.
 */
#ifndef PL_STREAM_H
#define PL_STREAM_H

#include "http/router.h"

typedef struct pl_worker pl_worker_t;

extern const pl_module_t pl_stream_module;

void pl_streams_attach(pl_worker_t *w);
/* Ends every open stream of the worker (server shutdown). */
void pl_streams_close_all(pl_worker_t *w);
void pl_streams_detach(pl_worker_t *w);

#endif
