/*
 * config.c — the option tables' parser, environment, defaults and --help (see config.h).
 */
#include "core/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

const pl_option_t pl_config_options[] = {
    PL_OPTION_STR(pl_config_t, data_dir, "--data-dir", "PLINTH_DATA_DIR", "./plinth-data",
                  "data directory holding plinth.db (default ./plinth-data)"),
    PL_OPTION_STR(pl_config_t, log_level, "--log-level", "PLINTH_LOG_LEVEL", "info",
                  "debug|info|warn|error (default info)"),
    PL_OPTION_STR(pl_config_t, public_url, "--public-url", "PLINTH_PUBLIC_URL", NULL,
                  "external base URL used in links sent by email (default http://LISTEN)"),
    PL_OPTION_STR(pl_config_t, database_url, "--database-url", "PLINTH_DATABASE_URL", NULL,
                  "the store: sqlite:PATH (default: DATA_DIR/plinth.db) or postgres://APP_ROLE@HOST/DB"),
    PL_OPTION_STR(pl_config_t, migrate_url, "--migrate-url", "PLINTH_MIGRATE_URL", NULL,
                  "PostgreSQL: the schema owner's URL; migrations and grants run as it at start"),
    PL_OPTION_STR(pl_config_t, redis_url, "--redis-url", "PLINTH_REDIS_URL", NULL,
                  "redis://[:PW@]HOST[:PORT][/DB]: rate limits, quotas, revocations and streams shared by "
                  "several nodes"),
    PL_OPTIONS_END,
};

static bool bool_word(const char *v, bool *out)
{
    static const char *const yes[] = {"on", "1", "true", "yes", NULL}, *const no[] = {"off", "0", "false",
                                                                                      "no", NULL};
    int i;
    for (i = 0; yes[i]; i++)
        if (strcmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
    for (i = 0; no[i]; i++)
        if (strcmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    return false;
}

static int set(void *base, const pl_option_t *o, const char *v, const char *src, char *errbuf, size_t errlen)
{
    char *p = (char *)base + o->off;
    char *end;
    long n;
    bool b;
    switch (o->kind) {
    case PL_OPT_STR:
        if (strlen(v) >= o->size) {
            snprintf(errbuf, errlen, "%s: value is too long", src);
            return -1;
        }
        memcpy(p, v, strlen(v) + 1);
        return 0;
    case PL_OPT_LONG:
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || *v == '\0' || *end != '\0' || n < o->min || n > o->max) {
            snprintf(errbuf, errlen, "%s: '%s' must be an integer from %ld to %ld", src, v, o->min, o->max);
            return -1;
        }
        *(long *)(void *)p = n;
        return 0;
    case PL_OPT_BOOL:
        if (!bool_word(v, &b)) {
            snprintf(errbuf, errlen, "%s: '%s' must be on or off", src, v);
            return -1;
        }
        *(bool *)(void *)p = b;
        return 0;
    }
    return -1;
}

static const pl_option_t *find(const pl_optset_t *sets, size_t nsets, const char *a, void **base,
                               const char **value)
{
    size_t s;
    const pl_option_t *o;
    for (s = 0; s < nsets; s++)
        for (o = sets[s].opts; o && o->flag; o++) {
            size_t fl = strlen(o->flag);
            if (strncmp(a, o->flag, fl) == 0 && (a[fl] == '\0' || a[fl] == '=')) {
                *base = sets[s].base;
                *value = a[fl] == '=' ? a + fl + 1 : NULL;
                return o;
            }
        }
    return NULL;
}

bool pl_options_known(const pl_optset_t *sets, size_t nsets, const char *arg)
{
    void *base;
    const char *v;
    return find(sets, nsets, arg, &base, &v) != NULL;
}

int pl_options_load(const pl_optset_t *sets, size_t nsets, int argc, char **argv, char *errbuf, size_t errlen)
{
    size_t s;
    const pl_option_t *o;
    int i, out = 1;
    for (s = 0; s < nsets; s++)
        for (o = sets[s].opts; o && o->flag; o++) {
            const char *v = getenv(o->env);
            if (o->dflt && set(sets[s].base, o, o->dflt, o->flag, errbuf, errlen) != 0)
                return -1; /* a default outside its own range is a bug in the table */
            if (v && *v && set(sets[s].base, o, v, o->env, errbuf, errlen) != 0)
                return -1;
        }
    for (i = 1; i < argc; i++) {
        void *base = NULL;
        const char *v = NULL;
        bool b;
        o = find(sets, nsets, argv[i], &base, &v);
        if (o == NULL) {
            argv[out++] = argv[i];
            continue;
        }
        if (v == NULL && o->kind == PL_OPT_BOOL && (i + 1 >= argc || !bool_word(argv[i + 1], &b)))
            v = "on"; /* a bare boolean flag */
        if (v == NULL) {
            if (i + 1 >= argc) {
                snprintf(errbuf, errlen, "%s needs a value", o->flag);
                return -1;
            }
            v = argv[++i];
        }
        if (set(base, o, v, o->flag, errbuf, errlen) != 0)
            return -1;
    }
    argv[out] = NULL;
    return out;
}

void pl_options_usage(const pl_optset_t *sets, size_t nsets, FILE *out)
{
    size_t s;
    const pl_option_t *o;
    fprintf(out, "Options (flag > environment variable > default):\n");
    for (s = 0; s < nsets; s++) {
        if (sets[s].opts == NULL || sets[s].opts->flag == NULL)
            continue;
        fprintf(out, " %s:\n", sets[s].title);
        for (o = sets[s].opts; o->flag; o++)
            fprintf(out, "  %-26s %-30s %s\n", o->flag, o->env, o->help);
    }
}

int pl_config_hostport(const char *listen, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(listen, ':');
    char *end;
    long p;
    size_t hl;
    if (colon == NULL)
        return -1;
    hl = (size_t)(colon - listen);
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, listen, hl);
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
