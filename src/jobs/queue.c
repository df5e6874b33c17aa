/*
 * queue.c — the durable job queue: enqueue, claim, finish, reap, progress (see jobs.h).
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/typeid.h"
#include "jobs/internal.h"
#include "jobs/jobs.h"
#include "core/banned.h"

#define BACKOFF_CAP_MS 3600000LL

int pl_job_next_vtime(pl_db_t *db, const char *tenant_id, int64_t *vtime)
{
    /* one past the later of the clock and the lane's last job */
    static const char *sql_lane =
        "INSERT INTO job_lanes (lane, vtime) VALUES ($1, (SELECT vtime FROM job_lanes WHERE lane = '*') + 1) "
        "ON CONFLICT (lane) DO UPDATE SET vtime = CASE WHEN job_lanes.vtime >= excluded.vtime "
        "THEN job_lanes.vtime + 1 ELSE excluded.vtime END RETURNING vtime";
    return pl_db_int(db, vtime, sql_lane, PL_ARGS(PL_TEXT(tenant_id ? tenant_id : ""))) == 1 ? 0 : PL_EDB;
}

int pl_job_enqueue(pl_app_t *app, pl_db_t *db, const char *tenant_id, const char *kind, json_t *payload,
                   const char *created_by, const char *dedupe_key, int64_t run_at_ms, int max_attempts,
                   char *id_out)
{
    static const char *sql_ins =
        "INSERT INTO jobs (id, tenant_id, kind, payload, state, max_attempts, run_at, vtime, dedupe_key, "
        "created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, $10, $10) "
        "ON CONFLICT (dedupe_key) DO NOTHING";
    char id[PL_TYPEID_MAX], *text;
    int64_t vtime = 0, now = pl_now_ms();
    int rc;
    if (id_out)
        id_out[0] = '\0';
    if (pl_job_next_vtime(db, tenant_id, &vtime) != 0)
        return PL_EDB;
    text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    pl_typeid_new("job", id);
    rc = pl_db_exec(db, sql_ins,
                    PL_ARGS(PL_TEXT(id), PL_TEXT(tenant_id), PL_TEXT(kind), PL_TEXT(text ? text : "{}"),
                            PL_INT(max_attempts > 0 ? max_attempts : pl_app_job_attempts(app, kind)),
                            PL_INT(run_at_ms ? run_at_ms : now), PL_INT(vtime), PL_TEXT(dedupe_key),
                            PL_TEXT(created_by), PL_INT(now)));
    free(text);
    if (rc < 0)
        return PL_EDB;
    if (rc == 1 && id_out)
        memcpy(id_out, id, sizeof(id));
    return 0;
}

int pl_job_claim(pl_db_t *db, pl_arena_t *arena, int64_t lease_ms, pl_job_row_t *out)
{
#define CLAIM_SET                                                                                            \
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $2, claim_token = $3, "       \
    "started_at = $1, updated_at = $1 WHERE id = (SELECT id FROM jobs WHERE state = 'queued' "               \
    "AND run_at <= $1 ORDER BY vtime, id LIMIT 1"
#define CLAIM_RETURNING ") RETURNING id, tenant_id, kind, payload, created_by, attempts, max_attempts, vtime"
    /* several runners on several nodes skip each other's rows on PostgreSQL; SQLite has one writer */
    static const pl_sql_t sql_claim = {
        CLAIM_SET CLAIM_RETURNING,
        CLAIM_SET " FOR UPDATE SKIP LOCKED" CLAIM_RETURNING,
    };
    /* The fairness clock (lane '*': the virtual time of the last claim) is one row every claim
     * moves. SQLite has one writer anyway; on PostgreSQL a claimer that finds the row locked
     * by another claimer skips the move instead of queueing behind it (the other is moving it
     * to about the same time): the hot row never serialises the runners. */
    static const pl_sql_t sql_clock = {
        "UPDATE job_lanes SET vtime = $1 WHERE lane = '*' AND vtime < $1",
        "UPDATE job_lanes SET vtime = $1 WHERE lane = (SELECT lane FROM job_lanes WHERE lane = '*' AND vtime "
        "< $1 "
        "FOR UPDATE SKIP LOCKED)",
    };
    static const char *sql_due = "SELECT 1 FROM jobs WHERE state = 'queued' AND run_at <= $1 LIMIT 1";
    char token[33];
    uint8_t raw[16];
    int64_t now = pl_now_ms();
    pl_rows_t *r;
    int rc;
    int64_t due = 0;
    /* an idle queue is found with a read: no write lock is taken to find nothing. The queue
     * is the control plane's: it is read across tenants. */
    if ((rc = pl_db_int_tx(db, NULL, &due, sql_due, PL_ARGS(PL_INT(now)))) <= 0)
        return rc;
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(token, sizeof(token), raw, sizeof(raw));
    if (pl_db_begin(db, PL_TX_WRITE, NULL) != 0)
        return PL_EDB;
    if (pl_db_query(db, &r, pl_db_sql(db, &sql_claim),
                    PL_ARGS(PL_INT(now), PL_INT(now + lease_ms), PL_TEXT(token))) != 0) {
        pl_db_rollback(db);
        return PL_EDB;
    }
    rc = pl_rows_next(r);
    if (rc == 1) {
        out->id = pl_strdup(arena, pl_rows_text(r, 0));
        out->tenant_id = pl_rows_null(r, 1) ? NULL : pl_strdup(arena, pl_rows_text(r, 1));
        out->kind = pl_strdup(arena, pl_rows_text(r, 2));
        out->payload = pl_strdup(arena, pl_rows_text(r, 3));
        out->created_by = pl_rows_null(r, 4) ? NULL : pl_strdup(arena, pl_rows_text(r, 4));
        out->attempts = (int)pl_rows_int(r, 5);
        out->max_attempts = (int)pl_rows_int(r, 6);
        out->vtime = pl_rows_int(r, 7);
        out->claim_token = pl_strdup(arena, token);
    }
    pl_rows_close(r);
    if (rc == 1 && pl_db_exec(db, pl_db_sql(db, &sql_clock), PL_ARGS(PL_INT(out->vtime))) < 0)
        rc = -1;
    if (rc < 0) {
        pl_db_rollback(db);
        return PL_EDB;
    }
    if (pl_db_commit(db) != 0)
        return PL_EDB;
    return rc;
}

static int64_t backoff_ms(int attempt, int64_t base)
{
    int64_t d = base;
    int i;
    for (i = 1; i < attempt && d < BACKOFF_CAP_MS; i++)
        d *= 2;
    if (d > BACKOFF_CAP_MS)
        d = BACKOFF_CAP_MS;
    /* ±25% jitter, so jobs that failed together do not retry together */
    return d * 3 / 4 + (int64_t)randombytes_uniform((uint32_t)(d / 2 + 1));
}

int pl_job_finish(pl_db_t *db, const pl_job_row_t *row, int rc, const char *error, bool permanent,
                  const char *result_json, int64_t backoff_base_ms)
{
    static const char *sql =
        "UPDATE jobs SET state = $3, run_at = COALESCE($4, run_at), last_error = $5, result = $6, "
        "lease_until = NULL, claim_token = NULL, finished_at = $7, updated_at = $8 "
        "WHERE id = $1 AND claim_token = $2 AND state = 'running'";
    int64_t now = pl_now_ms();
    const char *state;
    bool retry = false;
    if (rc == 0)
        state = "succeeded";
    else if (permanent)
        state = "failed";
    else if (row->attempts >= row->max_attempts)
        state = "dead";
    else
        state = "queued", retry = true;
    /* 0 rows: the lease expired and another runner took the job over; its outcome stands */
    return pl_db_exec_tx(
        db, NULL, sql,
        PL_ARGS(PL_TEXT(row->id), PL_TEXT(row->claim_token), PL_TEXT(state),
                retry ? PL_INT(now + backoff_ms(row->attempts, backoff_base_ms)) : PL_NULL_INT,
                PL_TEXT(rc == 0 ? NULL : error), PL_TEXT(result_json), retry ? PL_NULL_INT : PL_INT(now),
                PL_INT(now)));
}

int64_t pl_job_reap(pl_db_t *db)
{
    static const char *sql =
        "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, "
        "finished_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END, run_at = $1, "
        "lease_until = NULL, claim_token = NULL, updated_at = $1, "
        "last_error = 'its runner stopped answering (lease expired); taken over' "
        "WHERE state = 'running' AND lease_until < $1";
    return pl_db_exec(db, sql, PL_ARGS(PL_INT(pl_now_ms())));
}

void pl_job_progress(pl_job_t *j, int64_t done, int64_t total, bool final)
{
    static const char *sql = "UPDATE jobs SET progress_done = $3, progress_total = $4, lease_until = $5, "
                             "updated_at = $6 WHERE id = $1 AND claim_token = $2";
    int64_t now = pl_now_ms();
    const pl_val_t args[] = {PL_TEXT(j->id),
                             PL_TEXT(j->claim_token),
                             PL_INT(done),
                             total < 0 ? PL_NULL_INT : PL_INT(total),
                             PL_INT(now + j->lease_ms),
                             PL_INT(now)};
    if (!final && now - j->last_progress_ms < 250)
        return;
    j->last_progress_ms = now;
    /* inside the job's own transaction, or in one of its tenant's */
    if (pl_db_in_tx(j->db))
        pl_db_exec(j->db, sql, args, 6);
    else
        pl_db_exec_tx(j->db, j->tenant_id, sql, args, 6);
}

int pl_job_file_reset(pl_job_t *j)
{
    static const char *sql = "DELETE FROM job_files WHERE job_id = $1 AND tenant_id = $2";
    return pl_db_exec_tx(j->db, j->tenant_id, sql, PL_ARGS(PL_TEXT(j->id), PL_TEXT(j->tenant_id))) < 0
               ? PL_EDB
               : 0;
}

int pl_job_file_append(pl_job_t *j, int64_t part, const void *data, size_t len)
{
    static const char *sql = "INSERT INTO job_files (job_id, tenant_id, part, data) VALUES ($1, $2, $3, $4)";
    return pl_db_exec_tx(j->db, j->tenant_id, sql,
                         PL_ARGS(PL_TEXT(j->id), PL_TEXT(j->tenant_id), PL_INT(part), PL_BLOB(data, len))) ==
                   1
               ? 0
               : PL_EDB;
}

int pl_job_fail(pl_job_t *j, bool permanent, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->error, sizeof(j->error), fmt, ap);
    va_end(ap);
    j->permanent = permanent;
    return -1;
}
