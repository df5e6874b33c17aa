/*
 * config.h — server configuration: flags > environment (PLINTH_*) > defaults.
 *
 * One table in config.c lists every option with its flag, variable, default and help,
 * so `plinth serve --help` and the parser cannot disagree. The struct is filled once
 * at start and read-only afterwards.
 */
#ifndef PL_CONFIG_H
#define PL_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/log.h"

typedef struct pl_config {
    char listen[128]; /* HOST:PORT; port 0 picks a free one (logged) */
    char data_dir[PATH_MAX];
    long workers;     /* 0: one per core */
    long max_body;    /* bytes */
    bool signup;      /* self-service signup */
    long access_ttl;  /* seconds */
    long refresh_ttl; /* seconds */
    char log_level[16];
    char public_url[256];        /* base of links in emails; default http://LISTEN */
    char rate_limit[3][32];      /* tenant, key, ip: "RATE:BURST" requests per second, or "0" (off) */
    bool allow_private_webhooks; /* webhook URLs may point at loopback / private addresses */
    char webhook_retries[256];   /* seconds between delivery attempts, comma-separated */
    char smtp_url[256];          /* smtp://host:port or smtps://…; empty: mail goes to the log */
    char smtp_from[256];
    char smtp_user[128];
    char smtp_password[128];
    long webhook_disable_after; /* seconds an endpoint may fail continuously before it is disabled */
    long job_workers;           /* runner threads */
    long job_attempts;          /* default max_attempts of a job */
    long job_backoff_ms;        /* first retry delay; doubles per attempt, capped at one hour */
    long job_lease;             /* seconds a runner holds a job without a sign of life */
    long csv_job_threshold;     /* rows above which exports/imports run as jobs */
    long event_retention_days;  /* delivered events older than this are removed */
    long scheduler_tick_ms;     /* how often the scheduler looks for due tasks */
    char task_periods[256];     /* "name=ms,…": periods of scheduled tasks other than their defaults */
} pl_config_t;

void pl_config_defaults(pl_config_t *c);
/* Applies PLINTH_* variables; returns 0, or -1 with a message in errbuf. */
int pl_config_from_env(pl_config_t *c, char *errbuf, size_t errlen);
/*
 * Consumes the options it knows from argv[1..argc) and moves the others, in order, to the
 * front of argv; returns the new argc, or -1 with a message. "--help" is left in place.
 */
int pl_config_from_args(pl_config_t *c, int argc, char **argv, char *errbuf, size_t errlen);
void pl_config_usage(FILE *out);
/* Splits c->listen into host and port; returns 0 or -1. */
int pl_config_listen(const pl_config_t *c, char *host, size_t hostlen, int *port);
/* Path of a file in the data directory. */
void pl_config_path(const pl_config_t *c, const char *name, char *out, size_t outlen);

#endif
