/*
 * pipeline.h — the gateway pipeline: the path of every request, in one place.
 */
#ifndef PL_PIPELINE_H
#define PL_PIPELINE_H

#include <h2o.h>

#include "http/server.h"

/* Runs one request through every stage and sends the response. Always returns 0. */
int pl_pipeline_handle(pl_worker_t *w, h2o_req_t *req);

#endif
