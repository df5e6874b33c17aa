/*
 * cli.h — what module commands (`plinth tenant …`, `plinth audit verify` …) share: an
 * operation on its own connection, acting as the CLI, and argument and output helpers.
 *
 * Commands work on the store directly and safely while a server runs on the same data
 * (SQLite WAL, busy timeout, short write transactions). Output is JSON on stdout (one
 * document per command) so scripts can use it; errors go to stderr with a non-zero exit.
 * Changes a command records commit through the same commit step as HTTP requests (audit
 * entry, event) with actor type "cli".
 */
#ifndef PL_APP_CLI_H
#define PL_APP_CLI_H

#include <jansson.h>

#include "app/op.h"

typedef struct pl_cli {
    pl_arena_t arena;
    pl_op_t op;
    pl_db_t *control; /* the control database's connection (op.db unless pl_cli_home moved it) */
} pl_cli_t;

/* Connects and prepares c->op; on failure prints why and returns -1. */
int pl_cli_open(pl_cli_t *c, pl_app_t *app);
void pl_cli_close(pl_cli_t *c);
/* Moves c->op onto the home cell of tenant (its data: members, events, jobs …), keeping the
 * control database's connection as op.control. No transaction may be open. */
int pl_cli_home(pl_cli_t *c, const char *tenant_id);
/* Rolls back, prints c->op.err (with field errors) and returns 1. */
int pl_cli_fail(pl_cli_t *c);
/* Prints j indented and releases it. */
void pl_cli_print(json_t *j);
/* Records a creation for the commit step: action on resource id in tenant (NULL: the
 * platform's), after its state (a new reference, taken). */
void pl_cli_record(pl_op_t *op, const char *action, const char *tenant, const char *id, json_t *after);
/* Whether s is a whole number from 0 to max (stored in *out). */
bool pl_cli_count(const char *s, long max, long *out);
/* The value of --name in argv, or NULL; "--flag" alone gives "". */
const char *pl_cli_opt(int argc, char **argv, const char *name);

#endif
