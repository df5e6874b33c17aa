/*
 * runner.c — the runner threads (claim a job, run its kind, record the outcome), the
 * "subscriber" job kind that hands a committed event to an in-process subscriber, and the
 * scheduler thread that runs periodic tasks under a lease (see jobs.h).
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "app/cells.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "events/events.h"
#include "jobs/internal.h"
#include "jobs/jobs.h"
#include "core/banned.h"

/* Each cell has its own queue and schedule: its runners and its scheduler. */
typedef struct cell_work {
    struct pl_jobs *js;
    const pl_cell_t *cell;
    pthread_t *runners;
    int started;
    pthread_t scheduler;
    bool scheduler_started;
} cell_work_t;

struct pl_jobs {
    pl_app_t *app;
    const pl_jobs_conf_t *conf;
    int nrunners; /* per cell */
    pthread_mutex_t lock;
    cell_work_t *cells[PL_MAX_CELLS];
    int ncells;
    char owner[96]; /* this process, as the scheduler's lease owner */
};

static const pl_jobs_conf_t *conf(const pl_app_t *app)
{
    return pl_app_conf(app, &pl_jobs_module);
}

int pl_subscribers_enqueue(pl_app_t *app, pl_db_t *db, const char *event_id, const char *type,
                           const char *tenant_id)
{
    size_t m;
    const pl_subscriber_t *sub;
    for (m = 0; m < pl_app_nmodules(app); m++)
        for (sub = pl_app_module(app, m)->subscribers; sub && sub->name; sub++) {
            char key[160];
            json_t *payload;
            int rc;
            if (!pl_event_matches(sub->events, type))
                continue;
            snprintf(key, sizeof(key), "sub:%s:%s", sub->name, event_id);
            payload =
                json_pack("{s:s,s:s,s:s}", "subscriber", sub->name, "event_id", event_id, "event_type", type);
            rc = pl_job_enqueue(app, db, tenant_id, "subscriber", payload, NULL, key, 0, 0, NULL);
            json_decref(payload);
            if (rc != 0)
                return rc;
        }
    return 0;
}

bool pl_job_stopping(const pl_job_t *j)
{
    return pl_app_stopping(j->app);
}

/* The "subscriber" kind (declared by the jobs module): the event and the subscriber's receipt
 * for it in one transaction. */
int pl_job_run_subscriber(pl_job_t *j)
{
    static const char *sql_ev = "SELECT id, type, tenant_id, occurred_at, data FROM events WHERE id = $1";
    static const char *sql_receipt =
        "INSERT INTO subscriber_receipts (subscriber, event_id, processed_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (subscriber, event_id) DO NOTHING";
    const char *name = json_string_value(json_object_get(j->payload, "subscriber"));
    const char *event_id = json_string_value(json_object_get(j->payload, "event_id"));
    const pl_subscriber_t *sub = name ? pl_app_subscriber(j->app, name) : NULL;
    pl_event_t ev;
    pl_rows_t *r;
    json_t *data = NULL;
    int rc, changed;
    if (sub == NULL || event_id == NULL)
        return pl_job_fail(j, true, "no subscriber named '%s' in this version", name ? name : "");
    if (pl_op_begin(&j->op, PL_TX_WRITE, j->tenant_id) != 0)
        return pl_job_fail(j, false, "the store is busy");
    if (pl_db_query(j->db, &r, sql_ev, PL_ARGS(PL_TEXT(event_id))) != 0) {
        pl_db_rollback(j->db);
        return pl_job_fail(j, false, "the event could not be read");
    }
    if ((rc = pl_rows_next(r)) == 1) {
        ev.id = pl_strdup(j->arena, pl_rows_text(r, 0));
        ev.type = pl_strdup(j->arena, pl_rows_text(r, 1));
        ev.tenant_id = pl_strdup(j->arena, pl_rows_text(r, 2));
        ev.occurred_ms = pl_rows_int(r, 3);
        data = json_loads(pl_rows_text(r, 4), 0, NULL);
    }
    pl_rows_close(r);
    if (rc != 1) {
        pl_db_rollback(j->db);
        return pl_job_fail(j, true, "the event %s no longer exists", event_id);
    }
    ev.data = data ? data : json_object();
    changed = pl_db_exec(j->db, sql_receipt, PL_ARGS(PL_TEXT(name), PL_TEXT(event_id), PL_INT(pl_now_ms())));
    if (changed == 0) { /* processed before: a second delivery of the same event */
        j->result = json_pack("{s:b}", "already_processed", 1);
        rc = 0;
    } else {
        rc = changed < 0 ? pl_job_fail(j, false, "the receipt could not be written")
                         : sub->handle(&j->op, &ev);
        if (rc != 0 && j->error[0] == '\0')
            pl_job_fail(j, false, "%s", j->op.err.message[0] ? j->op.err.message : "the subscriber failed");
    }
    json_decref(ev.data);
    if (rc != 0) {
        pl_op_abort(&j->op);
        return rc;
    }
    if (pl_op_commit(&j->op) != 0)
        return pl_job_fail(j, false, "the commit failed: %s", j->op.err.message);
    return 0;
}

/* The job acts as whoever enqueued it, with the role the payload recorded as "_role"
 * (viewer if none): its audit entries name them. */
static const pl_principal_t *acting_as(pl_job_t *j)
{
    pl_principal_t *p;
    const char *role = pl_json_str(j->payload, "_role");
    if (j->created_by == NULL || j->tenant_id == NULL)
        return NULL;
    p = pl_zalloc(j->arena, sizeof(*p));
    if (role == NULL || !pl_rbac_role_valid(role))
        role = "viewer";
    p->kind = strncmp(j->created_by, "key_", 4) == 0 ? PL_PRINCIPAL_APIKEY : PL_PRINCIPAL_USER;
    snprintf(p->kind == PL_PRINCIPAL_USER ? p->user_id : p->key_id, PL_ID_MAX, "%s", j->created_by);
    snprintf(p->tenant_id, sizeof(p->tenant_id), "%s", j->tenant_id);
    snprintf(p->role, sizeof(p->role), "%s", role);
    p->perms = pl_rbac_role_perms(role, false);
    return p;
}

static void run_one(struct pl_jobs *js, const pl_cell_t *cell, pl_db_t *db, pl_arena_t *arena,
                    pl_job_row_t *row)
{
    const pl_job_kind_t *k = pl_app_job_kind(js->app, row->kind);
    pl_job_t j;
    json_error_t jerr;
    char *result = NULL, fields[512];
    int64_t t0 = pl_mono_ms();
    int rc;
    memset(&j, 0, sizeof(j));
    pl_op_init(&j.op, js->app, db, arena);
    j.op.cell = cell;
    j.app = js->app;
    j.db = db;
    j.arena = arena;
    j.id = row->id;
    j.tenant_id = row->tenant_id;
    j.kind = row->kind;
    j.created_by = row->created_by;
    j.attempt = row->attempts;
    j.max_attempts = row->max_attempts;
    j.claim_token = row->claim_token;
    j.lease_ms = js->conf->job_lease * 1000;
    j.payload = json_loads(row->payload, 0, &jerr);
    j.op.tenant_id = row->tenant_id;
    snprintf(j.op.request_id, sizeof(j.op.request_id), "%s", row->id);
    if (j.payload) {
        j.op.principal = acting_as(&j);
        if (j.op.principal == NULL)
            j.op.actor_type = "system";
    }
    if (j.payload == NULL)
        rc = pl_job_fail(&j, true, "the payload is not JSON");
    else if (k == NULL)
        rc = pl_job_fail(&j, true, "no runner for jobs of kind '%s' in this version", row->kind);
    else
        rc = k->run(&j);
    if (pl_db_in_tx(db)) /* a job must not leave a transaction open */
        pl_op_abort(&j.op);
    pl_op_release(&j.op);
    if (j.result)
        result = json_dumps(j.result, JSON_COMPACT);
    if (pl_job_finish(db, row, rc, j.error, j.permanent, result, js->conf->job_backoff_ms) < 0)
        pl_logf(PL_LOG_ERROR, "the outcome of a job could not be recorded; its lease will expire", "%s",
                row->id);
    snprintf(fields, sizeof(fields), "\"job\":\"%s\",\"kind\":\"%s\",\"attempt\":%d,\"ok\":%s,\"ms\":%lld",
             row->id, row->kind, row->attempts, rc == 0 ? "true" : "false", (long long)(pl_mono_ms() - t0));
    pl_log(rc == 0 ? PL_LOG_DEBUG : PL_LOG_WARN, rc == 0 ? "job done" : j.error, fields);
    free(result);
    json_decref(j.result);
    json_decref(j.payload);
}

static void *runner_main(void *arg)
{
    cell_work_t *cw = arg;
    struct pl_jobs *js = cw->js;
    pl_db_t *db;
    pl_err_t err;
    pl_err_clear(&err);
    if (pl_app_connect_cell(js->app, cw->cell, &db, &err) != 0) {
        pl_logf(PL_LOG_ERROR, "job runner: no store connection", "cell %s", cw->cell->name);
        return NULL;
    }
    while (!pl_app_stopping(js->app)) {
        pl_arena_t arena;
        pl_job_row_t row;
        int rc;
        pl_arena_init(&arena);
        rc = pl_job_claim(db, &arena, js->conf->job_lease * 1000, &row);
        if (rc == 1)
            run_one(js, cw->cell, db, &arena, &row);
        pl_arena_release(&arena);
        if (rc != 1)
            usleep(100000);
    }
    pl_db_close(db);
    return NULL;
}

/* ---- scheduler ---- */

/* Operators may shorten or lengthen a task's period: --task-periods "jobs.reap=1000,…". */
static int64_t task_period(const struct pl_jobs *js, const pl_task_t *t)
{
    const char *p = js->conf->task_periods;
    size_t n = strlen(t->name);
    while (p && *p) {
        if (strncmp(p, t->name, n) == 0 && p[n] == '=')
            return strtoll(p + n + 1, NULL, 10) > 0 ? strtoll(p + n + 1, NULL, 10) : t->period_ms;
        p = strchr(p, ',');
        if (p)
            p++;
    }
    return t->period_ms;
}

/* A control-plane module's tasks sweep control-plane tables: the pool's scheduler runs them. */
static bool runs_in(const pl_module_t *m, const pl_cell_t *cell)
{
    return cell->index == 0 || !m->control_plane;
}

static void register_tasks(struct pl_jobs *js, const pl_cell_t *cell, pl_db_t *db)
{
    static const char *sql = "INSERT INTO scheduled_tasks (name, period_ms, next_run_at) VALUES ($1, $2, $3) "
                             "ON CONFLICT (name) DO UPDATE SET period_ms = excluded.period_ms, "
                             "next_run_at = CASE WHEN scheduled_tasks.next_run_at > $3 + excluded.period_ms "
                             "THEN $3 + excluded.period_ms ELSE scheduled_tasks.next_run_at END";
    size_t m;
    const pl_task_t *t;
    for (m = 0; m < pl_app_nmodules(js->app); m++)
        for (t = pl_app_module(js->app, m)->tasks; runs_in(pl_app_module(js->app, m), cell) && t && t->name;
             t++)
            if (pl_db_exec(db, sql,
                           PL_ARGS(PL_TEXT(t->name), PL_INT(task_period(js, t)), PL_INT(pl_now_ms()))) < 0)
                pl_logf(PL_LOG_ERROR, "a periodic task could not be registered", "%s", t->name);
}

static void run_task(struct pl_jobs *js, pl_db_t *db, const pl_task_t *t)
{
    static const char *sql_claim =
        "UPDATE scheduled_tasks SET lease_owner = $2, lease_until = $3, next_run_at = $4, runs = runs + 1, "
        "last_started_at = $1, last_owner = $2 WHERE name = $5 AND next_run_at <= $1 "
        "AND (lease_until IS NULL OR lease_until < $1)";
    static const char *sql_done =
        "UPDATE scheduled_tasks SET lease_owner = NULL, lease_until = NULL, last_finished_at = $3, "
        "last_status = $4, last_error = $5, last_changed = $6 WHERE name = $1 AND lease_owner = $2";
    int64_t now = pl_now_ms(), changed;
    int64_t period = task_period(js, t);
    /* the lease: one process wins the period; the others see next_run_at moved on */
    if (pl_db_exec(db, sql_claim,
                   PL_ARGS(PL_INT(now), PL_TEXT(js->owner), PL_INT(now + js->conf->task_lease * 1000),
                           PL_INT(now + period), PL_TEXT(t->name))) != 1)
        return;
    /* a task is control-plane work (it sweeps every tenant's rows): one transaction */
    if (pl_db_begin(db, PL_TX_WRITE, NULL) != 0) {
        changed = PL_EDB;
    } else {
        changed = t->run(js->app, db);
        if (changed < 0 || pl_db_commit(db) != 0) {
            pl_db_rollback(db);
            if (changed >= 0)
                changed = PL_EDB;
        }
    }
    pl_db_exec(db, sql_done,
               PL_ARGS(PL_TEXT(t->name), PL_TEXT(js->owner), PL_INT(pl_now_ms()),
                       PL_TEXT(changed < 0 ? "error" : "ok"), PL_TEXT(changed < 0 ? pl_db_errmsg(db) : NULL),
                       PL_INT(changed < 0 ? 0 : changed)));
    if (changed != 0)
        pl_logf(changed < 0 ? PL_LOG_WARN : PL_LOG_DEBUG, "scheduled task ran", "%s: %lld", t->name,
                (long long)changed);
}

static void *scheduler_main(void *arg)
{
    cell_work_t *cw = arg;
    struct pl_jobs *js = cw->js;
    pl_db_t *db;
    pl_err_t err;
    int64_t slept = 0;
    pl_err_clear(&err);
    if (pl_app_connect_cell(js->app, cw->cell, &db, &err) != 0) {
        pl_logf(PL_LOG_ERROR, "scheduler: no store connection", "cell %s", cw->cell->name);
        return NULL;
    }
    register_tasks(js, cw->cell, db);
    while (!pl_app_stopping(js->app)) {
        size_t m;
        const pl_task_t *t;
        if (slept <= 0) {
            for (m = 0; m < pl_app_nmodules(js->app) && !pl_app_stopping(js->app); m++)
                for (t = pl_app_module(js->app, m)->tasks;
                     runs_in(pl_app_module(js->app, m), cw->cell) && t && t->name; t++)
                    run_task(js, db, t);
            slept = js->conf->scheduler_tick_ms;
        }
        usleep(50000);
        slept -= 50;
    }
    pl_db_close(db);
    return NULL;
}

int pl_jobs_start(pl_app_t *app, pl_err_t *err)
{
    struct pl_jobs *js = calloc(1, sizeof(*js));
    char host[64] = "";
    uint8_t raw[4];
    (void)err;
    if (js == NULL)
        abort();
    js->app = app;
    js->conf = conf(app);
    gethostname(host, sizeof(host) - 1);
    randombytes_buf(raw, sizeof(raw));
    snprintf(js->owner, sizeof(js->owner), "%s:%d:%02x%02x%02x%02x", host, (int)getpid(), raw[0], raw[1],
             raw[2], raw[3]);
    js->nrunners = (int)js->conf->job_workers;
    pthread_mutex_init(&js->lock, NULL);
    pl_app_set_state(app, &pl_jobs_module, js);
    return 0;
}

int pl_jobs_start_cell(pl_app_t *app, const pl_cell_t *cell, pl_err_t *err)
{
    struct pl_jobs *js = pl_app_state(app, &pl_jobs_module);
    cell_work_t *cw = calloc(1, sizeof(*cw));
    int rc = 0;
    if (cw == NULL || (cw->runners = calloc((size_t)js->nrunners, sizeof(pthread_t))) == NULL)
        abort();
    cw->js = js;
    cw->cell = cell;
    pthread_mutex_lock(&js->lock);
    if (js->ncells >= PL_MAX_CELLS) {
        pthread_mutex_unlock(&js->lock);
        free(cw->runners);
        free(cw);
        return pl_err_set(err, PL_EINTERNAL, NULL, "too many cells");
    }
    js->cells[js->ncells++] = cw; /* joined by stop, whatever started */
    for (; rc == 0 && cw->started < js->nrunners; cw->started++)
        if ((rc = pl_app_thread(&cw->runners[cw->started], runner_main, cw, "job runner", err)) != 0)
            break;
    if (rc == 0 && (rc = pl_app_thread(&cw->scheduler, scheduler_main, cw, "scheduler", err)) == 0)
        cw->scheduler_started = true;
    pthread_mutex_unlock(&js->lock);
    return rc;
}

void pl_jobs_stop(pl_app_t *app)
{
    struct pl_jobs *js = pl_app_state(app, &pl_jobs_module);
    int i, k;
    if (js == NULL)
        return;
    for (k = 0; k < js->ncells; k++) {
        cell_work_t *cw = js->cells[k];
        for (i = 0; i < cw->started; i++)
            pthread_join(cw->runners[i], NULL);
        if (cw->scheduler_started)
            pthread_join(cw->scheduler, NULL);
        free(cw->runners);
        free(cw);
    }
    pthread_mutex_destroy(&js->lock);
    free(js);
    pl_app_set_state(app, &pl_jobs_module, NULL);
}
