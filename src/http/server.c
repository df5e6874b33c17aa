/*
 * server.c — process setup and the worker threads.
 *
 * The main thread opens the store, applies migrations, prepares the platform (signing
 * keys, platform tenant), builds the router, binds one listening socket and starts N
 * workers. Each worker runs its own h2o event loop over a dup of the listening socket
 * and its own store connection. The main thread then waits for SIGINT/SIGTERM, asks the
 * workers to stop, lets open connections drain (up to two seconds) and tears down.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/typeid.h"
#include "jobs/jobs.h"
#include "events/stream.h"
#include "events/webhooks.h"
#include "http/idempotency.h"
#include "http/openapi.h"
#include "http/quota.h"
#include "http/ratelimit.h"
#include "http/pipeline.h"
#include "platform/auth.h"
#include "platform/platform.h"
#include "core/banned.h"

typedef struct {
    h2o_handler_t super;
} pl_h2o_handler_t;

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    return pl_pipeline_handle((pl_worker_t *)req->conn->ctx, req);
}

/*
 * h2o answers some malformed requests itself before any handler runs (a body above its
 * entity limit, broken chunked encoding). Those responses are bound to the host's fallback
 * path; this filter, registered there, replaces their plain-text body with problem+json so
 * that every error a client sees has the same shape.
 */
typedef struct {
    h2o_ostream_t super;
    h2o_iovec_t body;
} problem_ostream_t;

static void problem_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n,
                         h2o_send_state_t state)
{
    problem_ostream_t *p = (problem_ostream_t *)self;
    (void)bufs;
    (void)n;
    if (h2o_send_state_is_in_progress(state)) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    h2o_ostream_send_next(self, req, &p->body, 1, state);
}

static void on_setup_problem(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    (void)self;
    if (req->res.status >= 400) {
        int st = req->res.status;
        const char *code = st == 413 ? "payload_too_large" : st == 400 ? "validation_failed" : "error";
        const char *detail = st == 413 ? "the request body is too large" : "the HTTP request is malformed";
        char rid[PL_TYPEID_MAX];
        problem_ostream_t *p;
        char *body = h2o_mem_alloc_pool(&req->pool, 512);
        int len;
        pl_typeid_new("req", rid);
        len = snprintf(body, 512,
                       "{\"type\":\"urn:plinth:problem:%s\",\"title\":\"%s\",\"status\":%d,\"detail\":\"%s\","
                       "\"code\":\"%s\",\"request_id\":\"%s\"}\n",
                       code, st == 413 ? "Payload too large" : "Bad request", st, detail, code, rid);
        h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
                       H2O_STRLIT("application/problem+json"), 1);
        req->res.content_length = (size_t)len;
        p = (problem_ostream_t *)h2o_add_ostream(req, sizeof(*p), slot);
        p->super.do_send = problem_send;
        p->body = h2o_iovec_init(body, (size_t)len);
        slot = &p->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

pl_server_t *pl_server_create(const pl_config_t *cfg, const pl_module_t *const *modules, size_t nmodules,
                              char *errbuf, size_t errlen)
{
    pl_server_t *s = calloc(1, sizeof(*s));
    pl_err_t err;
    int applied = 0;
    pl_db_t *db = NULL;
    if (s == NULL)
        abort();
    pl_err_clear(&err);
    s->cfg = *cfg;
    s->listen_fd = -1;
    atomic_init(&s->auth_gen, 1);
    atomic_init(&s->stop, false);
    if (pl_crypto_init() != 0) {
        snprintf(errbuf, errlen, "libsodium failed to initialise");
        goto fail;
    }
    {
        static const char *names[] = {"--rate-limit-tenant", "--rate-limit-key", "--rate-limit-ip"};
        int i;
        for (i = 0; i < 3; i++)
            if (pl_ratelimit_parse(cfg->rate_limit[i], &s->rl_rate[i], &s->rl_burst[i]) != 0) {
                snprintf(errbuf, errlen, "%s: '%s' is not RATE:BURST or 0", names[i], cfg->rate_limit[i]);
                goto fail;
            }
    }
    s->ratelimit = pl_ratelimit_memory();
    s->quota = pl_quota_create();
    if (pl_store_open(&s->store, cfg, &err) != 0 || pl_store_migrate(s->store, &applied, &err) != 0 ||
        pl_db_connect(s->store, &db, &err) != 0 || pl_platform_init(s, db, &err) != 0) {
        snprintf(errbuf, errlen, "%s", err.message);
        goto fail;
    }
    pl_db_close(db);
    s->modules = modules;
    s->nmodules = nmodules;
    s->router = pl_router_create(modules, nmodules);
    s->openapi = pl_openapi_render(s->router, &s->openapi_len);
    return s;
fail:
    pl_db_close(db);
    pl_server_destroy(s);
    return NULL;
}

int64_t (*pl_server_usage(const pl_server_t *s, const char *limit))(pl_db_t *, const char *)
{
    size_t m;
    const pl_usage_t *u;
    for (m = 0; m < s->nmodules; m++)
        for (u = s->modules[m]->usage; u && u->limit; u++)
            if (strcmp(u->limit, limit) == 0)
                return u->count;
    return NULL;
}

void pl_server_auth_changed(pl_server_t *s)
{
    atomic_fetch_add(&s->auth_gen, 1);
}

static int bind_listener(pl_server_t *s)
{
    char host[128], port_s[16];
    int port, fd = -1, one = 1;
    struct addrinfo hints, *res = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char addr[INET6_ADDRSTRLEN];

    if (pl_config_listen(&s->cfg, host, sizeof(host), &port) != 0) {
        pl_logf(PL_LOG_ERROR, "bad --listen", "'%s' is not HOST:PORT", s->cfg.listen);
        return -1;
    }
    snprintf(port_s, sizeof(port_s), "%d", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(host, port_s, &hints, &res) != 0 || res == NULL) {
        pl_logf(PL_LOG_ERROR, "cannot resolve listen address", "%s", s->cfg.listen);
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        pl_logf(PL_LOG_ERROR, "cannot listen", "%s: %s", s->cfg.listen, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (ss.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
        snprintf(s->bound, sizeof(s->bound), "[%s]:%d", addr, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
    } else {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
        snprintf(s->bound, sizeof(s->bound), "%s:%d", addr, ntohs(((struct sockaddr_in *)&ss)->sin_port));
    }
    s->listen_fd = fd;
    return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    pl_worker_t *w = listener->data;
    h2o_socket_t *sock;
    if (err != NULL)
        return;
    if ((sock = h2o_evloop_socket_accept(listener)) == NULL)
        return;
    h2o_accept(&w->accept, sock);
}

static bool has_connections(pl_worker_t *w)
{
    return !h2o_linklist_is_empty(&w->h2o.http1._conns) || !h2o_linklist_is_empty(&w->h2o.http2._conns);
}

static void *worker_main(void *arg)
{
    pl_worker_t *w = arg;
    pl_server_t *s = w->srv;
    h2o_evloop_t *loop = w->h2o.loop;
    int64_t deadline;

    pl_streams_attach(w);
    w->listener = h2o_evloop_socket_create(loop, dup(s->listen_fd), H2O_SOCKET_FLAG_DONT_READ);
    w->listener->data = w;
    h2o_socket_read_start(w->listener, on_accept);
    while (!atomic_load(&s->stop))
        h2o_evloop_run(loop, 100);

    /* stop accepting, then let in-flight requests finish and idle connections close */
    h2o_socket_read_stop(w->listener);
    h2o_socket_close(w->listener);
    w->listener = NULL;
    pl_streams_close_all(w);
    h2o_context_request_shutdown(&w->h2o);
    /* h2o 2.2 has no shutdown hook for idle HTTP/1 keep-alive connections: expiring the
     * keep-alive timeout now makes the loop close them on its next turn. */
    w->h2o.http1.req_timeout.timeout = 0;
    deadline = (int64_t)h2o_now(loop) + 2000;
    while (has_connections(w) && (int64_t)h2o_now(loop) < deadline)
        h2o_evloop_run(loop, 50);
    pl_streams_detach(w);
    /* the HTTP/2 graceful-shutdown timer is armed even with no HTTP/2 connection left */
    if (h2o_timeout_is_linked(&w->h2o.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&w->h2o.http2._graceful_shutdown_timeout);
    return NULL;
}

/* This process's API-call counters go to the store every second, on their own connection.
 * (Work that must run once per period across processes is a scheduled task: jobs/jobs.h.) */
static void *maintenance_main(void *arg)
{
    pl_server_t *s = arg;
    pl_db_t *db = NULL;
    pl_err_t err;
    int tick = 0;
    pl_err_clear(&err);
    if (pl_db_connect(s->store, &db, &err) != 0) {
        pl_log(PL_LOG_ERROR, "maintenance: no store connection", NULL);
        return NULL;
    }
    while (!atomic_load(&s->stop)) {
        usleep(200000);
        if (++tick % 5 == 0)
            pl_quota_flush(s->quota, db);
    }
    pl_quota_flush(s->quota, db);
    pl_db_close(db);
    return NULL;
}

int pl_server_run(pl_server_t *s)
{
    h2o_hostconf_t *host;
    h2o_pathconf_t *path;
    pl_h2o_handler_t *handler;
    sigset_t set;
    int i, sig = 0;
    long n = s->cfg.workers;
    pl_err_t err;
    char fields[PATH_MAX + 512];

    if (bind_listener(s) != 0)
        return 1;
    if (s->cfg.public_url[0])
        snprintf(s->public_base, sizeof(s->public_base), "%s", s->cfg.public_url);
    else
        snprintf(s->public_base, sizeof(s->public_base), "http://%s", s->bound);
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;

    h2o_config_init(&s->h2o_config);
    /* h2o answers bodies above its own limit with a bare 413; ours, lower, answers with
     * problem+json, so h2o's is set well above it. */
    s->h2o_config.max_request_entity_size = (size_t)s->cfg.max_body * 4;
    s->h2o_config.server_name = h2o_iovec_init(H2O_STRLIT("plinth"));
    host = h2o_config_register_host(&s->h2o_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    path = h2o_config_register_path(host, "/", 0);
    handler = (pl_h2o_handler_t *)h2o_create_handler(path, sizeof(*handler));
    handler->super.on_req = on_req;
    h2o_create_filter(&host->fallback_path, sizeof(h2o_filter_t))->on_setup_ostream = on_setup_problem;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    s->nworkers = (int)n;
    s->workers = calloc((size_t)n, sizeof(pl_worker_t));
    if (s->workers == NULL)
        abort();
    for (i = 0; i < s->nworkers; i++) {
        pl_worker_t *w = &s->workers[i];
        w->srv = s;
        w->id = i;
        pl_err_clear(&err);
        if (pl_db_connect(s->store, &w->db, &err) != 0) {
            pl_log(PL_LOG_ERROR, err.message, NULL);
            return 1;
        }
        w->authcache = pl_authcache_create();
        h2o_context_init(&w->h2o, h2o_evloop_create(), &s->h2o_config);
        w->accept.ctx = &w->h2o;
        w->accept.hosts = s->h2o_config.hosts;
        pthread_create(&w->thread, NULL, worker_main, w);
    }
    pthread_create(&s->maintenance, NULL, maintenance_main, s);
    s->maintenance_started = true;
    pl_webhooks_start(s);
    pl_jobs_start(s);
    s->started_ms = pl_now_ms();
    snprintf(fields, sizeof(fields), "\"address\":\"%s\",\"workers\":%d,\"data_dir\":\"%s\",\"store\":\"%s\"",
             s->bound, s->nworkers, s->cfg.data_dir, pl_store_dialect(s->store));
    pl_log(PL_LOG_INFO, "listening", fields);

    while (sigwait(&set, &sig) != 0)
        ;
    pl_logf(PL_LOG_INFO, "shutting down", "signal %d", sig);
    atomic_store(&s->stop, true);
    for (i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i].thread, NULL);
    if (s->maintenance_started)
        pthread_join(s->maintenance, NULL);
    pl_webhooks_stop(s);
    pl_jobs_stop(s);
    return 0;
}

const char *pl_server_public_url(const pl_server_t *s)
{
    return s->public_base;
}

void pl_server_destroy(pl_server_t *s)
{
    int i;
    if (s == NULL)
        return;
    for (i = 0; s->workers && i < s->nworkers; i++) {
        pl_worker_t *w = &s->workers[i];
        if (w->h2o.loop) {
            h2o_evloop_t *loop = w->h2o.loop;
            h2o_context_dispose(&w->h2o);
            h2o_evloop_run(loop, 0); /* completes the deferred close of the context's queue socket */
            h2o_evloop_destroy(loop);
        }
        pl_authcache_destroy(w->authcache);
        pl_db_close(w->db);
    }
    free(s->workers);
    if (s->nworkers)
        h2o_config_dispose(&s->h2o_config);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    pl_platform_shutdown(s);
    if (s->ratelimit)
        s->ratelimit->destroy(s->ratelimit);
    pl_quota_destroy(s->quota);
    pl_router_destroy(s->router);
    free(s->openapi);
    pl_store_close(s->store);
    free(s);
}
