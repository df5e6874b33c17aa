/* Common includes for cmocka unit tests, and a migrated store in a temporary directory. */
#ifndef PL_UNIT_H
#define PL_UNIT_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/store.h"

/* Opens and migrates a store in a new temporary data directory; *applied (may be NULL)
 * receives how many migrations ran. Returns 0 or -1. */
static inline int unit_store_open(pl_config_t *cfg, pl_store_t **store, int *applied)
{
    pl_err_t e;
    int n = 0;
    char tmpl[] = "/tmp/plinth-unit-XXXXXX";
    pl_config_defaults(cfg);
    if (mkdtemp(tmpl) == NULL)
        return -1;
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", tmpl);
    pl_err_clear(&e);
    if (pl_store_open(store, cfg, &e) != 0 || pl_store_migrate(*store, &n, &e) != 0)
        return -1;
    if (applied)
        *applied = n;
    return 0;
}

/* Closes the store and removes its directory. */
static inline int unit_store_close(pl_config_t *cfg, pl_store_t *store)
{
    char cmd[PATH_MAX + 16];
    pl_store_close(store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cfg->data_dir);
    return system(cmd) == 0 ? 0 : -1;
}
#endif
