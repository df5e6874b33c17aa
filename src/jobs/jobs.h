/*
 * jobs.h — durable background jobs, in-process event subscribers and periodic tasks.
 *
 * Owns: jobs, job_lanes, subscriber_receipts, scheduled_tasks (jobs/migrations), the runner
 * threads and the scheduler thread. Modules declare what they run in their descriptors
 * (app/module.h):
 *   - job kinds  (pl_job_kind_t): enqueued with pl_job_enqueue() inside the caller's
 *     transaction, so a job exists exactly when the change that asked for it committed;
 *   - subscribers (pl_subscriber_t): the dispatcher enqueues one "subscriber" job per
 *     matching committed event; the handler runs on an operation whose transaction also
 *     holds the subscriber's receipt for the event, so at-least-once delivery has an
 *     exactly-once effect, and the changes it records commit with it (commit step);
 *   - tasks (pl_task_t): periodic work; with several processes on one database each period
 *     runs once (a lease in scheduled_tasks).
 *
 * A job runs on an operation (j->op: the runner's connection, the job's arena and tenant,
 * request id = the job id, acting as whoever enqueued it), outside any transaction; it opens
 * the transactions it needs and commits them with pl_op_commit(). It returns 0 (succeeded)
 * or <0 with j->error filled;
 * j->permanent = true says a retry cannot help (state failed), otherwise it is retried after
 * an exponential backoff with jitter until max_attempts (then state dead — the dead letter).
 * A job that runs long calls pl_job_progress(), which also extends its lease; a job whose
 * runner died is queued again when its lease expires.
 *
 * Claiming takes the due job with the smallest virtual start time (see jobs/migrations): fair
 * across tenants. The claim is one statement per dialect (PostgreSQL: FOR UPDATE SKIP LOCKED;
 * SQLite serialises writers).
 *
 * Options: --job-workers, --job-attempts (the attempts of a kind that names none),
 * --job-backoff-ms, --job-lease, --scheduler-tick-ms, --task-periods.
 *
 * Routes: GET /v1/jobs, GET /v1/jobs/{id}, GET /v1/jobs/{id}/download, POST /v1/jobs/{id}/retry,
 * GET /v1/admin/jobs (queue depths of all tenants), GET /v1/admin/scheduler.
 */
#ifndef PL_JOBS_H
#define PL_JOBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/module.h"
#include "app/op.h"
#include "core/arena.h"
#include "store/store.h"

struct pl_job {
    pl_op_t op;        /* its app, db (no transaction open), arena (freed after the job), tenant */
    pl_app_t *app;     /* = op.app */
    pl_db_t *db;       /* = op.db */
    pl_arena_t *arena; /* = op.arena */
    const char *id, *tenant_id, *kind, *created_by;
    json_t *payload; /* not owned */
    int attempt;     /* 1 on the first run */
    int max_attempts;
    /* set by the handler */
    char error[512];
    bool permanent;
    json_t *result; /* owned by the runner once set */
    /* runner-private */
    const char *claim_token;
    int64_t lease_ms; /* how far each sign of life extends the lease (--job-lease) */
    int64_t last_progress_ms;
};

extern const pl_module_t pl_jobs_module;

/* Enqueues a job in db's current transaction. tenant_id NULL: a platform job. payload is not
 * owned. dedupe_key (may be NULL): no second job with the same key is made (returns 0 with
 * id_out empty). Returns 0 or PL_EDB. id_out (PL_TYPEID_MAX) may be NULL. */
int pl_job_enqueue(pl_app_t *app, pl_db_t *db, const char *tenant_id, const char *kind, json_t *payload,
                   const char *created_by, const char *dedupe_key, int64_t run_at_ms, int max_attempts,
                   char *id_out);

/* The virtual start time of a new job in tenant_id's lane (NULL: the platform's), in db's
 * transaction. Returns 0 or PL_EDB. */
int pl_job_next_vtime(pl_db_t *db, const char *tenant_id, int64_t *vtime);

/* The job as the API shows it (GET /v1/jobs/{id}), or NULL. */
json_t *pl_job_get(pl_db_t *db, const char *tenant_id, const char *id);

/* Records progress (processed of total) and extends the lease; written at most every 250 ms
 * unless final. */
void pl_job_progress(pl_job_t *j, int64_t done, int64_t total, bool final);
/* The file a job produces (an export), kept in the store in parts so that any node serves its
 * download (GET /v1/jobs/{id}/download): reset drops what an earlier attempt wrote, append
 * adds the next part (from 0); each in a transaction of its own, in the job's tenant. A job
 * that made a file records "_parts" (how many) in its result. 0 or PL_EDB. */
int pl_job_file_reset(pl_job_t *j);
int pl_job_file_append(pl_job_t *j, int64_t part, const void *data, size_t len);

/* Fills j->error; returns PL_EDB-like -1 for `return pl_job_fail(j, ...)`. */
int pl_job_fail(pl_job_t *j, bool permanent, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One claimed job of the queue: the runner's primitive, public for the unit tests. Returns
 * 1 and fills the row (strings in arena), 0 when nothing is due, <0 on error. */
typedef struct pl_job_row {
    char *id, *tenant_id, *kind, *payload, *created_by, *claim_token;
    int attempts, max_attempts;
    int64_t vtime;
} pl_job_row_t;
int pl_job_claim(pl_db_t *db, pl_arena_t *arena, int64_t lease_ms, pl_job_row_t *out);
/* Records the outcome of a claimed job (state succeeded / queued with backoff / failed / dead). */
int pl_job_finish(pl_db_t *db, const pl_job_row_t *row, int rc, const char *error, bool permanent,
                  const char *result_json, int64_t backoff_base_ms);
/* Queues again the running jobs whose lease expired. Returns how many. */
int64_t pl_job_reap(pl_db_t *db);

/* Enqueues, in db's current transaction, one "subscriber" job per subscriber whose patterns
 * match the event type (the dispatcher calls it for every committed event). */
int pl_subscribers_enqueue(pl_app_t *app, pl_db_t *db, const char *event_id, const char *type,
                           const char *tenant_id);
/* true once the server is stopping: a long job should stop at its next batch and fail
 * (retryable), to be resumed by a later attempt. */
bool pl_job_stopping(const pl_job_t *j);

#endif
