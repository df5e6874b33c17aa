/*
 * main.c — the plinth command: serve, migrate, version, demo, tenant, user, apikey.
 *
 * Configuration comes from flags > PLINTH_* environment > defaults (core/config.h). The
 * modules the server runs are listed here, in one array.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "events/audit.h"
#include "events/mail.h"
#include "events/notifications.h"
#include "events/outbox.h"
#include "events/stream.h"
#include "events/webhooks.h"
#include "core/config.h"
#include "core/log.h"
#include "http/ops.h"
#include "http/server.h"
#include "jobs/jobs.h"
#include "modules/members/members.h"
#include "platform/platform.h"
#include "core/banned.h"

#ifndef PLINTH_VERSION
#define PLINTH_VERSION "dev"
#endif

static const pl_module_t *const modules[] = {
    &pl_ops_module,    &pl_platform_module, &pl_members_module, &pl_audit_module,
    &pl_events_module, &pl_webhooks_module, &pl_stream_module,  &pl_jobs_module,
    &pl_mail_module,   &pl_notifications_module,
};

static void usage(FILE *out)
{
    fprintf(out,
            "plinth %s — multi-tenant SaaS platform\n\n"
            "usage: plinth COMMAND [options]\n\n"
            "commands:\n"
            "  serve                      run the HTTP server\n"
            "  migrate                    apply pending schema migrations\n"
            "  version                    print the version\n"
            "  demo                       create demo data and print how to log in\n"
            "  tenant create --name N [--slug S] | tenant list\n"
            "  user create --email E --password P [--name N] [--tenant ID --role R] [--operator]\n"
            "  apikey create --tenant ID [--name N] [--role admin|editor|viewer]\n"
            "  members seed --tenant ID --count N [--activities N]\n"
            "  audit verify [--tenant ID]  recompute the audit hash chains; exit 1 if one is broken\n"
            "  demo [--members N]          (default 10000 members, 10 activities each)\n\n",
            PLINTH_VERSION);
    pl_config_usage(out);
}

static int serve(const pl_config_t *cfg)
{
    char err[512];
    pl_server_t *s = pl_server_create(cfg, modules, sizeof(modules) / sizeof(modules[0]), err, sizeof(err));
    int rc;
    if (s == NULL) {
        pl_log(PL_LOG_ERROR, err, NULL);
        return 1;
    }
    rc = pl_server_run(s);
    pl_server_destroy(s);
    return rc;
}

int main(int argc, char **argv)
{
    pl_config_t cfg;
    char err[512];
    pl_loglevel level;
    const char *cmd;
    int i;

    pl_config_defaults(&cfg);
    if (pl_config_from_env(&cfg, err, sizeof(err)) != 0 ||
        (argc = pl_config_from_args(&cfg, argc, argv, err, sizeof(err))) < 0) {
        fprintf(stderr, "plinth: %s\n", err);
        return 2;
    }
    if (pl_log_level_parse(cfg.log_level, &level) != 0) {
        fprintf(stderr, "plinth: --log-level must be debug, info, warn or error\n");
        return 2;
    }
    pl_log_init(level);
    cmd = argc > 1 ? argv[1] : "";
    for (i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    if (!strcmp(cmd, "serve"))
        return serve(&cfg);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("plinth %s\n", PLINTH_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "migrate"))
        return pl_cli_migrate(&cfg, argc - 1, argv + 1);
    if (!strcmp(cmd, "demo"))
        return pl_cli_demo(&cfg, argc - 1, argv + 1);
    if (!strcmp(cmd, "tenant"))
        return pl_cli_tenant(&cfg, argc - 1, argv + 1);
    if (!strcmp(cmd, "user"))
        return pl_cli_user(&cfg, argc - 1, argv + 1);
    if (!strcmp(cmd, "apikey"))
        return pl_cli_apikey(&cfg, argc - 1, argv + 1);
    if (!strcmp(cmd, "members"))
        return pl_cli_members(&cfg, argc - 1, argv + 1);
    if (!strcmp(cmd, "audit"))
        return pl_cli_audit(&cfg, argc - 1, argv + 1);
    usage(stderr);
    return 2;
}
