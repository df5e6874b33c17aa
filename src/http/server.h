/*
 * server.h — the server object: configuration, store, router, signing keys and the HTTP
 * workers. It is the only mutable state that outlives a request; it is created by
 * `plinth serve`, owned by main, and everything else reaches it through pl_ctx_t.
 *
 * Threads: N workers, each an h2o event loop with its own store connection, all
 * accepting on one listening socket. Handlers run on the loop thread and are synchronous.
 */
#ifndef PL_SERVER_H
#define PL_SERVER_H

#include <h2o.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "http/router.h"
#include "store/store.h"

typedef struct pl_tokens pl_tokens_t;
typedef struct pl_authcache pl_authcache_t;

typedef struct pl_worker {
    h2o_context_t h2o; /* first member: the pipeline recovers the worker from req->conn->ctx */
    struct pl_server *srv;
    int id;
    pthread_t thread;
    pl_db_t *db;
    h2o_accept_ctx_t accept;
    h2o_socket_t *listener;
    pl_authcache_t *authcache;
    struct pl_streams *streams; /* open event streams of this worker (events/stream.h) */
} pl_worker_t;

typedef struct pl_server {
    pl_config_t cfg;
    pl_store_t *store;
    pl_router_t *router;
    pl_tokens_t *tokens;
    /* Bumped whenever a credential or a role may have lost validity (logout, revocation,
     * role change, suspension): every worker empties its auth cache when it sees a new value. */
    _Atomic uint64_t auth_gen;
    atomic_bool stop;
    h2o_globalconf_t h2o_config;
    int listen_fd;
    char bound[128];      /* the address actually bound, e.g. 127.0.0.1:43121 */
    char public_base[300]; /* --public-url, or http://<bound> */
    int nworkers;
    pl_worker_t *workers;
    char platform_tenant[64]; /* id of the platform tenant (operators) */
    const pl_module_t *const *modules;
    size_t nmodules;
    struct pl_ratelimit *ratelimit; /* token buckets (memory now; shared store later) */
    double rl_rate[3], rl_burst[3]; /* default buckets: tenant, key, ip (0: off) */
    struct pl_quota *quota;         /* API calls per tenant per day and month */
    pthread_t maintenance;          /* flushes counters, expires idempotency keys */
    struct pl_webhooks *webhooks;   /* dispatcher and sender threads (events/webhooks.h) */
    struct pl_jobs *jobs;           /* job runner and scheduler threads (jobs/jobs.h) */
    bool maintenance_started;
    char *openapi; /* the OpenAPI document, rendered once from the router */
    size_t openapi_len;
    int64_t started_ms;
} pl_server_t;

/* Builds the server (store opened and migrated, platform prepared, router built from the
 * modules). Returns NULL with a message in errbuf. */
pl_server_t *pl_server_create(const pl_config_t *cfg, const pl_module_t *const *modules, size_t nmodules,
                              char *errbuf, size_t errlen);
/* Listens and runs until SIGINT/SIGTERM; returns 0 on a clean stop. */
int pl_server_run(pl_server_t *s);
void pl_server_destroy(pl_server_t *s);
/* The external base URL for links in emails and notifications. */
const char *pl_server_public_url(const pl_server_t *s);
/* Invalidate every cached credential on every worker. */
void pl_server_auth_changed(pl_server_t *s);
/* The usage meter of a plan limit, or NULL. */
int64_t (*pl_server_usage(const pl_server_t *s, const char *limit))(pl_db_t *, const char *);

#endif
