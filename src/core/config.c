/*
 * config.c — the option table and its parsers.
 */
#include "core/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

enum kind { K_STR, K_LONG, K_BOOL };

static const struct opt {
    const char *flag;
    const char *env;
    enum kind kind;
    size_t off;
    size_t size;
    long min, max;
    const char *help;
} opts[] = {
    {"--listen", "PLINTH_LISTEN", K_STR, offsetof(pl_config_t, listen), sizeof(((pl_config_t *)0)->listen), 0,
     0, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 picks a free port)"},
    {"--data-dir", "PLINTH_DATA_DIR", K_STR, offsetof(pl_config_t, data_dir), PATH_MAX, 0, 0,
     "data directory holding plinth.db (default ./plinth-data)"},
    {"--workers", "PLINTH_WORKERS", K_LONG, offsetof(pl_config_t, workers), 0, 0, 256,
     "HTTP worker threads (default: number of cores)"},
    {"--max-body", "PLINTH_MAX_BODY", K_LONG, offsetof(pl_config_t, max_body), 0, 1024, 64L * 1024 * 1024,
     "largest accepted request body in bytes (default 1048576)"},
    {"--signup", "PLINTH_SIGNUP", K_BOOL, offsetof(pl_config_t, signup), 0, 0, 0,
     "self-service signup on|off (default on)"},
    {"--access-ttl", "PLINTH_ACCESS_TTL", K_LONG, offsetof(pl_config_t, access_ttl), 0, 1, 86400,
     "access token lifetime in seconds (default 900)"},
    {"--refresh-ttl", "PLINTH_REFRESH_TTL", K_LONG, offsetof(pl_config_t, refresh_ttl), 0, 60, 365L * 86400,
     "refresh token lifetime in seconds (default 2592000)"},
    {"--log-level", "PLINTH_LOG_LEVEL", K_STR, offsetof(pl_config_t, log_level), 16, 0, 0,
     "debug|info|warn|error (default info)"},
    {"--public-url", "PLINTH_PUBLIC_URL", K_STR, offsetof(pl_config_t, public_url), 256, 0, 0,
     "external base URL used in links sent by email (default http://LISTEN)"},
    {"--rate-limit-tenant", "PLINTH_RATE_LIMIT_TENANT", K_STR, offsetof(pl_config_t, rate_limit[0]), 32, 0, 0,
     "default bucket per tenant, RATE:BURST requests/s, 0 = off (default 100:200; plans may set their own)"},
    {"--rate-limit-key", "PLINTH_RATE_LIMIT_KEY", K_STR, offsetof(pl_config_t, rate_limit[1]), 32, 0, 0,
     "default bucket per API key (default 100:200)"},
    {"--rate-limit-ip", "PLINTH_RATE_LIMIT_IP", K_STR, offsetof(pl_config_t, rate_limit[2]), 32, 0, 0,
     "default bucket per client IP (default 300:600)"},
    {"--allow-private-webhooks", "PLINTH_ALLOW_PRIVATE_WEBHOOKS", K_BOOL,
     offsetof(pl_config_t, allow_private_webhooks), 0, 0, 0,
     "on: webhook URLs may target loopback and private networks (default off: refused as SSRF)"},
    {"--smtp-url", "PLINTH_SMTP_URL", K_STR, offsetof(pl_config_t, smtp_url), 256, 0, 0,
     "SMTP server for outgoing mail, smtp://host:port (smtps:// for TLS); empty: mail is only logged"},
    {"--smtp-from", "PLINTH_SMTP_FROM", K_STR, offsetof(pl_config_t, smtp_from), 256, 0, 0,
     "sender address of outgoing mail (default no-reply@plinth.local)"},
    {"--smtp-user", "PLINTH_SMTP_USER", K_STR, offsetof(pl_config_t, smtp_user), 128, 0, 0, "SMTP user name"},
    {"--smtp-password", "PLINTH_SMTP_PASSWORD", K_STR, offsetof(pl_config_t, smtp_password), 128, 0, 0,
     "SMTP password"},
    {"--webhook-retries", "PLINTH_WEBHOOK_RETRIES", K_STR, offsetof(pl_config_t, webhook_retries), 256, 0, 0,
     "seconds between webhook attempts (default 5,300,1800,7200,18000,36000×7: about three days)"},
    {"--webhook-disable-after", "PLINTH_WEBHOOK_DISABLE_AFTER", K_LONG,
     offsetof(pl_config_t, webhook_disable_after), 0, 1, 365L * 86400,
     "seconds an endpoint may fail continuously before it is disabled and the tenant notified "
     "(default 432000: five days)"},
    {"--job-workers", "PLINTH_JOB_WORKERS", K_LONG, offsetof(pl_config_t, job_workers), 0, 1, 64,
     "background job runner threads (default 2)"},
    {"--job-attempts", "PLINTH_JOB_ATTEMPTS", K_LONG, offsetof(pl_config_t, job_attempts), 0, 1, 100,
     "attempts before a job is dead-lettered, unless its kind says otherwise (default 8)"},
    {"--job-backoff-ms", "PLINTH_JOB_BACKOFF_MS", K_LONG, offsetof(pl_config_t, job_backoff_ms), 0, 1,
     3600000, "delay before a job's first retry; doubles per attempt up to an hour, ±25% jitter (default 10000)"},
    {"--job-lease", "PLINTH_JOB_LEASE", K_LONG, offsetof(pl_config_t, job_lease), 0, 1, 86400,
     "seconds a job may run without a sign of life before another runner takes it over (default 300)"},
    {"--csv-job-threshold", "PLINTH_CSV_JOB_THRESHOLD", K_LONG, offsetof(pl_config_t, csv_job_threshold), 0, 0,
     100000000, "rows above which member exports (POST) and imports run as background jobs (default 5000)"},
    {"--event-retention-days", "PLINTH_EVENT_RETENTION_DAYS", K_LONG,
     offsetof(pl_config_t, event_retention_days), 0, 1, 3650,
     "days delivered events, finished jobs and receipts are kept (default 30)"},
    {"--scheduler-tick-ms", "PLINTH_SCHEDULER_TICK_MS", K_LONG, offsetof(pl_config_t, scheduler_tick_ms), 0,
     10, 60000, "how often the scheduler looks for due periodic tasks (default 1000)"},
    {"--task-periods", "PLINTH_TASK_PERIODS", K_STR, offsetof(pl_config_t, task_periods), 256, 0, 0,
     "periods of scheduled tasks in ms other than their defaults, e.g. outbox.cleanup=600000,jobs.reap=5000"},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

void pl_config_defaults(pl_config_t *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
    snprintf(c->data_dir, sizeof(c->data_dir), "./plinth-data");
    c->workers = 0;
    c->max_body = 1024 * 1024;
    c->signup = true;
    c->access_ttl = 900;
    c->refresh_ttl = 30L * 86400;
    snprintf(c->log_level, sizeof(c->log_level), "info");
    snprintf(c->rate_limit[0], sizeof(c->rate_limit[0]), "100:200");
    snprintf(c->rate_limit[1], sizeof(c->rate_limit[1]), "100:200");
    snprintf(c->rate_limit[2], sizeof(c->rate_limit[2]), "300:600");
    snprintf(c->smtp_from, sizeof(c->smtp_from), "no-reply@plinth.local");
    snprintf(c->webhook_retries, sizeof(c->webhook_retries),
             "5,300,1800,7200,18000,36000,36000,36000,36000,36000,36000,36000");
    c->webhook_disable_after = 5L * 86400;
    c->job_workers = 2;
    c->job_attempts = 8;
    c->job_backoff_ms = 10000;
    c->job_lease = 300;
    c->csv_job_threshold = 5000;
    c->event_retention_days = 30;
    c->scheduler_tick_ms = 1000;
}

static int set(pl_config_t *c, const struct opt *o, const char *v, const char *src, char *errbuf,
               size_t errlen)
{
    char *p = (char *)c + o->off;
    char *end;
    long n;
    switch (o->kind) {
    case K_STR:
        if (strlen(v) >= o->size) {
            snprintf(errbuf, errlen, "%s: value is too long", src);
            return -1;
        }
        snprintf(p, o->size, "%s", v);
        return 0;
    case K_LONG:
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || *v == '\0' || *end != '\0' || n < o->min || n > o->max) {
            snprintf(errbuf, errlen, "%s: '%s' must be an integer from %ld to %ld", src, v, o->min, o->max);
            return -1;
        }
        *(long *)(void *)p = n;
        return 0;
    case K_BOOL:
        if (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
            *(bool *)(void *)p = true;
        else if (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
            *(bool *)(void *)p = false;
        else {
            snprintf(errbuf, errlen, "%s: '%s' must be on or off", src, v);
            return -1;
        }
        return 0;
    }
    return -1;
}

int pl_config_from_env(pl_config_t *c, char *errbuf, size_t errlen)
{
    size_t i;
    for (i = 0; i < NOPTS; i++) {
        const char *v = getenv(opts[i].env);
        if (v && *v && set(c, &opts[i], v, opts[i].env, errbuf, errlen) != 0)
            return -1;
    }
    return 0;
}

int pl_config_from_args(pl_config_t *c, int argc, char **argv, char *errbuf, size_t errlen)
{
    int i, out = 1;
    size_t k;
    for (i = 1; i < argc; i++) {
        const struct opt *o = NULL;
        const char *a = argv[i], *v = NULL;
        for (k = 0; k < NOPTS; k++) {
            size_t fl = strlen(opts[k].flag);
            if (strncmp(a, opts[k].flag, fl) == 0 && (a[fl] == '\0' || a[fl] == '=')) {
                o = &opts[k];
                v = a[fl] == '=' ? a + fl + 1 : NULL;
                break;
            }
        }
        if (o == NULL) {
            argv[out++] = argv[i];
            continue;
        }
        if (v == NULL && o->kind == K_BOOL &&
            (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0 ||
             (strcmp(argv[i + 1], "on") && strcmp(argv[i + 1], "off") && strcmp(argv[i + 1], "true") &&
              strcmp(argv[i + 1], "false") && strcmp(argv[i + 1], "1") && strcmp(argv[i + 1], "0"))))
            v = "on"; /* a bare boolean flag */
        if (v == NULL) {
            if (i + 1 >= argc) {
                snprintf(errbuf, errlen, "%s needs a value", o->flag);
                return -1;
            }
            v = argv[++i];
        }
        if (set(c, o, v, o->flag, errbuf, errlen) != 0)
            return -1;
    }
    argv[out] = NULL;
    return out;
}

void pl_config_usage(FILE *out)
{
    size_t i;
    fprintf(out, "Options (flag > environment variable > default):\n");
    for (i = 0; i < NOPTS; i++)
        fprintf(out, "  %-14s %-22s %s\n", opts[i].flag, opts[i].env, opts[i].help);
}

int pl_config_listen(const pl_config_t *c, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(c->listen, ':');
    char *end;
    long p;
    size_t hl;
    if (colon == NULL)
        return -1;
    hl = (size_t)(colon - c->listen);
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, c->listen, hl);
    host[hl] = '\0';
    if (host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || colon[1] == '\0' || p < 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

void pl_config_path(const pl_config_t *c, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", c->data_dir, name);
}
