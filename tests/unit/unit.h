/* Common includes for cmocka unit tests, and the application opened on a store in a
 * temporary data directory (every module's migrations applied, init hooks run). */
#ifndef PL_UNIT_H
#define PL_UNIT_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <limits.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "app/app.h"
#include "app/kernel.h"
#include "core/crypto.h"
#include "module_list.h"
#include "store/fault.h"
#include "store/store.h"

typedef struct unit_app {
    char dir[256];
    pl_app_t *app;
} unit_app_t;

/* Opens the application with the kernel and modules (NULL: all of them) on a new temporary
 * data directory,
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
    if (modules) {
        const pl_module_t *list[PL_MAX_MODULES];
        size_t i;
        list[0] = &pl_kernel_module;
        for (i = 0; i < nmodules && i + 1 < PL_MAX_MODULES; i++)
            list[i + 1] = modules[i];
        u->app = pl_app_create(list, i + 1);
    } else {
        u->app = pl_app_create(pl_modules, pl_nmodules);
    }
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

/* ---- HTTP against a started application (libcurl) ---- */
typedef struct unit_resp {
    char body[4096];
    size_t len;
} unit_resp_t;

static inline size_t unit_collect(char *p, size_t sz, size_t n, void *arg)
{
    unit_resp_t *r = arg;
    size_t k = sz * n, room = sizeof(r->body) - 1 - r->len;
    memcpy(r->body + r->len, p, k < room ? k : room);
    r->len += k < room ? k : room;
    r->body[r->len] = '\0';
    return k;
}

/* Sends method url with a bearer key and a JSON body (may be NULL); returns the status (0: no
 * answer) and the body in out. */
static inline long unit_http(const char *method, const char *url, const char *key, const char *body,
                             unit_resp_t *out)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hd = NULL;
    char auth[256];
    long status = 0;
    memset(out, 0, sizeof(*out));
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    hd = curl_slist_append(hd, auth);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, unit_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return status;
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
