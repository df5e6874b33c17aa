/*
 * ratelimit.c — the in-memory token buckets: 64 lock stripes, each a small open-addressing
 * table keyed by a 64-bit hash of the bucket name. A full neighbourhood evicts the bucket
 * that was touched longest ago (an idle bucket is full anyway, so forgetting it is exact).
 */
#include "http/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/redis.h"
#include "core/clock.h"
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

static void fill(pl_rl_result_t *out, bool allowed, double tokens, double rate, double burst)
{
    out->limit = burst;
    out->allowed = allowed;
    out->remaining = floor(tokens < 0 ? 0 : tokens);
    out->reset_s = (burst - tokens) / rate;
    out->retry_after_s = allowed ? 0 : (1.0 - tokens) / rate;
}

static void take_one(pl_ratelimit_t *rl, const char *name, double rate, double burst, double cost,
                     int64_t now_ms, pl_rl_result_t *out)
{
    memory_t *m = (memory_t *)rl;
    uint64_t h = hash(name);
    stripe_t *st = &m->stripes[h % STRIPES];
    bucket_t *b = NULL, *empty = NULL, *oldest = NULL;
    bool allowed;
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
    allowed = b->tokens >= 1.0;
    if (allowed)
        b->tokens -= cost;
    fill(out, allowed, b->tokens, rate, burst);
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

/* ---- shared: Redis ----
 *
 * Exact where it matters, cheap where it does not: a node keeps, per bucket, the tokens Redis
 * last reported and what it admitted since. While that estimate stays above half the burst,
 * it admits on its own and a sync thread sends what it owes to Redis every SYNC_MS; nearer
 * the limit every request takes its token in Redis, atomically, with what the node owes.
 * Other nodes can overspend a bucket only by what they admit within SYNC_MS while it is more
 * than half full.
 */

#define SYNC_MS 25
#define LSTRIPES 64
#define LSLOTS 128
#define NAME_MAX_LEN 96

typedef struct {
    uint64_t key;
    char name[NAME_MAX_LEN];
    double rate, burst;
    double known;     /* tokens in Redis at known_ms */
    int64_t known_ms; /* local clock */
    double owed;      /* admitted here since, not yet taken in Redis */
    int64_t touched_ms;
} lbucket_t;

typedef struct {
    pthread_mutex_t lock;
    lbucket_t slots[LSLOTS];
} lstripe_t;

typedef struct {
    pl_ratelimit_t base;
    pl_redis_t *redis;
    pl_ratelimit_t *local; /* while Redis is away */
    lstripe_t stripes[LSTRIPES];
    pthread_t sync;
    _Atomic bool stop;
} shared_t;

/* KEYS: the buckets; ARGV: cost, then rate, burst and owed tokens of each. Owed tokens were
 * admitted already and are always taken; cost only when a token is there. Returns ok and the
 * tokens left, per bucket. */
static const pl_redis_script_t take_script = {
    0,
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local cost = tonumber(ARGV[1]) "
    "local out = {} "
    "for i, k in ipairs(KEYS) do "
    "  local rate, burst, owed = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1]) "
    "  local b = redis.call('HMGET', k, 't', 'u') "
    "  local tok, u = tonumber(b[1]) or burst, tonumber(b[2]) or now "
    "  if now > u then tok = math.min(burst, tok + rate * (now - u) / 1000); u = now end "
    "  if tok > burst then tok = burst end "
    "  tok = tok - owed "
    "  local ok = 0 "
    "  if tok >= 1 then ok = 1; tok = tok - cost end "
    "  redis.call('HSET', k, 't', tostring(tok), 'u', tostring(u)) "
    "  redis.call('PEXPIRE', k, math.ceil(burst / rate * 1000) + 1000) "
    "  out[#out + 1] = ok "
    "  out[#out + 1] = tostring(tok) "
    "end "
    "return out",
};

static lstripe_t *stripe_of(shared_t *s, uint64_t h)
{
    return &s->stripes[h % LSTRIPES];
}

/* The bucket's slot in its (locked) stripe; a new or evicted slot has key 0 → set up. */
static lbucket_t *lslot(lstripe_t *st, uint64_t h, const char *name, double rate, double burst, int64_t now)
{
    lbucket_t *oldest = NULL;
    size_t i, base = (size_t)((h / LSTRIPES) % LSLOTS);
    for (i = 0; i < 8; i++) {
        lbucket_t *b = &st->slots[(base + i) % LSLOTS];
        if (b->key == h)
            return b;
        if (b->key == 0 || oldest == NULL || (oldest->key != 0 && b->touched_ms < oldest->touched_ms))
            oldest = b;
    }
    if (oldest->key != 0 && oldest->owed > 0)
        return NULL; /* its debt is not sent yet: do not forget it, go to Redis */
    memset(oldest, 0, sizeof(*oldest));
    oldest->key = h;
    snprintf(oldest->name, sizeof(oldest->name), "%s", name);
    oldest->rate = rate;
    oldest->burst = burst;
    oldest->known_ms = -1; /* unknown: the first take goes to Redis */
    oldest->touched_ms = now;
    return oldest;
}

/* The distinct stripes of st in address order (every taker locks in this order). */
static int lock_order(lstripe_t *const *st, int n, lstripe_t **out)
{
    int i, j, m = 0;
    for (i = 0; i < n; i++) {
        for (j = 0; j < m && out[j] != st[i]; j++)
            ;
        if (j < m)
            continue;
        for (j = m++; j > 0 && out[j - 1] > st[i]; j--)
            out[j] = out[j - 1];
        out[j] = st[i];
    }
    return m;
}

static double estimate(const lbucket_t *b, int64_t now)
{
    double t = b->known + b->rate * (double)(now - b->known_ms) / 1000.0;
    return (t > b->burst ? b->burst : t) - b->owed;
}

/* Takes in Redis: cost from each bucket, plus what this node owes on it; 0 or -1. */
static int redis_take(shared_t *s, int n, const char *const *keys, const double *rate, const double *burst,
                      const double *owed, double cost, double *got)
{
    char names[4][NAME_MAX_LEN + 12], nums[13][32];
    const char *k[4], *args[13];
    int i;
    snprintf(nums[0], sizeof(nums[0]), "%g", cost);
    args[0] = nums[0];
    for (i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "plinth:rl:%s", keys[i]);
        k[i] = names[i];
        snprintf(nums[1 + 3 * i], sizeof(nums[0]), "%.17g", rate[i]);
        snprintf(nums[2 + 3 * i], sizeof(nums[0]), "%.17g", burst[i]);
        snprintf(nums[3 + 3 * i], sizeof(nums[0]), "%.17g", owed[i]);
        args[1 + 3 * i] = nums[1 + 3 * i];
        args[2 + 3 * i] = nums[2 + 3 * i];
        args[3 + 3 * i] = nums[3 + 3 * i];
    }
    return pl_redis_eval(s->redis, &take_script, n, k, 1 + 3 * n, args, got, 2 * n) == 2 * n ? 0 : -1;
}

static void shared_take(pl_ratelimit_t *rl, int n, const char *const *keys, const double *rate,
                        const double *burst, double cost, int64_t now_ms, pl_rl_result_t *out)
{
    shared_t *s = (shared_t *)rl;
    lstripe_t *st[4], *locks[4];
    lbucket_t *b[4];
    uint64_t h[4];
    double owed[4], got[8];
    int64_t now = pl_mono_ms();
    bool local = true;
    int i, j, nl;
    if (n > 4) {
        s->local->take(s->local, n, keys, rate, burst, cost, now_ms, out);
        return;
    }
    /* far from every limit: admit here (the locks of distinct stripes, in order) */
    for (i = 0; i < n; i++) {
        h[i] = hash(keys[i]);
        st[i] = stripe_of(s, h[i]);
    }
    nl = lock_order(st, n, locks);
    for (j = 0; j < nl; j++)
        pthread_mutex_lock(&locks[j]->lock);
    for (i = 0; i < n; i++) {
        b[i] = lslot(st[i], h[i], keys[i], rate[i], burst[i], now);
        if (b[i] && (b[i]->rate != rate[i] || b[i]->burst != burst[i])) { /* the plan changed */
            b[i]->rate = rate[i];
            b[i]->burst = burst[i];
            b[i]->known_ms = -1;
        }
        if (b[i] == NULL || b[i]->known_ms < 0 || estimate(b[i], now) - cost < burst[i] / 2 ||
            estimate(b[i], now) < 2)
            local = false;
    }
    if (local) {
        for (i = 0; i < n; i++) {
            b[i]->owed += cost;
            b[i]->touched_ms = now;
            fill(&out[i], true, estimate(b[i], now), rate[i], burst[i]);
        }
    }
    for (i = 0; i < n; i++) {
        owed[i] = b[i] ? b[i]->owed : 0;
        if (b[i] && !local)
            b[i]->owed = 0; /* sent with this take */
    }
    for (j = nl - 1; j >= 0; j--)
        pthread_mutex_unlock(&locks[j]->lock);
    if (local)
        return;
    /* near a limit (or first sight): the exact take in Redis */
    if (redis_take(s, n, keys, rate, burst, owed, cost, got) != 0) {
        for (i = 0; i < n; i++) { /* Redis is away: still owed */
            if (b[i] == NULL)
                continue;
            pthread_mutex_lock(&st[i]->lock);
            if (b[i]->key == h[i])
                b[i]->owed += owed[i];
            pthread_mutex_unlock(&st[i]->lock);
        }
        s->local->take(s->local, n, keys, rate, burst, cost, now_ms, out);
        return;
    }
    for (i = 0; i < n; i++) {
        fill(&out[i], got[2 * i] != 0, got[2 * i + 1], rate[i], burst[i]);
        if (b[i] == NULL)
            continue;
        pthread_mutex_lock(&st[i]->lock);
        if (b[i]->key == h[i]) {
            b[i]->known = got[2 * i + 1]; /* what was admitted here meanwhile stays owed */
            b[i]->known_ms = now;
            b[i]->touched_ms = now;
        }
        pthread_mutex_unlock(&st[i]->lock);
    }
}

/* Every SYNC_MS: what each bucket owes goes to Redis, and its reported tokens come back. */
static void *sync_main(void *arg)
{
    shared_t *s = arg;
    while (!atomic_load(&s->stop)) {
        int i, k;
        usleep(SYNC_MS * 1000);
        for (i = 0; i < LSTRIPES; i++) {
            lstripe_t *st = &s->stripes[i];
            for (k = 0; k < LSLOTS; k++) {
                lbucket_t *b = &st->slots[k], copy;
                const char *name;
                double got[2];
                int64_t now;
                pthread_mutex_lock(&st->lock);
                if (b->key == 0 || b->owed <= 0) {
                    pthread_mutex_unlock(&st->lock);
                    continue;
                }
                copy = *b;
                b->owed = 0;
                pthread_mutex_unlock(&st->lock);
                name = copy.name;
                now = pl_mono_ms();
                if (redis_take(s, 1, &name, &copy.rate, &copy.burst, &copy.owed, 0, got) != 0) {
                    pthread_mutex_lock(&st->lock);
                    if (b->key == copy.key)
                        b->owed += copy.owed; /* Redis is away: owed until it is back */
                    pthread_mutex_unlock(&st->lock);
                    continue;
                }
                pthread_mutex_lock(&st->lock);
                if (b->key == copy.key) {
                    b->known = got[1];
                    b->known_ms = now;
                }
                pthread_mutex_unlock(&st->lock);
            }
        }
    }
    return NULL;
}

static void shared_destroy(pl_ratelimit_t *rl)
{
    shared_t *s = (shared_t *)rl;
    int i;
    if (s == NULL)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->sync, NULL);
    for (i = 0; i < LSTRIPES; i++)
        pthread_mutex_destroy(&s->stripes[i].lock);
    s->local->destroy(s->local);
    free(s);
}

pl_ratelimit_t *pl_ratelimit_redis(pl_redis_t *r)
{
    shared_t *s = calloc(1, sizeof(*s));
    int i;
    if (s == NULL)
        abort();
    s->redis = r;
    s->local = pl_ratelimit_memory();
    for (i = 0; i < LSTRIPES; i++)
        pthread_mutex_init(&s->stripes[i].lock, NULL);
    atomic_init(&s->stop, false);
    if (pthread_create(&s->sync, NULL, sync_main, s) != 0)
        abort();
    s->base.take = shared_take;
    s->base.destroy = shared_destroy;
    return &s->base;
}
