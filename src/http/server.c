/*
 * server.c — the HTTP transport module (see http.h): options, start-up and the workers.
 *
 * init builds the router from every module's routes and renders the OpenAPI document;
 * start binds one listening socket and starts N workers, each running its own h2o event
 * loop over a dup of the socket with its own store connection and the modules' per-worker
 * slots. stop: the workers see the application stopping, stop accepting, let open
 * connections drain (up to two seconds), run the modules' worker_exit hooks and return; the
 * loops are disposed only after their threads were joined.
 */
#include "http/http.h"
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/typeid.h"
#include "http/openapi.h"
#include "http/pipeline.h"
#include "http/quota.h"
#include "http/ratelimit.h"
#include "core/banned.h"

PL_MIGRATIONS_DECLARE(http);

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

static int bind_listener(pl_http_t *s, pl_err_t *err)
{
    char host[128], port_s[16];
    int port, fd = -1, one = 1;
    struct addrinfo hints, *res = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char addr[INET6_ADDRSTRLEN];

    if (pl_config_hostport(s->conf->listen, host, sizeof(host), &port) != 0)
        return pl_err_set(err, PL_EINVAL, NULL, "--listen: '%s' is not HOST:PORT", s->conf->listen);
    snprintf(port_s, sizeof(port_s), "%d", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(host, port_s, &hints, &res) != 0 || res == NULL)
        return pl_err_set(err, PL_EINVAL, NULL, "--listen: cannot resolve '%s'", s->conf->listen);
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        pl_err_set(err, PL_EINVAL, NULL, "cannot listen on %s: %s", s->conf->listen, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return PL_EINVAL;
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

static const pl_option_t options[] = {
    PL_OPTION_STR(pl_http_conf_t, listen, "--listen", "PLINTH_LISTEN", "127.0.0.1:8080",
                  "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 picks a free port)"),
    PL_OPTION_LONG(pl_http_conf_t, workers, "--workers", "PLINTH_WORKERS", 0, 256, "0",
                   "HTTP worker threads (default: number of cores)"),
    PL_OPTION_LONG(pl_http_conf_t, max_body, "--max-body", "PLINTH_MAX_BODY", 1024, 64L * 1024 * 1024,
                   "1048576", "largest accepted request body in bytes (default 1048576)"),
    PL_OPTION_STR(pl_http_conf_t, rate_limit[0], "--rate-limit-tenant", "PLINTH_RATE_LIMIT_TENANT", "100:200",
                  "default bucket per tenant, RATE:BURST requests/s, 0 = off (default 100:200; plans may set "
                  "their own)"),
    PL_OPTION_STR(pl_http_conf_t, rate_limit[1], "--rate-limit-key", "PLINTH_RATE_LIMIT_KEY", "100:200",
                  "default bucket per API key (default 100:200)"),
    PL_OPTION_STR(pl_http_conf_t, rate_limit[2], "--rate-limit-ip", "PLINTH_RATE_LIMIT_IP", "300:600",
                  "default bucket per client IP (default 300:600)"),
    PL_OPTION_STR(
        pl_http_conf_t, rate_limit[3], "--rate-limit-auth", "PLINTH_RATE_LIMIT_AUTH", "0.1:20",
        "failed authentications per client IP (401 answers), RATE:BURST per second; when spent, the "
        "IP gets 429 until it refills (default 0.1:20)"),
    PL_OPTIONS_END,
};

static pl_http_t *state(const pl_app_t *app)
{
    return pl_app_state(app, &pl_http_module);
}

static int http_init(pl_app_t *app, pl_err_t *err)
{
    static const char *names[] = {"--rate-limit-tenant", "--rate-limit-key", "--rate-limit-ip",
                                  "--rate-limit-auth"};
    pl_http_t *s = calloc(1, sizeof(*s));
    char url[300];
    int i;
    if (s == NULL)
        abort();
    s->app = app;
    s->conf = pl_app_conf(app, &pl_http_module);
    s->listen_fd = -1;
    pl_app_set_state(app, &pl_http_module, s);
    for (i = 0; i < 4; i++)
        if (pl_ratelimit_parse(s->conf->rate_limit[i], &s->rl_rate[i], &s->rl_burst[i]) != 0)
            return pl_err_set(err, PL_EINVAL, NULL, "%s: '%s' is not RATE:BURST or 0", names[i],
                              s->conf->rate_limit[i]);
    for (i = 0; i < (int)pl_app_nmodules(app); i++)
        if (pl_app_module(app, (size_t)i)->authenticate)
            s->authenticate = pl_app_module(app, (size_t)i)->authenticate;
    s->ratelimit = pl_app_redis(app) ? pl_ratelimit_redis(pl_app_redis(app)) : pl_ratelimit_memory();
    s->quota = pl_quota_create(pl_app_redis(app));
    if ((s->router = pl_router_create(app, err)) == NULL)
        return err->status;
    s->openapi = pl_openapi_render(s->router, &s->openapi_len);
    /* until the socket is bound (start), links point at the configured address */
    snprintf(url, sizeof(url), "http://%s", s->conf->listen);
    pl_app_set_bound_url(app, url);
    return 0;
}

int64_t pl_http_calls(pl_app_t *app, pl_db_t *db, const char *tenant_id, bool day)
{
    pl_http_t *s = state(app);
    if (s == NULL)
        return 0;
    return pl_quota_used(s->quota, db, tenant_id, day);
}

static int64_t calls_today(pl_app_t *app, pl_db_t *db, const char *tenant_id)
{
    return pl_http_calls(app, db, tenant_id, true);
}

static int64_t calls_this_month(pl_app_t *app, pl_db_t *db, const char *tenant_id)
{
    return pl_http_calls(app, db, tenant_id, false);
}

/* The quota limits are enforced by the gateway (quota.c); the meters show their usage. */
static const pl_usage_t usage[] = {
    {"api_calls_per_day", calls_today},
    {"api_calls_per_month", calls_this_month},
    {NULL, NULL},
};

const char *pl_http_openapi(const pl_app_t *app, size_t *len)
{
    pl_http_t *s = state(app);
    *len = s ? s->openapi_len : 0;
    return s ? s->openapi : NULL;
}

static void *worker_main(void *arg)
{
    pl_worker_t *w = arg;
    pl_http_t *s = w->http;
    h2o_evloop_t *loop = w->h2o.loop;
    int64_t deadline;

    w->listener = h2o_evloop_socket_create(loop, dup(s->listen_fd), H2O_SOCKET_FLAG_DONT_READ);
    w->listener->data = w;
    h2o_socket_read_start(w->listener, on_accept);
    while (!pl_app_stopping(s->app))
        h2o_evloop_run(loop, 100);

    /* stop accepting, then let in-flight requests finish and idle connections close (long
     * streams end themselves when they see the application stopping) */
    h2o_socket_read_stop(w->listener);
    h2o_socket_close(w->listener);
    w->listener = NULL;
    h2o_context_request_shutdown(&w->h2o);
    /* h2o 2.2 has no shutdown hook for idle HTTP/1 keep-alive connections: expiring the
     * keep-alive timeout now makes the loop close them on its next turn. */
    w->h2o.http1.req_timeout.timeout = 0;
    deadline = (int64_t)h2o_now(loop) + 2000;
    while (has_connections(w) && (int64_t)h2o_now(loop) < deadline)
        h2o_evloop_run(loop, 50);
    if (w->slots_ready) {
        pl_app_worker_exit(s->app, &w->thread);
        w->slots_ready = false;
    }
    /* the HTTP/2 graceful-shutdown timer is armed even with no HTTP/2 connection left */
    if (h2o_timeout_is_linked(&w->h2o.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&w->h2o.http2._graceful_shutdown_timeout);
    return NULL;
}

/* This process's API-call counters go to the store every second, on their own connection.
 * A failed flush keeps the counts for the next one and is logged. */
static void *maintenance_main(void *arg)
{
    pl_http_t *s = arg;
    pl_db_t *db = NULL;
    pl_err_t err;
    int tick = 0;
    pl_err_clear(&err);
    if (pl_app_connect(s->app, &db, &err) != 0) {
        pl_log(PL_LOG_ERROR, "maintenance: no store connection", NULL);
        return NULL;
    }
    while (!pl_app_stopping(s->app)) {
        usleep(200000);
        if (++tick % 5 == 0 && pl_quota_flush(s->quota, db) != 0)
            pl_log(PL_LOG_WARN, "api-call counters could not be written; kept for the next flush", NULL);
    }
    if (pl_quota_flush(s->quota, db) != 0)
        pl_log(PL_LOG_ERROR, "api-call counters could not be written at shutdown", NULL);
    pl_db_close(db);
    return NULL;
}

static void http_stop(pl_app_t *app);

static int start_worker(pl_http_t *s, int i, pl_err_t *err)
{
    pl_worker_t *w = &s->workers[i];
    w->http = s;
    w->thread.id = i;
    if (pl_app_connect(s->app, &w->db, err) != 0)
        return err->status;
    h2o_context_init(&w->h2o, h2o_evloop_create(), &s->h2o_config);
    w->thread.loop = w->h2o.loop;
    w->thread.db = w->db;
    w->accept.ctx = &w->h2o;
    w->accept.hosts = s->h2o_config.hosts;
    if (pl_app_worker_init(s->app, &w->thread, err) != 0)
        return err->status;
    w->slots_ready = true;
    if (pl_app_thread(&w->tid, worker_main, w, "HTTP worker", err) != 0)
        return err->status;
    w->running = true;
    return 0;
}

static int http_start(pl_app_t *app, pl_err_t *err)
{
    pl_http_t *s = state(app);
    h2o_hostconf_t *host;
    h2o_pathconf_t *path;
    pl_h2o_handler_t *handler;
    int i;
    long n = s->conf->workers;
    char fields[PATH_MAX + 512], url[300];

    if (bind_listener(s, err) != 0)
        return err->status;
    snprintf(url, sizeof(url), "http://%s", s->bound);
    pl_app_set_bound_url(app, url);
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;

    h2o_config_init(&s->h2o_config);
    s->h2o_ready = true;
    /* h2o answers bodies above its own limit with a bare 413; ours, lower, answers with
     * problem+json, so h2o's is set well above it. */
    s->h2o_config.max_request_entity_size = (size_t)s->conf->max_body * 4;
    s->h2o_config.server_name = h2o_iovec_init(H2O_STRLIT("plinth"));
    host = h2o_config_register_host(&s->h2o_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    path = h2o_config_register_path(host, "/", 0);
    handler = (pl_h2o_handler_t *)h2o_create_handler(path, sizeof(*handler));
    handler->super.on_req = on_req;
    h2o_create_filter(&host->fallback_path, sizeof(h2o_filter_t))->on_setup_ostream = on_setup_problem;

    s->nworkers = (int)n;
    s->workers = calloc((size_t)n, sizeof(pl_worker_t));
    if (s->workers == NULL)
        abort();
    for (i = 0; i < s->nworkers; i++)
        if (start_worker(s, i, err) != 0)
            goto fail;
    if (pl_app_thread(&s->maintenance, maintenance_main, s, "maintenance", err) != 0)
        goto fail;
    s->maintenance_started = true;
    snprintf(fields, sizeof(fields), "\"address\":\"%s\",\"workers\":%d,\"data_dir\":\"%s\",\"store\":\"%s\"",
             s->bound, s->nworkers, pl_app_config(app)->data_dir, pl_store_dialect(pl_app_store(app)));
    pl_log(PL_LOG_INFO, "listening", fields);
    return 0;
fail:
    pl_app_request_stop(app);
    http_stop(app);
    return err->status;
}

/* Joins what started; a loop is disposed only after its thread returned. */
static void http_stop(pl_app_t *app)
{
    pl_http_t *s = state(app);
    int i;
    if (s == NULL)
        return;
    for (i = 0; s->workers && i < s->nworkers; i++) {
        pl_worker_t *w = &s->workers[i];
        if (w->running) {
            pthread_join(w->tid, NULL);
            w->running = false;
        }
        if (w->slots_ready) { /* worker_init ran but the thread never started */
            pl_app_worker_exit(app, &w->thread);
            w->slots_ready = false;
        }
        if (w->h2o.loop) {
            h2o_evloop_t *loop = w->h2o.loop;
            h2o_context_dispose(&w->h2o);
            h2o_evloop_run(loop, 0); /* completes the deferred close of the context's queue socket */
            h2o_evloop_destroy(loop);
            w->h2o.loop = NULL;
        }
        pl_db_close(w->db);
        w->db = NULL;
    }
    free(s->workers);
    s->workers = NULL;
    s->nworkers = 0;
    if (s->maintenance_started) {
        pthread_join(s->maintenance, NULL);
        s->maintenance_started = false;
    }
    if (s->h2o_ready) {
        h2o_config_dispose(&s->h2o_config);
        s->h2o_ready = false;
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
}

static void http_fini(pl_app_t *app)
{
    pl_http_t *s = state(app);
    if (s == NULL)
        return;
    if (s->ratelimit)
        s->ratelimit->destroy(s->ratelimit);
    pl_quota_destroy(s->quota);
    pl_router_destroy(s->router);
    free(s->openapi);
    free(s);
    pl_app_set_state(app, &pl_http_module, NULL);
}

const pl_module_t pl_http_module = {
    .name = "http",
    .control_plane = true, /* api_usage: the platform's count of every tenant's calls */
    .options = options,
    .conf_size = sizeof(pl_http_conf_t),
    .migrations = PL_MIGRATIONS_OF(http),
    .usage = usage,
    .init = http_init,
    .start = http_start,
    .stop = http_stop,
    .fini = http_fini,
};
