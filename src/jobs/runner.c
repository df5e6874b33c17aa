/*
 * runner.c — the runner threads (claim a job, run its kind, record the outcome), the
 * "subscriber" job kind that hands a committed event to an in-process subscriber, and the
 * scheduler thread that runs periodic tasks under a lease (see jobs.h).
 */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/ctx.h"
#include "http/server.h"
#include "jobs/internal.h"
#include "jobs/jobs.h"
#include "core/banned.h"

#define SCHED_LEASE_MS 600000

struct pl_jobs {
    pl_server_t *srv;
    pthread_t *runners;
    int nrunners;
    pthread_t scheduler;
    char owner[96]; /* this process, as the scheduler's lease owner */
};

static const pl_job_kind_t *find_kind(pl_server_t *s, const char *kind)
{
    size_t m;
    const pl_job_kind_t *k;
    for (m = 0; m < s->nmodules; m++)
        for (k = s->modules[m]->jobs; k && k->kind; k++)
            if (strcmp(k->kind, kind) == 0)
                return k;
    return NULL;
}

static const pl_subscriber_t *find_subscriber(pl_server_t *s, const char *name)
{
    size_t m;
    const pl_subscriber_t *sub;
    for (m = 0; m < s->nmodules; m++)
        for (sub = s->modules[m]->subscribers; sub && sub->name; sub++)
            if (strcmp(sub->name, name) == 0)
                return sub;
    return NULL;
}

int pl_subscribers_enqueue(pl_server_t *s, pl_db_t *db, const char *event_id, const char *type,
                           const char *tenant_id)
{
    size_t m;
    const pl_subscriber_t *sub;
    for (m = 0; m < s->nmodules; m++)
        for (sub = s->modules[m]->subscribers; sub && sub->name; sub++) {
            char key[160];
            json_t *payload;
            int rc;
            if (!pl_event_matches(sub->events, type))
                continue;
            snprintf(key, sizeof(key), "sub:%s:%s", sub->name, event_id);
            payload = json_pack("{s:s,s:s,s:s}", "subscriber", sub->name, "event_id", event_id, "event_type", type);
            rc = pl_job_enqueue(db, tenant_id, "subscriber", payload, NULL, key, 0, 0, NULL);
            json_decref(payload);
            if (rc != 0)
                return rc;
        }
    return 0;
}

bool pl_job_stopping(const pl_job_t *j)
{
    return atomic_load(&j->srv->stop);
}

void pl_job_ctx(pl_job_t *j, pl_ctx_t *c)
{
    pl_principal_t *p = pl_zalloc(j->arena, sizeof(*p));
    const char *role = pl_json_str(j->payload, "_role"), *k;
    json_t *query = json_object_get(j->payload, "query"), *v;
    int n = 0;
    memset(c, 0, sizeof(*c));
    c->srv = j->srv;
    c->arena = j->arena;
    c->db = j->db;
    c->tenant_id = j->tenant_id;
    snprintf(c->request_id, sizeof(c->request_id), "%s", j->id);
    pl_err_clear(&c->err);
    if (role == NULL || !pl_rbac_role_valid(role))
        role = "viewer";
    p->kind = j->created_by && strncmp(j->created_by, "key_", 4) == 0 ? PL_PRINCIPAL_APIKEY : PL_PRINCIPAL_USER;
    snprintf(p->kind == PL_PRINCIPAL_USER ? p->user_id : p->key_id, PL_ID_MAX, "%s", j->created_by ? j->created_by : "");
    snprintf(p->tenant_id, sizeof(p->tenant_id), "%s", j->tenant_id ? j->tenant_id : "");
    snprintf(p->role, sizeof(p->role), "%s", role);
    p->perms = pl_rbac_role_perms(role, false);
    c->principal = p;
    c->query = pl_zalloc(j->arena, sizeof(pl_qparam_t) * (json_object_size(query) + 1));
    json_object_foreach(query, k, v)
    {
        if (json_is_string(v)) {
            c->query[n].name = pl_strdup(j->arena, k);
            c->query[n].value = pl_strdup(j->arena, json_string_value(v));
            n++;
        }
    }
    c->nquery = n;
}

void pl_job_ctx_done(pl_ctx_t *c)
{
    json_decref(c->problem_extra);
    json_decref(c->audit_before);
    json_decref(c->resp);
    c->problem_extra = c->audit_before = c->resp = NULL;
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
    const pl_subscriber_t *sub = name ? find_subscriber(j->srv, name) : NULL;
    pl_event_t ev;
    pl_rows_t *r;
    json_t *data = NULL;
    int rc, changed;
    if (sub == NULL || event_id == NULL)
        return pl_job_fail(j, true, "no subscriber named '%s' in this version", name ? name : "");
    if (pl_db_begin(j->db, PL_TX_WRITE, j->tenant_id) != 0)
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
        rc = changed < 0 ? pl_job_fail(j, false, "the receipt could not be written") : sub->handle(j, &ev);
    }
    json_decref(ev.data);
    if (rc != 0) {
        pl_db_rollback(j->db);
        return rc;
    }
    if (pl_db_commit(j->db) != 0)
        return pl_job_fail(j, false, "the commit failed");
    return 0;
}

static void run_one(struct pl_jobs *js, pl_db_t *db, pl_arena_t *arena, pl_job_row_t *row)
{
    pl_server_t *s = js->srv;
    const pl_job_kind_t *k = find_kind(s, row->kind);
    pl_job_t j;
    json_error_t jerr;
    char *result = NULL, fields[512];
    int64_t t0 = pl_mono_ms();
    int rc;
    memset(&j, 0, sizeof(j));
    j.srv = s;
    j.db = db;
    j.arena = arena;
    j.id = row->id;
    j.tenant_id = row->tenant_id;
    j.kind = row->kind;
    j.created_by = row->created_by;
    j.attempt = row->attempts;
    j.max_attempts = row->max_attempts;
    j.claim_token = row->claim_token;
    j.payload = json_loads(row->payload, 0, &jerr);
    if (j.payload == NULL)
        rc = pl_job_fail(&j, true, "the payload is not JSON");
    else if (k == NULL)
        rc = pl_job_fail(&j, true, "no runner for jobs of kind '%s' in this version", row->kind);
    else
        rc = k->run(&j);
    if (pl_db_in_tx(db)) /* a job must not leave a transaction open */
        pl_db_rollback(db);
    if (j.result)
        result = json_dumps(j.result, JSON_COMPACT);
    pl_job_finish(db, row, rc, j.error, j.permanent, result, s->cfg.job_backoff_ms);
    snprintf(fields, sizeof(fields), "\"job\":\"%s\",\"kind\":\"%s\",\"attempt\":%d,\"ok\":%s,\"ms\":%lld", row->id,
             row->kind, row->attempts, rc == 0 ? "true" : "false", (long long)(pl_mono_ms() - t0));
    pl_log(rc == 0 ? PL_LOG_DEBUG : PL_LOG_WARN, rc == 0 ? "job done" : j.error, fields);
    free(result);
    json_decref(j.result);
    json_decref(j.payload);
}

static void *runner_main(void *arg)
{
    struct pl_jobs *js = arg;
    pl_server_t *s = js->srv;
    pl_db_t *db;
    pl_err_t err;
    pl_err_clear(&err);
    if (pl_db_connect(s->store, &db, &err) != 0) {
        pl_log(PL_LOG_ERROR, "job runner: no store connection", NULL);
        return NULL;
    }
    while (!atomic_load(&s->stop)) {
        pl_arena_t arena;
        pl_job_row_t row;
        int rc;
        pl_arena_init(&arena);
        rc = pl_job_claim(db, &arena, s->cfg.job_lease * 1000, &row);
        if (rc == 1)
            run_one(js, db, &arena, &row);
        pl_arena_release(&arena);
        if (rc != 1)
            usleep(100000);
    }
    pl_db_close(db);
    return NULL;
}

/* ---- scheduler ---- */

/* Operators may shorten or lengthen a task's period: --task-periods "jobs.reap=1000,…". */
static int64_t task_period(const pl_server_t *s, const pl_task_t *t)
{
    const char *p = s->cfg.task_periods;
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

static void register_tasks(struct pl_jobs *js, pl_db_t *db)
{
    static const char *sql =
        "INSERT INTO scheduled_tasks (name, period_ms, next_run_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (name) DO UPDATE SET period_ms = excluded.period_ms, "
        "next_run_at = CASE WHEN scheduled_tasks.next_run_at > $3 + excluded.period_ms "
        "THEN $3 + excluded.period_ms ELSE scheduled_tasks.next_run_at END";
    size_t m;
    const pl_task_t *t;
    for (m = 0; m < js->srv->nmodules; m++)
        for (t = js->srv->modules[m]->tasks; t && t->name; t++)
            pl_db_exec(db, sql, PL_ARGS(PL_TEXT(t->name), PL_INT(task_period(js->srv, t)), PL_INT(pl_now_ms())));
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
    int64_t period = task_period(js->srv, t);
    /* the lease: one process wins the period; the others see next_run_at moved on */
    if (pl_db_exec(db, sql_claim,
                   PL_ARGS(PL_INT(now), PL_TEXT(js->owner), PL_INT(now + SCHED_LEASE_MS), PL_INT(now + period),
                           PL_TEXT(t->name))) != 1)
        return;
    changed = t->run(js->srv, db);
    if (pl_db_in_tx(db))
        pl_db_rollback(db);
    pl_db_exec(db, sql_done,
               PL_ARGS(PL_TEXT(t->name), PL_TEXT(js->owner), PL_INT(pl_now_ms()), PL_TEXT(changed < 0 ? "error" : "ok"),
                       PL_TEXT(changed < 0 ? pl_db_errmsg(db) : NULL), PL_INT(changed < 0 ? 0 : changed)));
    if (changed != 0)
        pl_logf(changed < 0 ? PL_LOG_WARN : PL_LOG_DEBUG, "scheduled task ran", "%s: %lld", t->name,
                (long long)changed);
}

static void *scheduler_main(void *arg)
{
    struct pl_jobs *js = arg;
    pl_server_t *s = js->srv;
    pl_db_t *db;
    pl_err_t err;
    int64_t slept = 0;
    pl_err_clear(&err);
    if (pl_db_connect(s->store, &db, &err) != 0) {
        pl_log(PL_LOG_ERROR, "scheduler: no store connection", NULL);
        return NULL;
    }
    register_tasks(js, db);
    while (!atomic_load(&s->stop)) {
        size_t m;
        const pl_task_t *t;
        if (slept <= 0) {
            for (m = 0; m < s->nmodules && !atomic_load(&s->stop); m++)
                for (t = s->modules[m]->tasks; t && t->name; t++)
                    run_task(js, db, t);
            slept = s->cfg.scheduler_tick_ms;
        }
        usleep(50000);
        slept -= 50;
    }
    pl_db_close(db);
    return NULL;
}

int pl_jobs_start(pl_server_t *s)
{
    struct pl_jobs *js = calloc(1, sizeof(*js));
    char host[64] = "";
    uint8_t raw[4];
    int i;
    if (js == NULL)
        abort();
    js->srv = s;
    gethostname(host, sizeof(host) - 1);
    randombytes_buf(raw, sizeof(raw));
    snprintf(js->owner, sizeof(js->owner), "%s:%d:%02x%02x%02x%02x", host, (int)getpid(), raw[0], raw[1], raw[2],
             raw[3]);
    js->nrunners = (int)s->cfg.job_workers;
    js->runners = calloc((size_t)js->nrunners, sizeof(pthread_t));
    if (js->runners == NULL)
        abort();
    s->jobs = js;
    for (i = 0; i < js->nrunners; i++)
        pthread_create(&js->runners[i], NULL, runner_main, js);
    pthread_create(&js->scheduler, NULL, scheduler_main, js);
    return 0;
}

void pl_jobs_stop(pl_server_t *s)
{
    struct pl_jobs *js = s->jobs;
    int i;
    if (js == NULL)
        return;
    for (i = 0; i < js->nrunners; i++)
        pthread_join(js->runners[i], NULL);
    pthread_join(js->scheduler, NULL);
    free(js->runners);
    free(js);
    s->jobs = NULL;
}
