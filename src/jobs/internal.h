/*
 * internal.h — shared by the files of the jobs module only.
 */
#ifndef PL_JOBS_INTERNAL_H
#define PL_JOBS_INTERNAL_H

#include "jobs/jobs.h"

/* The "subscriber" job kind: hands a committed event to an in-process subscriber (runner.c). */
int pl_job_run_subscriber(pl_job_t *j);

typedef struct pl_jobs_conf {
    long job_workers;       /* runner threads */
    long job_attempts;      /* default max_attempts of a job */
    long job_backoff_ms;    /* first retry delay; doubles per attempt, capped at one hour */
    long job_lease;         /* seconds a runner holds a job without a sign of life */
    long retention_days;    /* finished jobs are kept this long */
    long scheduler_tick_ms; /* how often the scheduler looks for due tasks */
    long task_lease;        /* seconds a process holds a periodic task it runs */
    char task_periods[256]; /* "name=ms,…": periods of scheduled tasks other than their defaults */
} pl_jobs_conf_t;

extern const pl_option_t pl_jobs_options[];
/* The attempts of a new job of kind: its own, else --job-attempts. */
int pl_jobs_start(pl_app_t *app, pl_err_t *err);
int pl_jobs_start_cell(pl_app_t *app, const pl_cell_t *cell, pl_err_t *err);
void pl_jobs_stop(pl_app_t *app);

#endif
