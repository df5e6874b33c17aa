/*
 * server.h — the HTTP transport's own objects: its options, its state and the workers.
 * Internal to src/http/ (modules see http/http.h and http/ctx.h).
 *
 * Threads: N workers, each an h2o event loop with its own store connection, all accepting
 * on one listening socket; handlers run on the loop thread and are synchronous. A
 * maintenance thread flushes API-call counters once a second.
 */
#ifndef PL_SERVER_H
#define PL_SERVER_H

#include <h2o.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "http/router.h"
#include "store/store.h"

typedef struct pl_http_conf {
    char listen[128];       /* HOST:PORT; port 0 picks a free one (logged) */
    long workers;           /* 0: one per core */
    long max_body;          /* bytes */
    char rate_limit[4][32]; /* tenant, key, ip, auth failures per ip: "RATE:BURST" per second, or "0" (off) */
} pl_http_conf_t;

typedef struct pl_http pl_http_t;

typedef struct pl_worker {
    h2o_context_t h2o; /* first member: the pipeline recovers the worker from req->conn->ctx */
    pl_http_t *http;
    pl_thread_t thread; /* the modules' per-worker slots */
    pthread_t tid;
    bool running;     /* its thread was started (and must be joined) */
    bool slots_ready; /* worker_init ran */
    pl_db_t *db;
    h2o_accept_ctx_t accept;
    h2o_socket_t *listener;
} pl_worker_t;

struct pl_http {
    pl_app_t *app;
    pl_authenticate_fn authenticate; /* the module that turns credentials into principals */
    const pl_http_conf_t *conf;
    pl_router_t *router;
    h2o_globalconf_t h2o_config;
    bool h2o_ready;
    int listen_fd;
    char bound[128]; /* the address actually bound, e.g. 127.0.0.1:43121 */
    int nworkers;
    pl_worker_t *workers;
    struct pl_ratelimit *ratelimit; /* token buckets (memory now; shared store later) */
    double rl_rate[4], rl_burst[4]; /* default buckets: tenant, key, ip, auth failures (0: off) */
    struct pl_quota *quota;         /* API calls per tenant per day and month */
    pthread_t maintenance;
    bool maintenance_started;
    char *openapi; /* the OpenAPI document, rendered once from the router */
    size_t openapi_len;
};

#endif
