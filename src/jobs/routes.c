/*
 * routes.c — the jobs API and the jobs module (its tasks: lease takeover and cleanup).
 *
 * Admins and owners (jobs:read) see every job of the organization; other members see the
 * jobs they started (an editor's import). Payload and result members whose names start with
 * "_" are the server's own (file paths) and never shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "http/ctx.h"
#include "jobs/internal.h"
#include "events/events.h"
#include "jobs/jobs.h"
#include "core/banned.h"

#define JOB_COLS                                                                                             \
    "id, kind, state, attempts, max_attempts, run_at, created_at, started_at, finished_at, last_error, "     \
    "progress_done, progress_total, payload, result, created_by, tenant_id"

static json_t *public_json(const char *text)
{
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    const char *k;
    void *tmp;
    json_t *x;
    if (!json_is_object(v)) {
        json_decref(v);
        return text ? json_object() : json_null();
    }
    json_object_foreach_safe(v, tmp, k, x)
    {
        (void)x;
        if (k[0] == '_')
            json_object_del(v, k);
    }
    return v;
}

static json_t *job_json(pl_rows_t *r)
{
    json_t *progress = json_null();
    if (!pl_rows_null(r, 10))
        progress = json_pack("{s:I,s:o}", "processed", (json_int_t)pl_rows_int(r, 10), "total",
                             pl_rows_null(r, 11) ? json_null() : json_integer(pl_rows_int(r, 11)));
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
                     pl_rows_text(r, 0), "kind", pl_rows_text(r, 1), "state", pl_rows_text(r, 2), "attempts",
                     (json_int_t)pl_rows_int(r, 3), "max_attempts", (json_int_t)pl_rows_int(r, 4), "run_at",
                     pl_json_time(pl_rows_int(r, 5)), "created_at", pl_json_time(pl_rows_int(r, 6)),
                     "started_at", pl_json_time_or_null(r, 7), "finished_at", pl_json_time_or_null(r, 8),
                     "last_error", pl_json_str_or_null(pl_rows_text(r, 9)), "progress", progress, "payload",
                     public_json(pl_rows_text(r, 12)), "result", public_json(pl_rows_text(r, 13)),
                     "created_by", pl_json_str_or_null(pl_rows_text(r, 14)), "tenant_id",
                     pl_json_str_or_null(pl_rows_text(r, 15)));
}

json_t *pl_job_get(pl_db_t *db, const char *tenant_id, const char *id)
{
    static const char *sql = "SELECT " JOB_COLS " FROM jobs WHERE id = $1 AND tenant_id = $2";
    return pl_query_one(db, job_json, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(tenant_id)));
}

/* NULL: the caller sees every job of the organization; else only those it started. */
static const char *only_own(pl_ctx_t *c)
{
    static int perm = -2;
    if (perm == -2)
        perm = pl_rbac_perm_index("jobs:read");
    if (pl_rbac_has(c->principal->perms, perm))
        return NULL;
    return pl_caller_id(c);
}

static int h_list(pl_ctx_t *c)
{
    static const char *sql = "SELECT " JOB_COLS " FROM jobs WHERE tenant_id = $1 AND ($2 IS NULL OR id < $2) "
                             "AND ($3 IS NULL OR state = $3) AND ($4 IS NULL OR kind = $4) "
                             "AND ($5 IS NULL OR created_by = $5) ORDER BY id DESC LIMIT $6";
    static const char *sql_count =
        "SELECT count(*) FROM jobs WHERE tenant_id = $1 AND ($2 IS NULL OR state = $2) "
        "AND ($3 IS NULL OR kind = $3) AND ($4 IS NULL OR created_by = $4)";
    static const char *const states[] = {"queued", "running", "succeeded", "failed", "dead", NULL};
    const char *state = pl_query(c, "state"), *kind = pl_query(c, "kind"), *own = only_own(c);
    const char *const *s;
    pl_page_t pg;
    json_t *data;
    int64_t total = -1;
    for (s = states; state && *s && strcmp(*s, state); s++)
        ;
    if (state && *s == NULL)
        pl_err_field(&c->err, "state", "must be one of queued, running, succeeded, failed, dead");
    if (kind && strlen(kind) > 64)
        pl_err_field(&c->err, "kind", "is too long");
    if (pl_page_parse(c, &pg) != 0 || c->err.status != PL_OK)
        return c->err.status ? c->err.status : PL_EINVAL;
    data = pl_query_all(c->db, job_json, sql,
                        PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(pg.after), PL_TEXT(state), PL_TEXT(kind),
                                PL_TEXT(own), PL_INT(pg.limit + 1)));
    if (data == NULL || (pg.include_total && pl_db_int(c->db, &total, sql_count,
                                                       PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(state),
                                                               PL_TEXT(kind), PL_TEXT(own))) < 0)) {
        json_decref(data);
        return pl_fail(c, PL_EDB, NULL, "the jobs could not be read");
    }
    return pl_reply(c, 200, pl_page_envelope(c, &pg, data, "id", total));
}

static json_t *find(pl_ctx_t *c, const char *id)
{
    static const char *sql =
        "SELECT " JOB_COLS " FROM jobs WHERE id = $1 AND tenant_id = $2 AND ($3 IS NULL OR created_by = $3)";
    if (!pl_id_ok(id, "job"))
        return NULL;
    return pl_query_one(c->db, job_json, sql,
                        PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_TEXT(only_own(c))));
}

static int h_get(pl_ctx_t *c)
{
    json_t *j = find(c, pl_param(c, 0));
    return j ? pl_reply(c, 200, j) : pl_fail_notfound(c, "job");
}

static int h_retry(pl_ctx_t *c)
{
    static const char *sql = "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $3, vtime = $4, "
                             "finished_at = NULL, updated_at = $3 WHERE id = $1 AND tenant_id = $2 "
                             "AND state IN ('failed', 'dead')";
    const char *id = pl_param(c, 0);
    json_t *j = find(c, id), *after;
    int64_t vtime = 0, now = pl_now_ms();
    if (j == NULL)
        return pl_fail_notfound(c, "job");
    if (strcmp(pl_json_str(j, "state"), "failed") && strcmp(pl_json_str(j, "state"), "dead")) {
        json_decref(j);
        return pl_fail(c, PL_ECONFLICT, "job_not_retryable",
                       "only failed and dead jobs can be retried; this one is %s", pl_json_str(j, "state"));
    }
    if (pl_job_next_vtime(c->db, c->tenant_id, &vtime) != 0 ||
        pl_db_exec(c->db, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_INT(now), PL_INT(vtime))) !=
            1 ||
        (after = find(c, id)) == NULL) {
        json_decref(j);
        return pl_fail(c, PL_EDB, NULL, "the job could not be queued again");
    }
    pl_record(c, id, j, after);
    json_decref(j);
    return pl_reply(c, 200, after);
}

/* ---- downloads of export jobs ---- */

/* Streams the job's stored parts in order, each read in a transaction of its own. */
typedef struct {
    const char *job;
    int64_t next, parts;
} download_t;

static int download_fill(pl_ctx_t *c, void *state, pl_buf_t *out)
{
    static const char *sql = "SELECT data FROM job_files WHERE job_id = $1 AND tenant_id = $2 AND part = $3";
    download_t *d = state;
    pl_rows_t *r;
    int rc;
    if (d->next >= d->parts)
        return 0;
    if (pl_db_begin(c->db, PL_TX_READ, c->tenant_id) != 0)
        return PL_EDB;
    if (pl_db_query(c->db, &r, sql, PL_ARGS(PL_TEXT(d->job), PL_TEXT(c->tenant_id), PL_INT(d->next))) != 0) {
        pl_db_rollback(c->db);
        return PL_EDB;
    }
    if ((rc = pl_rows_next(r)) == 1) {
        size_t n = 0;
        const void *p = pl_rows_blob(r, 0, &n);
        pl_buf_add(out, p ? p : "", n);
    }
    pl_rows_close(r);
    pl_db_rollback(c->db);
    if (rc != 1)
        return PL_EDB; /* a part went missing (the job was cleaned up meanwhile) */
    return ++d->next < d->parts ? 1 : 0;
}

static int h_download(pl_ctx_t *c)
{
    static const char *sql = "SELECT result, state FROM jobs WHERE id = $1 AND tenant_id = $2 "
                             "AND ($3 IS NULL OR created_by = $3)";
    static const char *sql_has = "SELECT COUNT(*) FROM job_files WHERE job_id = $1 AND tenant_id = $2";
    const char *id = pl_param(c, 0);
    pl_rows_t *r;
    json_t *result = NULL;
    const char *type;
    download_t *d;
    int64_t stored = 0;
    int rc = 0;
    char disp[160];
    if (!pl_id_ok(id, "job"))
        return pl_fail_notfound(c, "job");
    if (pl_db_query(c->db, &r, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_TEXT(only_own(c)))) != 0)
        return pl_fail(c, PL_EDB, NULL, "the job could not be read");
    if ((rc = pl_rows_next(r)) == 1 && strcmp(pl_rows_text(r, 1), "succeeded") == 0 && !pl_rows_null(r, 0))
        result = json_loads(pl_rows_text(r, 0), 0, NULL);
    pl_rows_close(r);
    if (rc != 1)
        return pl_fail_notfound(c, "job");
    if (result == NULL || !json_is_integer(json_object_get(result, "_parts"))) {
        json_decref(result);
        return pl_fail(c, PL_ECONFLICT, "job_has_no_file", "this job has no file to download (yet)");
    }
    d = pl_zalloc(c->arena, sizeof(*d));
    d->job = pl_strdup(c->arena, id);
    d->parts = json_integer_value(json_object_get(result, "_parts"));
    type = pl_json_str(result, "content_type");
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"",
             pl_json_str(result, "filename") ? pl_json_str(result, "filename") : "export");
    type = pl_strdup(c->arena, type ? type : "application/octet-stream");
    json_decref(result);
    if (pl_db_int(c->db, &stored, sql_has, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id))) < 0)
        return pl_fail(c, PL_EDB, NULL, "the job could not be read");
    if (stored < d->parts)
        return pl_fail(c, PL_ENOTFOUND, "file_expired", "the file of this job was removed");
    pl_header(c, "content-disposition", disp);
    return pl_reply_stream(c, 200, type, download_fill, d);
}

/* ---- operators ---- */

static json_t *depth_json(pl_rows_t *r)
{
    return json_pack("{s:o,s:s,s:I,s:o}", "tenant_id", pl_json_str_or_null(pl_rows_text(r, 0)), "state",
                     pl_rows_text(r, 1), "jobs", (json_int_t)pl_rows_int(r, 2), "oldest_run_at",
                     pl_json_time(pl_rows_int(r, 3)));
}

static int h_admin_depths(pl_ctx_t *c)
{
    static const char *sql =
        "SELECT tenant_id, state, count(*), min(run_at) FROM jobs "
        "WHERE state IN ('queued', 'running', 'failed', 'dead') GROUP BY tenant_id, state "
        "ORDER BY count(*) DESC, tenant_id, state";
    return pl_reply_all_cells(c, depth_json, sql, "queue depths");
}

static json_t *task_json(pl_rows_t *r)
{
    return json_pack(
        "{s:s,s:I,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "name", pl_rows_text(r, 0), "period_ms",
        (json_int_t)pl_rows_int(r, 1), "next_run_at", pl_json_time(pl_rows_int(r, 2)), "runs",
        (json_int_t)pl_rows_int(r, 3), "last_started_at", pl_json_time_or_null(r, 4), "last_finished_at",
        pl_json_time_or_null(r, 5), "last_owner", pl_json_str_or_null(pl_rows_text(r, 6)), "last_status",
        pl_json_str_or_null(pl_rows_text(r, 7)), "last_error", pl_json_str_or_null(pl_rows_text(r, 8)),
        "last_changed", pl_rows_null(r, 9) ? json_null() : json_integer(pl_rows_int(r, 9)));
}

static int h_admin_tasks(pl_ctx_t *c)
{
    static const char *sql =
        "SELECT name, period_ms, next_run_at, runs, last_started_at, last_finished_at, "
        "last_owner, last_status, last_error, last_changed FROM scheduled_tasks ORDER BY name";
    return pl_reply_all_cells(c, task_json, sql, "scheduled tasks");
}

/* ---- tasks ---- */

static int64_t task_reap(pl_app_t *a, pl_db_t *db)
{
    (void)a;
    return pl_job_reap(db);
}

/* Finished jobs older than the retention, and the files of export jobs among them. */
static int64_t task_cleanup(pl_app_t *a, pl_db_t *db)
{
    static const char *const sql[] = {
        "DELETE FROM job_files WHERE job_id IN (SELECT id FROM jobs WHERE state IN ('succeeded', 'failed', "
        "'dead') AND finished_at < $1)",
        /* the uploads of imports that failed for good go with their jobs (a finished import
         * removed its own) */
        "DELETE FROM job_files WHERE substr(job_id, 1, 4) = 'imp_' AND EXISTS (SELECT 1 FROM jobs "
        "WHERE jobs.tenant_id = job_files.tenant_id AND jobs.state IN ('failed', 'dead') "
        "AND jobs.finished_at < $1 AND jobs.payload LIKE '%' || job_files.job_id || '%')",
        "DELETE FROM jobs WHERE state IN ('succeeded', 'failed', 'dead') AND finished_at < $1",
        "DELETE FROM subscriber_receipts WHERE processed_at < $1",
        NULL,
    };
    const pl_jobs_conf_t *conf = pl_app_conf(a, &pl_jobs_module);
    return pl_db_exec_list(db, sql, pl_now_ms() - conf->retention_days * 86400000LL);
}

static const pl_route_t routes[] = {
    {"GET", "/v1/jobs", h_list, NULL, PL_R_TENANT, NULL, 200,
     "Background jobs of the organization, newest first (state, kind, cursor)"},
    {"GET", "/v1/jobs/{id}", h_get, NULL, PL_R_TENANT, NULL, 200, "One job, with its progress and result"},
    {"GET", "/v1/jobs/{id}/download", h_download, NULL, PL_R_TENANT, NULL, 200,
     "The file a finished export job produced"},
    {"POST", "/v1/jobs/{id}/retry", h_retry, "jobs:manage", PL_R_TENANT, NULL, 200,
     "Queue a failed or dead job again", "job.retried"},
    {"GET", "/v1/admin/jobs", h_admin_depths, "platform:jobs:read", PL_R_PLATFORM, NULL, 200,
     "Queue depths of every tenant, by state"},
    {"GET", "/v1/admin/scheduler", h_admin_tasks, "platform:jobs:read", PL_R_PLATFORM, NULL, 200,
     "Periodic tasks: period, next run, last run and by which process"},
    PL_ROUTES_END,
};
static const pl_route_t *const tables[] = {routes, NULL};

static const pl_task_t tasks[] = {
    {"jobs.reap", 5000, task_reap},
    {"jobs.cleanup", 3600000, task_cleanup},
    {NULL, 0, NULL},
};

static const pl_job_kind_t kinds[] = {
    {"subscriber", pl_job_run_subscriber, 0},
    {NULL, NULL, 0},
};

/* The dispatcher hands every committed event here: one subscriber job per matching subscriber. */
static int consume(pl_app_t *app, pl_db_t *db, const pl_event_ref_t *ev)
{
    return pl_subscribers_enqueue(app, db, ev->id, ev->type, ev->tenant_id);
}

static const pl_consumer_t consumers[] = {
    {"subscribers", consume},
    {NULL, NULL},
};

const pl_option_t pl_jobs_options[] = {
    PL_OPTION_LONG(pl_jobs_conf_t, job_workers, "--job-workers", "PLINTH_JOB_WORKERS", 1, 64, "2",
                   "background job runner threads (default 2)"),
    PL_OPTION_LONG(pl_jobs_conf_t, job_attempts, "--job-attempts", "PLINTH_JOB_ATTEMPTS", 1, 100, "8",
                   "attempts before a job is dead-lettered, unless its kind says otherwise (default 8)"),
    PL_OPTION_LONG(
        pl_jobs_conf_t, job_backoff_ms, "--job-backoff-ms", "PLINTH_JOB_BACKOFF_MS", 1, 3600000, "10000",
        "delay before a job's first retry; doubles per attempt up to an hour, ±25% jitter (default 10000)"),
    PL_OPTION_LONG(
        pl_jobs_conf_t, job_lease, "--job-lease", "PLINTH_JOB_LEASE", 1, 86400, "300",
        "seconds a job may run without a sign of life before another runner takes it over (default 300)"),
    PL_OPTION_LONG(
        pl_jobs_conf_t, retention_days, "--job-retention-days", "PLINTH_JOB_RETENTION_DAYS", 1, 3650, "30",
        "days finished jobs (and the files of exports) and subscriber receipts are kept (default 30)"),
    PL_OPTION_LONG(pl_jobs_conf_t, scheduler_tick_ms, "--scheduler-tick-ms", "PLINTH_SCHEDULER_TICK_MS", 10,
                   60000, "1000", "how often the scheduler looks for due periodic tasks (default 1000)"),
    PL_OPTION_LONG(pl_jobs_conf_t, task_lease, "--task-lease", "PLINTH_TASK_LEASE", 1, 86400, "30",
                   "seconds a process holds a periodic task while it runs it; a process killed meanwhile "
                   "leaves it to the others after that (default 30; a task's run is one short transaction)"),
    PL_OPTION_STR(pl_jobs_conf_t, task_periods, "--task-periods", "PLINTH_TASK_PERIODS", NULL,
                  "periods of scheduled tasks in ms other than their defaults, e.g. "
                  "outbox.cleanup=600000,jobs.reap=5000"),
    PL_OPTIONS_END,
};

PL_MIGRATIONS_DECLARE(jobs);

static int jobs_init(pl_app_t *app, pl_err_t *err)
{
    const pl_jobs_conf_t *c = pl_app_conf(app, &pl_jobs_module);
    (void)err;
    pl_app_set_job_attempts(app, (int)c->job_attempts); /* the default of kinds that name none */
    return 0;
}

const pl_module_t pl_jobs_module = {
    .name = "jobs",
    .routes = tables,
    .options = pl_jobs_options,
    .conf_size = sizeof(pl_jobs_conf_t),
    .migrations = PL_MIGRATIONS_OF(jobs),
    .jobs = kinds,
    .consumers = consumers,
    .tasks = tasks,
    .init = jobs_init,
    .start = pl_jobs_start,
    .start_cell = pl_jobs_start_cell,
    .stop = pl_jobs_stop,
};
