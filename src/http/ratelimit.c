/*
 * ratelimit.c — the in-memory token buckets: 64 lock stripes, each a small open-addressing
 * table keyed by a 64-bit hash of the bucket name. A full neighbourhood evicts the bucket
 * that was touched longest ago (an idle bucket is full anyway, so forgetting it is exact).
 */
#include "http/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/redis.h"
#include "core/banned.h"

#define STRIPES 64
#define SLOTS 1024
#define PROBE 16

typedef struct {
    uint64_t key;
    double tokens;
    int64_t updated_ms;
} bucket_t;

typedef struct {
    pthread_mutex_t lock;
    bucket_t slots[SLOTS];
} stripe_t;

typedef struct {
    pl_ratelimit_t base;
    stripe_t stripes[STRIPES];
} memory_t;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ? h : 1;
}

static void take_one(pl_ratelimit_t *rl, const char *name, double rate, double burst, double cost,
                     int64_t now_ms, pl_rl_result_t *out)
{
    memory_t *m = (memory_t *)rl;
    uint64_t h = hash(name);
    stripe_t *st = &m->stripes[h % STRIPES];
    bucket_t *b = NULL, *empty = NULL, *oldest = NULL;
    size_t i, base = (size_t)((h / STRIPES) % SLOTS);
    pthread_mutex_lock(&st->lock);
    for (i = 0; i < PROBE; i++) {
        bucket_t *s = &st->slots[(base + i) % SLOTS];
        if (s->key == h) {
            b = s;
            break;
        }
        if (s->key == 0) {
            if (empty == NULL)
                empty = s;
        } else if (oldest == NULL || s->updated_ms < oldest->updated_ms) {
            oldest = s;
        }
    }
    if (b == NULL) {
        b = empty ? empty : oldest;
        b->key = h;
        b->tokens = burst;
        b->updated_ms = now_ms;
    }
    if (now_ms > b->updated_ms) {
        b->tokens = fmin(burst, b->tokens + rate * (double)(now_ms - b->updated_ms) / 1000.0);
        b->updated_ms = now_ms;
    }
    if (b->tokens > burst)
        b->tokens = burst;
    out->limit = burst;
    out->allowed = b->tokens >= 1.0;
    if (out->allowed)
        b->tokens -= cost;
    out->remaining = floor(b->tokens);
    out->reset_s = (burst - b->tokens) / rate;
    out->retry_after_s = out->allowed ? 0 : (1.0 - b->tokens) / rate;
    pthread_mutex_unlock(&st->lock);
}

static void take(pl_ratelimit_t *rl, int n, const char *const *keys, const double *rate, const double *burst,
                 double cost, int64_t now_ms, pl_rl_result_t *out)
{
    int i;
    for (i = 0; i < n; i++)
        take_one(rl, keys[i], rate[i], burst[i], cost, now_ms, &out[i]);
}

static void destroy(pl_ratelimit_t *rl)
{
    memory_t *m = (memory_t *)rl;
    int i;
    if (m == NULL)
        return;
    for (i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&m->stripes[i].lock);
    free(m);
}

pl_ratelimit_t *pl_ratelimit_memory(void)
{
    memory_t *m = calloc(1, sizeof(*m));
    int i;
    if (m == NULL)
        abort();
    for (i = 0; i < STRIPES; i++)
        pthread_mutex_init(&m->stripes[i].lock, NULL);
    m->base.take = take;
    m->base.destroy = destroy;
    return &m->base;
}

int pl_ratelimit_parse(const char *spec, double *rate, double *burst)
{
    char *end;
    double r, b;
    if (strcmp(spec, "0") == 0 || strcmp(spec, "off") == 0) {
        *rate = *burst = 0;
        return 0;
    }
    r = strtod(spec, &end);
    if (end == spec || r <= 0 || r > 1e9)
        return -1;
    if (*end == '\0') {
        b = r;
    } else if (*end == ':') {
        const char *p = end + 1;
        b = strtod(p, &end);
        if (end == p || *end != '\0' || b < 1 || b > 1e9)
            return -1;
    } else {
        return -1;
    }
    *rate = r;
    *burst = b;
    return 0;
}

/* ---- shared: Redis ---- */

typedef struct {
    pl_ratelimit_t base;
    pl_redis_t *redis;
    pl_ratelimit_t *local; /* while Redis is away */
} shared_t;

/* KEYS: the buckets; ARGV: cost, then rate and burst of each. Returns ok, tokens per bucket. */
static const pl_redis_script_t take_script = {
    0,
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local cost = tonumber(ARGV[1]) "
    "local out = {} "
    "for i, k in ipairs(KEYS) do "
    "  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1]) "
    "  local b = redis.call('HMGET', k, 't', 'u') "
    "  local tok, u = tonumber(b[1]) or burst, tonumber(b[2]) or now "
    "  if now > u then tok = math.min(burst, tok + rate * (now - u) / 1000); u = now end "
    "  if tok > burst then tok = burst end "
    "  local ok = 0 "
    "  if tok >= 1 then ok = 1; tok = tok - cost end "
    "  redis.call('HSET', k, 't', tostring(tok), 'u', tostring(u)) "
    "  redis.call('PEXPIRE', k, math.ceil(burst / rate * 1000) + 1000) "
    "  out[#out + 1] = ok "
    "  out[#out + 1] = tostring(tok) "
    "end "
    "return out",
};

static void shared_take(pl_ratelimit_t *rl, int n, const char *const *keys, const double *rate,
                        const double *burst, double cost, int64_t now_ms, pl_rl_result_t *out)
{
    shared_t *s = (shared_t *)rl;
    char names[4][160], nums[9][32];
    const char *k[4], *args[9];
    double got[8];
    int i;
    if (n > 4) {
        s->local->take(s->local, n, keys, rate, burst, cost, now_ms, out);
        return;
    }
    snprintf(nums[0], sizeof(nums[0]), "%g", cost);
    args[0] = nums[0];
    for (i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "plinth:rl:%s", keys[i]);
        k[i] = names[i];
        snprintf(nums[1 + 2 * i], sizeof(nums[0]), "%.17g", rate[i]);
        snprintf(nums[2 + 2 * i], sizeof(nums[0]), "%.17g", burst[i]);
        args[1 + 2 * i] = nums[1 + 2 * i];
        args[2 + 2 * i] = nums[2 + 2 * i];
    }
    if (pl_redis_eval(s->redis, &take_script, n, k, 1 + 2 * n, args, got, 2 * n) != 2 * n) {
        s->local->take(s->local, n, keys, rate, burst, cost, now_ms, out);
        return;
    }
    for (i = 0; i < n; i++) {
        double tokens = got[2 * i + 1];
        out[i].limit = burst[i];
        out[i].allowed = got[2 * i] != 0;
        out[i].remaining = floor(tokens);
        out[i].reset_s = (burst[i] - tokens) / rate[i];
        out[i].retry_after_s = out[i].allowed ? 0 : (1.0 - tokens) / rate[i];
    }
}

static void shared_destroy(pl_ratelimit_t *rl)
{
    shared_t *s = (shared_t *)rl;
    if (s == NULL)
        return;
    s->local->destroy(s->local);
    free(s);
}

pl_ratelimit_t *pl_ratelimit_redis(pl_redis_t *r)
{
    shared_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->redis = r;
    s->local = pl_ratelimit_memory();
    s->base.take = shared_take;
    s->base.destroy = shared_destroy;
    return &s->base;
}
