/*
 * cli.h — the `plinth` commands other than serve: migrate, version, demo, tenant, user,
 * apikey. Each works on the data directory directly and safely while a server runs on
 * the same data (SQLite WAL, busy timeout, short write transactions).
 */
#ifndef PL_CLI_H
#define PL_CLI_H

#include "core/config.h"

/* argv[0] is the command name; returns the process exit code. */
int pl_cli_migrate(const pl_config_t *cfg, int argc, char **argv);
int pl_cli_demo(const pl_config_t *cfg, int argc, char **argv);
int pl_cli_tenant(const pl_config_t *cfg, int argc, char **argv);
int pl_cli_user(const pl_config_t *cfg, int argc, char **argv);
int pl_cli_apikey(const pl_config_t *cfg, int argc, char **argv);
int pl_cli_members(const pl_config_t *cfg, int argc, char **argv);
int pl_cli_audit(const pl_config_t *cfg, int argc, char **argv);

#endif
