/*
 * quota.h — API calls per tenant per UTC day and month, counted in memory and written to the
 * api_usage table by the maintenance thread (pl_quota_flush, about once a second). A node
 * starts from the stored counts when it first sees a tenant in a period. Thread-safe.
 *
 * With Redis (several nodes) the count of a period is Redis's, taken and checked by one
 * atomic script for every node; each node still writes the calls it counted to api_usage.
 * While Redis is unreachable each node counts on from what it last knew.
 */
#ifndef PL_QUOTA_H
#define PL_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

typedef struct pl_quota pl_quota_t;

typedef struct pl_redis pl_redis_t;
/* shared: NULL for one node */
pl_quota_t *pl_quota_create(pl_redis_t *shared);
void pl_quota_destroy(pl_quota_t *q);
/* Counts one call unless that passes a limit (<0: unlimited). Returns 0 (counted) or 1
 * (refused: *monthly says which limit, *retry_s when the period ends). */
int pl_quota_take(pl_quota_t *q, pl_db_t *db, const char *tenant_id, int64_t day_limit, int64_t month_limit,
                  int64_t now_ms, bool *monthly, int64_t *retry_s);
int64_t pl_quota_used(pl_quota_t *q, pl_db_t *db, const char *tenant_id, bool day);
/* Writes the calls counted since the last flush. */
int pl_quota_flush(pl_quota_t *q, pl_db_t *db);

#endif
