/* Common includes for cmocka unit tests, and the application opened on a store in a
 * temporary data directory (every module's migrations applied, init hooks run). */
#ifndef PL_UNIT_H
#define PL_UNIT_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "app/app.h"
#include "app/kernel.h"
#include "core/crypto.h"
#include "modules.h"
#include "store/fault.h"
#include "store/store.h"

typedef struct unit_app {
    char dir[256];
    pl_app_t *app;
} unit_app_t;

/* Opens the application with modules (NULL: all of them) on a new temporary data directory,
 * its store behind the fault-injecting driver when fault is set (store/fault.h); extra
 * arguments (options) may follow, NULL-terminated. Returns 0 or -1. */
static inline int unit_app_open_with(unit_app_t *u, const pl_module_t *const *modules, size_t nmodules, bool fault,
                                     const char *const *extra)
{
    char *argv[32];
    int argc = 0;
    char errbuf[256];
    static char url[PATH_MAX + 64];
    pl_err_t e;
    snprintf(u->dir, sizeof(u->dir), "/tmp/plinth-unit-XXXXXX");
    if (mkdtemp(u->dir) == NULL)
        return -1;
    argv[argc++] = (char *)"plinth";
    argv[argc++] = (char *)"--data-dir";
    argv[argc++] = u->dir;
    argv[argc++] = (char *)"--log-level=error";
    if (fault) {
        snprintf(url, sizeof(url), "--database-url=fault+sqlite:%s/plinth.db", u->dir);
        argv[argc++] = url;
    }
    while (extra && *extra && argc < 31)
        argv[argc++] = (char *)*extra++;
    argv[argc] = NULL;
    pl_err_clear(&e);
    u->app = modules ? pl_app_create(modules, nmodules) : pl_app_create(pl_modules, pl_nmodules);
    if (u->app == NULL || pl_app_configure(u->app, argc, argv, errbuf, sizeof(errbuf)) < 0) {
        fprintf(stderr, "unit: %s\n", errbuf);
        return -1;
    }
    if (pl_app_open(u->app, &e) != 0) {
        fprintf(stderr, "unit: %s\n", e.message);
        return -1;
    }
    return 0;
}

static inline int unit_app_open(unit_app_t *u, const char *const *extra)
{
    return unit_app_open_with(u, NULL, 0, false, extra);
}

/* Closes the application and removes its directory. */
static inline int unit_app_close(unit_app_t *u)
{
    char cmd[PATH_MAX + 16];
    pl_app_destroy(u->app);
    u->app = NULL;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", u->dir);
    return system(cmd) == 0 ? 0 : -1;
}
#endif
