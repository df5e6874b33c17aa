/*
 * redis.h — the state several nodes share (hiredis): atomic scripts and publish/subscribe.
 *
 * Owns: the connections to one Redis server, "redis://[:PASSWORD@]HOST[:PORT][/DB]". Any
 * thread may call; each thread maps to one of a few connection slots, each with its own lock,
 * so threads seldom wait for each other. Commands time out after 250 ms. When Redis cannot be
 * reached, calls fail at once (a slot that failed retries its connection after a second)
 * and the callers fall back to what one node knows: nothing that is stored depends on Redis.
 */
#ifndef PL_REDIS_H
#define PL_REDIS_H

#include <stdatomic.h>
#include <stdbool.h>

#include "core/err.h"

typedef struct pl_redis pl_redis_t;

/* A Lua script; `id` numbers a program's scripts from 0 (at most 8), for EVALSHA caching. */
typedef struct pl_redis_script {
    int id;
    const char *lua;
} pl_redis_script_t;

int pl_redis_open(pl_redis_t **out, const char *url, pl_err_t *err);
void pl_redis_close(pl_redis_t *r);
/* Whether the last command reached Redis. */
bool pl_redis_up(const pl_redis_t *r);

/* Runs a script that returns an array of numbers (as integers or strings); fills out[0..n).
 * Returns how many it filled, or -1 when Redis is unreachable or the script failed. */
int pl_redis_eval(pl_redis_t *r, const pl_redis_script_t *s, int nkeys, const char *const *keys, int nargs,
                  const char *const *args, double *out, int n);
/* PUBLISH channel message; 0 or -1. */
int pl_redis_publish(pl_redis_t *r, const char *channel, const char *message);

/*
 * Subscribes to channel and calls on_message for each message until *stop; run it on a
 * thread of its own. While the subscription is down (Redis unreachable, or before it is up)
 * on_down is called about every 250 ms, so the caller can distrust what it would have heard.
 */
void pl_redis_listen(pl_redis_t *r, const char *channel, void (*on_message)(void *arg, const char *msg),
                     void (*on_down)(void *arg), void *arg, const _Atomic bool *stop);

#endif
