/*
 * redis.c — connections to the shared Redis (see redis.h).
 */
#include "cluster/redis.h"

#include <hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/banned.h"

#define SLOTS 8
#define MAX_SCRIPTS 8
#define RETRY_MS 1000

typedef struct {
    pthread_mutex_t lock;
    redisContext *ctx;
    int64_t retry_at; /* after a failure: no new connection before this (mono ms) */
    char sha[MAX_SCRIPTS][41];
} slot_t;

struct pl_redis {
    char host[256];
    int port;
    char password[128];
    int db;
    _Atomic bool up;
    _Atomic bool warned; /* the outage was logged */
    slot_t slots[SLOTS];
};

int pl_redis_open(pl_redis_t **out, const char *url, pl_err_t *err)
{
    pl_redis_t *r;
    const char *p = url, *at, *colon, *slash;
    size_t hl;
    int i;
    *out = NULL;
    if (strncmp(p, "redis://", 8) != 0)
        return pl_err_set(err, PL_EINVAL, NULL, "--redis-url must be redis://[:PASSWORD@]HOST[:PORT][/DB]");
    p += 8;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        abort();
    r->port = 6379;
    if ((at = strchr(p, '@')) != NULL) {
        const char *pw = memchr(p, ':', (size_t)(at - p));
        pw = pw ? pw + 1 : p;
        snprintf(r->password, sizeof(r->password), "%.*s", (int)(at - pw), pw);
        p = at + 1;
    }
    slash = strchr(p, '/');
    colon = strchr(p, ':');
    if (colon && slash && colon > slash)
        colon = NULL;
    hl = colon ? (size_t)(colon - p) : slash ? (size_t)(slash - p) : strlen(p);
    if (hl == 0 || hl >= sizeof(r->host)) {
        free(r);
        return pl_err_set(err, PL_EINVAL, NULL, "--redis-url names no host");
    }
    memcpy(r->host, p, hl);
    if (colon)
        r->port = atoi(colon + 1);
    if (slash)
        r->db = atoi(slash + 1);
    if (r->port <= 0 || r->port > 65535) {
        free(r);
        return pl_err_set(err, PL_EINVAL, NULL, "--redis-url has a bad port");
    }
    for (i = 0; i < SLOTS; i++)
        pthread_mutex_init(&r->slots[i].lock, NULL);
    atomic_init(&r->up, false);
    atomic_init(&r->warned, false);
    *out = r;
    return 0;
}

void pl_redis_close(pl_redis_t *r)
{
    int i;
    if (r == NULL)
        return;
    for (i = 0; i < SLOTS; i++) {
        if (r->slots[i].ctx)
            redisFree(r->slots[i].ctx);
        pthread_mutex_destroy(&r->slots[i].lock);
    }
    free(r);
}

bool pl_redis_up(const pl_redis_t *r)
{
    return atomic_load(&r->up);
}

static void went_down(pl_redis_t *r, const char *why)
{
    atomic_store(&r->up, false);
    if (!atomic_exchange(&r->warned, true))
        pl_logf(PL_LOG_WARN,
                "Redis is unreachable: rate limits, quotas and streams are per node until it is back", "%s",
                why);
}

static void came_up(pl_redis_t *r)
{
    atomic_store(&r->up, true);
    if (atomic_exchange(&r->warned, false))
        pl_log(PL_LOG_INFO, "Redis is reachable again", NULL);
}

/* A new connection (authenticated, database selected), or NULL. */
static redisContext *dial(pl_redis_t *r, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
    redisReply *rep;
    if (c == NULL || c->err) {
        went_down(r, c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (r->password[0]) {
        rep = redisCommand(c, "AUTH %s", r->password);
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
            went_down(r, rep ? rep->str : c->errstr);
            if (rep)
                freeReplyObject(rep);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(rep);
    }
    if (r->db) {
        rep = redisCommand(c, "SELECT %d", r->db);
        if (rep)
            freeReplyObject(rep);
    }
    return c;
}

/* The calling thread's slot, locked, with a connection; NULL while Redis is away. */
static slot_t *acquire(pl_redis_t *r)
{
    uintptr_t h = (uintptr_t)pthread_self();
    slot_t *s = &r->slots[(h >> 8 ^ h >> 16) % SLOTS];
    pthread_mutex_lock(&s->lock);
    if (s->ctx == NULL) {
        int64_t now = pl_mono_ms();
        if (now < s->retry_at || (s->ctx = dial(r, 250)) == NULL) {
            if (now >= s->retry_at)
                s->retry_at = now + RETRY_MS;
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        memset(s->sha, 0, sizeof(s->sha));
    }
    return s;
}

/* A failed reply: the connection is dropped (a timeout leaves it out of step). */
static void drop(pl_redis_t *r, slot_t *s, const char *why)
{
    went_down(r, why);
    redisFree(s->ctx);
    s->ctx = NULL;
    s->retry_at = pl_mono_ms() + RETRY_MS;
}

static double number_of(const redisReply *e)
{
    if (e->type == REDIS_REPLY_INTEGER)
        return (double)e->integer;
    if (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS)
        return strtod(e->str, NULL);
    return 0;
}

int pl_redis_eval(pl_redis_t *r, const pl_redis_script_t *sc, int nkeys, const char *const *keys, int nargs,
                  const char *const *args, double *out, int n)
{
    const char *argv[24];
    size_t lens[24];
    char nk[12];
    redisReply *rep;
    slot_t *s;
    int i, argc = 0, filled = -1;
    if (nkeys + nargs + 3 > 24 || sc->id < 0 || sc->id >= MAX_SCRIPTS || (s = acquire(r)) == NULL)
        return -1;
    if (s->sha[sc->id][0] == '\0') {
        rep = redisCommand(s->ctx, "SCRIPT LOAD %s", sc->lua);
        if (rep == NULL || rep->type != REDIS_REPLY_STRING || rep->len != 40) {
            if (rep == NULL)
                drop(r, s, s->ctx->errstr);
            else
                pl_logf(PL_LOG_ERROR, "a Redis script did not load", "%s", rep->str ? rep->str : "");
            if (rep)
                freeReplyObject(rep);
            pthread_mutex_unlock(&s->lock);
            return -1;
        }
        memcpy(s->sha[sc->id], rep->str, 41);
        freeReplyObject(rep);
    }
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[argc++] = "EVALSHA";
    argv[argc++] = s->sha[sc->id];
    argv[argc++] = nk;
    for (i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    for (i = 0; i < nargs; i++)
        argv[argc++] = args[i];
    for (i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    rep = redisCommandArgv(s->ctx, argc, argv, lens);
    if (rep == NULL) {
        drop(r, s, s->ctx->errstr);
    } else if (rep->type == REDIS_REPLY_ARRAY) {
        for (filled = 0; filled < n && (size_t)filled < rep->elements; filled++)
            out[filled] = number_of(rep->element[filled]);
        came_up(r);
    } else {
        if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0)
            s->sha[sc->id][0] = '\0'; /* Redis restarted: load it again next time */
        else if (rep->type == REDIS_REPLY_ERROR)
            pl_logf(PL_LOG_ERROR, "a Redis script failed", "%s", rep->str);
    }
    if (rep)
        freeReplyObject(rep);
    pthread_mutex_unlock(&s->lock);
    return filled;
}

int pl_redis_publish(pl_redis_t *r, const char *channel, const char *message)
{
    slot_t *s = acquire(r);
    redisReply *rep;
    int rc = -1;
    if (s == NULL)
        return -1;
    rep = redisCommand(s->ctx, "PUBLISH %s %s", channel, message);
    if (rep == NULL) {
        drop(r, s, s->ctx->errstr);
    } else {
        rc = rep->type == REDIS_REPLY_INTEGER ? 0 : -1;
        came_up(r);
        freeReplyObject(rep);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void pl_redis_listen(pl_redis_t *r, const char *channel, void (*on_message)(void *arg, const char *msg),
                     void (*on_down)(void *arg), void *arg, const _Atomic bool *stop)
{
    while (!atomic_load(stop)) {
        redisContext *c = dial(r, 250);
        redisReply *rep;
        if (c == NULL) {
            on_down(arg);
            usleep(250000);
            continue;
        }
        rep = redisCommand(c, "SUBSCRIBE %s", channel);
        if (rep == NULL) {
            on_down(arg);
            redisFree(c);
            continue;
        }
        freeReplyObject(rep);
        came_up(r);
        on_down(arg); /* what was missed before the subscription stood */
        while (!atomic_load(stop)) {
            struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
            void *v = NULL;
            if (redisGetReplyFromReader(c, &v) != REDIS_OK)
                break;
            if (v == NULL) { /* nothing buffered: wait up to 250 ms for more */
                int k = poll(&pfd, 1, 250);
                if (k < 0 || (k > 0 && redisBufferRead(c) != REDIS_OK))
                    break;
                continue;
            }
            rep = v;
            if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
                rep->element[2]->type == REDIS_REPLY_STRING)
                on_message(arg, rep->element[2]->str);
            freeReplyObject(rep);
        }
        redisFree(c);
        if (!atomic_load(stop)) {
            went_down(r, "the subscription ended");
            on_down(arg);
        }
    }
}
