/*
 * internal.h — shared by the files of the jobs module only.
 */
#ifndef PL_JOBS_INTERNAL_H
#define PL_JOBS_INTERNAL_H

#include "jobs/jobs.h"

/* The "subscriber" job kind: hands a committed event to an in-process subscriber (runner.c). */
int pl_job_run_subscriber(pl_job_t *j);

#endif
