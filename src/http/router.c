/*
 * router.c — path matching by segments. Routes are few (tens of them), so a lookup is a
 * linear scan comparing segment slices; no allocation, no regular expressions.
 */
#include "http/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "app/rbac.h"
#include "core/banned.h"

#define MAX_SEGS 8

typedef struct entry {
    const pl_route_t *route;
    int perm;
    bool control_plane; /* its module's tables are the control plane's (app/cells.h) */
    int nsegs;
    pl_str_t segs[MAX_SEGS]; /* a segment "{x}" has ptr == NULL */
} entry_t;

struct pl_router {
    entry_t *entries;
    size_t n;
};

static int split(const char *path, size_t len, pl_str_t *segs, int max)
{
    int n = 0;
    size_t i = 0;
    if (len == 0 || path[0] != '/')
        return -1;
    i = 1;
    while (i <= len) {
        size_t start = i;
        while (i < len && path[i] != '/')
            i++;
        if (n >= max)
            return -1;
        segs[n].ptr = path + start;
        segs[n].len = i - start;
        n++;
        i++;
    }
    if (n == 1 && segs[0].len == 0)
        return 0; /* "/" */
    return n;
}

static const pl_route_t *const *tables_of(const pl_app_t *app, size_t m)
{
    return pl_app_module(app, m)->routes;
}

static int bad(pl_router_t *r, pl_err_t *err, const pl_route_t *rt, const char *why)
{
    pl_err_set(err, PL_EINTERNAL, NULL, "route %s %s: %s", rt->method, rt->path, why);
    pl_router_destroy(r);
    return PL_EINTERNAL;
}

pl_router_t *pl_router_create(const pl_app_t *app, pl_err_t *err)
{
    pl_router_t *r = calloc(1, sizeof(*r));
    size_t m, t, k, total = 0, nm = pl_app_nmodules(app);
    int s;
    if (r == NULL)
        abort();
    for (m = 0; m < nm; m++)
        for (t = 0; tables_of(app, m) && tables_of(app, m)[t]; t++)
            for (k = 0; tables_of(app, m)[t][k].method; k++)
                total++;
    r->entries = calloc(total ? total : 1, sizeof(entry_t));
    if (r->entries == NULL)
        abort();
    for (m = 0; m < nm; m++) {
        for (t = 0; tables_of(app, m) && tables_of(app, m)[t]; t++)
            for (k = 0; tables_of(app, m)[t][k].method; k++) {
                const pl_route_t *rt = &tables_of(app, m)[t][k];
                unsigned scope = rt->flags & (PL_R_PUBLIC | PL_R_TENANT | PL_R_PLATFORM);
                entry_t *e = &r->entries[r->n++];
                e->route = rt;
                e->control_plane = pl_app_module(app, m)->control_plane;
                e->perm = -1;
                if (rt->permission && (e->perm = pl_rbac_perm_index(rt->permission)) < 0) {
                    bad(r, err, rt, "unknown permission");
                    return NULL;
                }
                if (scope != PL_R_PUBLIC && scope != PL_R_TENANT && scope != PL_R_PLATFORM) {
                    bad(r, err, rt, "the scope must be exactly one of public, tenant and platform");
                    return NULL;
                }
                if (rt->feature && !pl_app_feature_enforced(app, rt->feature)) {
                    bad(r, err, rt, "its feature is not in any module's list of enforced features");
                    return NULL;
                }
                if ((scope == PL_R_PUBLIC && (rt->permission || rt->feature)) ||
                    (rt->flags & PL_R_ANY_TENANT_STATE && scope == PL_R_PUBLIC)) {
                    bad(r, err, rt, "a public route has no permission, feature or tenant state");
                    return NULL;
                }
                if (strcmp(rt->method, "GET") != 0 && rt->audit == NULL) {
                    bad(r, err, rt, "a mutation needs an audit action");
                    return NULL;
                }
                if (rt->prepare && (rt->flags & PL_R_OWN_TX)) {
                    bad(r, err, rt, "a prepare step runs before the pipeline's transaction");
                    return NULL;
                }
                e->nsegs = split(rt->path, strlen(rt->path), e->segs, MAX_SEGS);
                if (e->nsegs < 0) {
                    bad(r, err, rt, "bad path");
                    return NULL;
                }
                for (s = 0; s < e->nsegs; s++)
                    if (e->segs[s].len >= 2 && e->segs[s].ptr[0] == '{')
                        e->segs[s].ptr = NULL;
            }
    }
    return r;
}

void pl_router_destroy(pl_router_t *r)
{
    if (r == NULL)
        return;
    free(r->entries);
    free(r);
}

int pl_router_match(const pl_router_t *r, pl_str_t method, pl_str_t path, pl_match_t *m)
{
    pl_str_t segs[MAX_SEGS], params[PL_MAX_PARAMS];
    int n = split(path.ptr, path.len, segs, MAX_SEGS), s, best = -1, best_np = 0;
    size_t i, alen = 0;
    memset(m, 0, sizeof(*m));
    m->perm = -1;
    if (n < 0)
        return -1;
    /* A literal segment beats a parameter: /v1/members/export is not /v1/members/{id}. */
    for (i = 0; i < r->n; i++) {
        const entry_t *e = &r->entries[i];
        int np = 0;
        if (e->nsegs != n)
            continue;
        for (s = 0; s < n; s++) {
            if (e->segs[s].ptr == NULL) {
                if (segs[s].len == 0)
                    break;
                if (np < PL_MAX_PARAMS)
                    params[np] = segs[s];
                np++;
            } else if (!pl_str_eq(e->segs[s], segs[s])) {
                break;
            }
        }
        if (s != n || (best >= 0 && np >= best_np))
            continue;
        if (!pl_str_eq_cstr(method, e->route->method) &&
            !(pl_str_eq_cstr(method, "HEAD") && strcmp(e->route->method, "GET") == 0)) {
            size_t ml = strlen(e->route->method);
            m->path_matched = true;
            if (alen + ml + 2 < sizeof(m->allow) && strstr(m->allow, e->route->method) == NULL) {
                if (alen) {
                    memcpy(m->allow + alen, ", ", 2);
                    alen += 2;
                }
                memcpy(m->allow + alen, e->route->method, ml);
                alen += ml;
                m->allow[alen] = '\0';
            }
            continue;
        }
        best = (int)i;
        best_np = np;
        m->nparams = np < PL_MAX_PARAMS ? np : PL_MAX_PARAMS;
        memcpy(m->params, params, sizeof(pl_str_t) * (size_t)m->nparams);
        if (np == 0)
            break;
    }
    if (best < 0)
        return -1;
    m->route = r->entries[best].route;
    m->perm = r->entries[best].perm;
    m->control_plane = r->entries[best].control_plane;
    return 0;
}

void pl_router_each(const pl_router_t *r, void (*fn)(const pl_route_t *, void *), void *arg)
{
    size_t i;
    for (i = 0; i < r->n; i++)
        fn(r->entries[i].route, arg);
}
