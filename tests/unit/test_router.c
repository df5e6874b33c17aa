/* Route matching, path parameters, 404 vs 405, and the role table. */
#include "unit.h"

#include <string.h>

#include "http/router.h"
#include "app/rbac.h"

static int h(pl_ctx_t *c)
{
    (void)c;
    return 0;
}

static const pl_route_t routes[] = {
    {"GET", "/v1/things", h, "members:read", PL_R_TENANT, NULL, 200, NULL},
    {"POST", "/v1/things", h, "members:write", PL_R_TENANT, NULL, 201, NULL, "thing.created", NULL},
    {"GET", "/v1/things/{id}", h, NULL, PL_R_TENANT, NULL, 200, NULL},
    {"GET", "/v1/things/{id}/parts/{part}", h, NULL, PL_R_TENANT, NULL, 200, NULL},
    {"GET", "/healthz", h, NULL, PL_R_PUBLIC, NULL, 200, NULL},
    PL_ROUTES_END,
};
static const pl_route_t *const tables[] = {routes, NULL};
static const pl_module_t mod = {.name = "test", .routes = tables};

static const pl_route_t bad_routes[] = {
    {"GET", "/v1/both", h, NULL, PL_R_PUBLIC | PL_R_TENANT, NULL, 200, NULL},
    PL_ROUTES_END,
};
static const pl_route_t *const bad_tables[] = {bad_routes, NULL};
static const pl_module_t bad_mod = {.name = "bad", .routes = bad_tables};

/* A route table that names two scopes is refused when the router is built. */
static void test_bad_scope(void **state)
{
    const pl_module_t *mods[] = {&bad_mod};
    pl_app_t *a = pl_app_create(mods, 1);
    pl_err_t err;
    (void)state;
    pl_err_clear(&err);
    assert_null(pl_router_create(a, &err));
    assert_non_null(strstr(err.message, "scope"));
    pl_app_destroy(a);
}

static void test_match(void **state)
{
    const pl_module_t *mods[] = {&mod};
    pl_app_t *a = pl_app_create(mods, 1);
    pl_err_t err;
    pl_router_t *r = pl_router_create(a, &err);
    pl_match_t m;
    (void)state;
    assert_non_null(r);
    assert_int_equal(pl_router_match(r, PL_STR("GET"), PL_STR("/v1/things"), &m), 0);
    assert_ptr_equal(m.route, &routes[0]);
    assert_int_equal(m.perm, pl_rbac_perm_index("members:read"));
    assert_int_equal(pl_router_match(r, PL_STR("GET"), PL_STR("/v1/things/abc"), &m), 0);
    assert_int_equal(m.nparams, 1);
    assert_true(pl_str_eq_cstr(m.params[0], "abc"));
    assert_int_equal(pl_router_match(r, PL_STR("GET"), PL_STR("/v1/things/a/parts/b"), &m), 0);
    assert_int_equal(m.nparams, 2);
    assert_true(pl_str_eq_cstr(m.params[1], "b"));
    assert_int_equal(pl_router_match(r, PL_STR("HEAD"), PL_STR("/healthz"), &m), 0);
    /* 405: the path exists with other methods */
    assert_int_equal(pl_router_match(r, PL_STR("DELETE"), PL_STR("/v1/things"), &m), -1);
    assert_true(m.path_matched);
    assert_string_equal(m.allow, "GET, POST");
    /* 404 */
    assert_int_equal(pl_router_match(r, PL_STR("GET"), PL_STR("/v1/thing"), &m), -1);
    assert_false(m.path_matched);
    assert_int_equal(pl_router_match(r, PL_STR("GET"), PL_STR("/v1/things/"), &m), -1);
    assert_int_equal(pl_router_match(r, PL_STR("GET"), PL_STR("v1/things"), &m), -1);
    assert_int_equal(pl_router_match(r, PL_STR("GET"), PL_STR("/v1/things/a/b/c/d/e/f/g/h/i"), &m), -1);
    pl_router_destroy(r);
    pl_app_destroy(a);
}

static void test_rbac(void **state)
{
    pl_perms_t owner = pl_rbac_role_perms("owner", false), viewer = pl_rbac_role_perms("viewer", false);
    pl_perms_t editor = pl_rbac_role_perms("editor", false), op = pl_rbac_role_perms("admin", true);
    (void)state;
    assert_true(pl_rbac_has(owner, pl_rbac_perm_index("team:manage")));
    assert_false(pl_rbac_has(owner, pl_rbac_perm_index("platform:tenants:read")));
    assert_true(pl_rbac_has(viewer, pl_rbac_perm_index("members:read")));
    assert_false(pl_rbac_has(viewer, pl_rbac_perm_index("members:write")));
    assert_false(pl_rbac_has(viewer, pl_rbac_perm_index("apikeys:read")));
    assert_true(pl_rbac_has(editor, pl_rbac_perm_index("members:write")));
    assert_false(pl_rbac_has(editor, pl_rbac_perm_index("team:manage")));
    assert_true(pl_rbac_has(op, pl_rbac_perm_index("platform:tenants:manage")));
    assert_false(
        pl_rbac_has(pl_rbac_role_perms("viewer", true), pl_rbac_perm_index("platform:tenants:manage")));
    assert_true(pl_rbac_has(pl_rbac_role_perms("viewer", true), pl_rbac_perm_index("platform:tenants:read")));
    assert_int_equal(pl_rbac_role_perms("root", false), 0);
    assert_int_equal(pl_rbac_perm_index("nope:nope"), -1);
    assert_true(pl_rbac_rank("owner") > pl_rbac_rank("admin"));
    assert_int_equal(pl_rbac_rank("root"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_match), cmocka_unit_test(test_bad_scope),
                                       cmocka_unit_test(test_rbac)};
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
