/*
 * config.h — options: flags > environment (PLINTH_*) > defaults, from declarative tables.
 *
 * An option table (pl_option_t rows ending with PL_OPTIONS_END) names each option's flag,
 * variable, kind, the struct member it fills, its range, its default (as text, parsed like
 * any value) and its help. The kernel has one table for pl_config_t; every module may bring
 * its own table and struct (pl_module_t.options), so `plinth serve --help` and the parser
 * cannot disagree and adding a module's option edits nothing outside the module. Structs are
 * filled once at start and read-only afterwards.
 */
#ifndef PL_CONFIG_H
#define PL_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/log.h"

typedef enum { PL_OPT_STR = 1, PL_OPT_LONG, PL_OPT_BOOL } pl_optkind_t;

typedef struct pl_option {
    const char *flag; /* "--listen" */
    const char *env;  /* "PLINTH_LISTEN" */
    pl_optkind_t kind;
    size_t off;  /* member offset in the option struct */
    size_t size; /* PL_OPT_STR: the member's capacity */
    long min, max;
    const char *dflt; /* default as text (NULL: empty, 0, off) */
    const char *help;
} pl_option_t;

#define PL_OPTIONS_END                                                                                       \
    {                                                                                                        \
        NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL                                                                \
    }
/* Row helpers: PL_OPT_S(struct, member, flag, env, default, help) … */
#define PL_OPTION_STR(T, m, flag, env, dflt, help)                                                           \
    {                                                                                                        \
        flag, env, PL_OPT_STR, offsetof(T, m), sizeof(((T *)0)->m), 0, 0, dflt, help                         \
    }
#define PL_OPTION_LONG(T, m, flag, env, lo, hi, dflt, help)                                                  \
    {                                                                                                        \
        flag, env, PL_OPT_LONG, offsetof(T, m), sizeof(long), lo, hi, dflt, help                             \
    }
#define PL_OPTION_BOOL(T, m, flag, env, dflt, help)                                                          \
    {                                                                                                        \
        flag, env, PL_OPT_BOOL, offsetof(T, m), sizeof(bool), 0, 0, dflt, help                               \
    }

/* One table and the struct it fills; title heads its part of --help. */
typedef struct pl_optset {
    const char *title;
    const pl_option_t *opts;
    void *base;
} pl_optset_t;

/* Fills every struct with its defaults, then PLINTH_* variables, then consumes the flags it
 * knows from argv[1..argc) (moving the others, in order, to the front); returns the new argc,
 * or -1 with a message. "--help" is left in place. A flag no table knows is left for the
 * command to judge. */
int pl_options_load(const pl_optset_t *sets, size_t nsets, int argc, char **argv, char *errbuf,
                    size_t errlen);
void pl_options_usage(const pl_optset_t *sets, size_t nsets, FILE *out);
/* Whether some table of sets knows the flag (with or without "=value"). */
bool pl_options_known(const pl_optset_t *sets, size_t nsets, const char *arg);

/* The kernel's own options. */
typedef struct pl_config {
    char data_dir[PATH_MAX];
    char log_level[16];
    char public_url[256];   /* base of links in emails; empty: http://<bound address> */
    char database_url[512]; /* the store; empty: SQLite in data_dir */
    char migrate_url[512];  /* PostgreSQL: the schema owner's URL (migrations, grants); empty: none */
    char redis_url[512];    /* the state several nodes share; empty: one node */
} pl_config_t;

extern const pl_option_t pl_config_options[];

/* Path of a file in the data directory. */
void pl_config_path(const pl_config_t *c, const char *name, char *out, size_t outlen);
/* Splits "HOST:PORT" into host and port; returns 0 or -1. */
int pl_config_hostport(const char *listen, char *host, size_t hostlen, int *port);

#endif
