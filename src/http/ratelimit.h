/*
 * ratelimit.h — token buckets behind one interface: in process memory (one node), or in
 * Redis (--redis-url), shared by every node, on Redis's clock: far from a limit a node
 * admits on its own and settles with Redis every 25 ms; near it every take is one atomic
 * script (ratelimit.c). While Redis is unreachable the shared limiter answers from this
 * node's memory buckets (each node then limits on its own) and says so in the log.
 *
 * A bucket holds up to `burst` tokens and gains `rate` tokens per second; a request takes one.
 * Thread-safe: every worker calls take() concurrently.
 */
#ifndef PL_RATELIMIT_H
#define PL_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct pl_rl_result {
    bool allowed;
    double limit;         /* the burst: the most a client can send at once */
    double remaining;     /* whole tokens left */
    double reset_s;       /* seconds until the bucket is full again */
    double retry_after_s; /* when refused: seconds until one token is there */
} pl_rl_result_t;

typedef struct pl_ratelimit pl_ratelimit_t;
struct pl_ratelimit {
    /* Takes cost tokens (1 for a request) from each of n buckets that has at least one;
     * cost 0 only looks. out[i] is bucket i's answer. */
    void (*take)(pl_ratelimit_t *rl, int n, const char *const *keys, const double *rate, const double *burst,
                 double cost, int64_t now_ms, pl_rl_result_t *out);
    void (*destroy)(pl_ratelimit_t *rl);
};

pl_ratelimit_t *pl_ratelimit_memory(void);
typedef struct pl_redis pl_redis_t;
pl_ratelimit_t *pl_ratelimit_redis(pl_redis_t *r);

/* "RATE:BURST" (requests per second, bucket size) or "0" (off); returns 0 or -1. */
int pl_ratelimit_parse(const char *spec, double *rate, double *burst);

#endif
