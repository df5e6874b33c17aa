/*
 * quota.c — per-tenant API-call counters (see quota.h).
 */
#include "http/quota.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "cluster/redis.h"
#include "core/banned.h"

typedef struct {
    char tenant[64];
    char period[2][16]; /* "d2026-11-25", "m2026-11" */
    int64_t count[2];
    int64_t unflushed[2];
} entry_t;

struct pl_quota {
    pthread_mutex_t lock;
    pl_redis_t *shared;
    entry_t *entries;
    size_t n, cap;
    size_t *index; /* open addressing over entries: slot → entry number + 1 (0: empty) */
    size_t icap;   /* a power of two, at least twice n */
    /* the current periods, formatted once per UTC day (not on every request) */
    int64_t day_no;
    char day[16], month[16];
    int64_t day_end, month_end;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void index_put(pl_quota_t *q, size_t e)
{
    size_t i = (size_t)hash(q->entries[e].tenant) & (q->icap - 1);
    while (q->index[i])
        i = (i + 1) & (q->icap - 1);
    q->index[i] = e + 1;
}

static void index_grow(pl_quota_t *q)
{
    size_t e;
    free(q->index);
    q->icap = q->icap ? q->icap * 2 : 128;
    q->index = calloc(q->icap, sizeof(*q->index));
    if (q->index == NULL)
        abort();
    for (e = 0; e < q->n; e++)
        index_put(q, e);
}

pl_quota_t *pl_quota_create(pl_redis_t *shared)
{
    pl_quota_t *q = calloc(1, sizeof(*q));
    if (q == NULL)
        abort();
    q->shared = shared;
    pthread_mutex_init(&q->lock, NULL);
    return q;
}

void pl_quota_destroy(pl_quota_t *q)
{
    if (q == NULL)
        return;
    pthread_mutex_destroy(&q->lock);
    free(q->entries);
    free(q->index);
    free(q);
}

/* The day and month of now ("d2026-11-25", "m2026-11") and when they end; called with the
 * lock held, formats only when the UTC day changed. */
static void periods(pl_quota_t *q, int64_t now_ms, char day[16], char month[16], int64_t *day_end,
                    int64_t *month_end)
{
    if (q->day_no != now_ms / 86400000 + 1) {
        char t[40];
        int y, m;
        pl_rfc3339(now_ms, t, sizeof(t));
        snprintf(q->day, sizeof(q->day), "d%.10s", t);
        snprintf(q->month, sizeof(q->month), "m%.7s", t);
        pl_utc_month(now_ms, &y, &m);
        q->day_end = (now_ms / 86400000 + 1) * 86400000;
        q->month_end = pl_utc_ms(y, m + 1, 1);
        q->day_no = now_ms / 86400000 + 1;
    }
    memcpy(day, q->day, 16);
    memcpy(month, q->month, 16);
    *day_end = q->day_end;
    *month_end = q->month_end;
}

/* The calls stored for a period (0 if none), or -1 when the store failed. */
static int64_t stored(pl_db_t *db, const char *tenant, const char *period)
{
    static const char *sql = "SELECT calls FROM api_usage WHERE tenant_id = $1 AND period = $2";
    int64_t n = 0;
    return pl_db_int_tx(db, tenant, &n, sql, PL_ARGS(PL_TEXT(tenant), PL_TEXT(period))) >= 0 ? n : -1;
}

/* The entry of a tenant (found through the hash index: every tenant-scoped request comes
 * here) with its periods current; called with the lock held. */
static entry_t *entry(pl_quota_t *q, pl_db_t *db, const char *tenant, int64_t now_ms)
{
    char p[2][16];
    int64_t ends[2];
    entry_t *e = NULL;
    size_t i;
    int k;
    periods(q, now_ms, p[0], p[1], &ends[0], &ends[1]);
    if (q->icap) {
        for (i = (size_t)hash(tenant) & (q->icap - 1); q->index[i]; i = (i + 1) & (q->icap - 1))
            if (strcmp(q->entries[q->index[i] - 1].tenant, tenant) == 0) {
                e = &q->entries[q->index[i] - 1];
                break;
            }
    }
    if (e == NULL) {
        if (q->n == q->cap) {
            size_t ncap = q->cap ? q->cap * 2 : 64;
            entry_t *ne = realloc(q->entries, ncap * sizeof(*ne));
            if (ne == NULL)
                abort();
            q->entries = ne;
            q->cap = ncap;
        }
        e = &q->entries[q->n++];
        memset(e, 0, sizeof(*e));
        snprintf(e->tenant, sizeof(e->tenant), "%s", tenant);
        if (q->n * 2 > q->icap)
            index_grow(q);
        else
            index_put(q, q->n - 1);
    }
    for (k = 0; k < 2; k++)
        if (strcmp(e->period[k], p[k]) != 0 && e->unflushed[k] == 0) {
            int64_t n = stored(db, tenant, p[k]);
            if (n < 0)
                continue; /* the store failed: the period moves on the next request */
            memcpy(e->period[k], p[k], sizeof(p[k]));
            e->count[k] = n;
        }
    return e;
}

/* KEYS: the day's and the month's counter; ARGV: the limits (<0: none), the counts to start
 * from when a counter is new, and their lifetimes. Returns refused (0, 1: day, 2: month) and
 * the two counts. */
static const pl_redis_script_t take_script = {
    1,
    "local dl, ml = tonumber(ARGV[1]), tonumber(ARGV[2]) "
    "for i = 1, 2 do redis.call('SET', KEYS[i], ARGV[2 + i], 'PX', ARGV[4 + i], 'NX') end "
    "local d, m = tonumber(redis.call('GET', KEYS[1])), tonumber(redis.call('GET', KEYS[2])) "
    "if dl >= 0 and d >= dl then return {1, d, m} end "
    "if ml >= 0 and m >= ml then return {2, d, m} end "
    "return {0, redis.call('INCR', KEYS[1]), redis.call('INCR', KEYS[2])}",
};

/* The shared counters: 0 counted, 1 refused, -1 Redis did not answer (count locally). */
static int shared_take(pl_quota_t *q, entry_t *e, const char *tenant_id, int64_t day_limit,
                       int64_t month_limit, int64_t now_ms, int64_t day_end, int64_t month_end, bool *monthly,
                       int64_t counts[2])
{
    char keys[2][120], a[6][24];
    const char *k[2] = {keys[0], keys[1]}, *args[6];
    double got[3];
    int i;
    snprintf(keys[0], sizeof(keys[0]), "plinth:quota:%s:%s", tenant_id, e->period[0]);
    snprintf(keys[1], sizeof(keys[1]), "plinth:quota:%s:%s", tenant_id, e->period[1]);
    snprintf(a[0], sizeof(a[0]), "%lld", (long long)day_limit);
    snprintf(a[1], sizeof(a[1]), "%lld", (long long)month_limit);
    snprintf(a[2], sizeof(a[2]), "%lld", (long long)e->count[0]);
    snprintf(a[3], sizeof(a[3]), "%lld", (long long)e->count[1]);
    snprintf(a[4], sizeof(a[4]), "%lld", (long long)(day_end - now_ms + 86400000));
    snprintf(a[5], sizeof(a[5]), "%lld", (long long)(month_end - now_ms + 86400000));
    for (i = 0; i < 6; i++)
        args[i] = a[i];
    pthread_mutex_unlock(&q->lock); /* no lock across the round trip */
    i = pl_redis_eval(q->shared, &take_script, 2, k, 6, args, got, 3);
    pthread_mutex_lock(&q->lock);
    if (i != 3)
        return -1;
    counts[0] = (int64_t)got[1];
    counts[1] = (int64_t)got[2];
    *monthly = got[0] == 2;
    return got[0] != 0 ? 1 : 0;
}

int pl_quota_take(pl_quota_t *q, pl_db_t *db, const char *tenant_id, int64_t day_limit, int64_t month_limit,
                  int64_t now_ms, bool *monthly, int64_t *retry_s)
{
    entry_t *e;
    char d[16], m[16];
    int64_t day_end, month_end;
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    periods(q, now_ms, d, m, &day_end, &month_end);
    e = entry(q, db, tenant_id, now_ms);
    if (q->shared && (day_limit >= 0 || month_limit >= 0)) {
        entry_t copy = *e; /* the lock is let go during the round trip; e may move */
        int64_t counts[2];
        rc = shared_take(q, &copy, tenant_id, day_limit, month_limit, now_ms, day_end, month_end, monthly,
                         counts);
        if (rc >= 0) {
            int k;
            e = entry(q, db, tenant_id, now_ms);
            for (k = 0; k < 2; k++)
                if (strcmp(e->period[k], copy.period[k]) == 0)
                    e->count[k] = counts[k];
            if (rc == 1) {
                *retry_s = ((*monthly ? month_end : day_end) - now_ms + 999) / 1000;
            } else {
                e->unflushed[0]++;
                e->unflushed[1]++;
            }
            pthread_mutex_unlock(&q->lock);
            return rc;
        }
        e = entry(q, db, tenant_id, now_ms);
        rc = 0;
    }
    if (day_limit >= 0 && e->count[0] >= day_limit) {
        *monthly = false;
        *retry_s = (day_end - now_ms + 999) / 1000;
        rc = 1;
    } else if (month_limit >= 0 && e->count[1] >= month_limit) {
        *monthly = true;
        *retry_s = (month_end - now_ms + 999) / 1000;
        rc = 1;
    } else {
        e->count[0]++;
        e->count[1]++;
        e->unflushed[0]++;
        e->unflushed[1]++;
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int64_t pl_quota_used(pl_quota_t *q, pl_db_t *db, const char *tenant_id, bool day)
{
    int64_t n;
    pthread_mutex_lock(&q->lock);
    n = entry(q, db, tenant_id, pl_now_ms())->count[day ? 0 : 1];
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* Adds n unflushed calls of period back to the tenant's entry (lock held). A period that
 * rotated meanwhile cannot take them: they are logged as lost. */
static void putback(pl_quota_t *q, const char *tenant, const char *period, int64_t n)
{
    size_t i;
    int k;
    if (q->icap)
        for (i = (size_t)hash(tenant) & (q->icap - 1); q->index[i]; i = (i + 1) & (q->icap - 1)) {
            entry_t *e = &q->entries[q->index[i] - 1];
            if (strcmp(e->tenant, tenant) != 0)
                continue;
            for (k = 0; k < 2; k++)
                if (strcmp(e->period[k], period) == 0) {
                    e->unflushed[k] += n;
                    return;
                }
        }
    pl_logf(PL_LOG_WARN, "api-call counts of a past period could not be stored", "%s %s: %lld calls", tenant,
            period, (long long)n);
}

int pl_quota_flush(pl_quota_t *q, pl_db_t *db)
{
    static const char *sql =
        "INSERT INTO api_usage (tenant_id, period, calls) VALUES ($1, $2, $3) "
        "ON CONFLICT (tenant_id, period) DO UPDATE SET calls = api_usage.calls + excluded.calls";
    struct pending {
        char tenant[64];
        char period[16];
        int64_t n;
    } *todo = NULL;
    size_t i, n = 0;
    int k, rc = 0;
    pthread_mutex_lock(&q->lock);
    if (q->n)
        todo = calloc(q->n * 2, sizeof(*todo));
    for (i = 0; todo && i < q->n; i++)
        for (k = 0; k < 2; k++)
            if (q->entries[i].unflushed[k]) {
                memcpy(todo[n].tenant, q->entries[i].tenant, sizeof(todo[n].tenant));
                memcpy(todo[n].period, q->entries[i].period[k], sizeof(todo[n].period));
                todo[n++].n = q->entries[i].unflushed[k];
                q->entries[i].unflushed[k] = 0;
            }
    pthread_mutex_unlock(&q->lock);
    if (n && pl_db_begin(db, PL_TX_WRITE, NULL) != 0)
        rc = PL_EDB;
    for (i = 0; i < n && rc == 0; i++)
        if (pl_db_exec(db, sql,
                       PL_ARGS(PL_TEXT(todo[i].tenant), PL_TEXT(todo[i].period), PL_INT(todo[i].n))) < 0)
            rc = PL_EDB;
    if (n && rc == 0 && pl_db_commit(db) != 0)
        rc = PL_EDB;
    if (rc != 0) {
        /* nothing was written: the counts go back, for the next flush */
        pl_db_rollback(db);
        pthread_mutex_lock(&q->lock);
        for (i = 0; i < n; i++)
            putback(q, todo[i].tenant, todo[i].period, todo[i].n);
        pthread_mutex_unlock(&q->lock);
    }
    free(todo);
    return rc;
}
