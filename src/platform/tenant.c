/*
 * tenant.c — an organization's own settings (/v1/tenant) and the operator's view of all
 * organizations (/v1/admin/tenants): create, read, suspend, reactivate.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "core/money.h"
#include "platform/auth.h"
#include "platform/internal.h"
#include "platform/platform.h"
#include "core/banned.h"

static bool timezone_ok(const char *tz)
{
    char path[512];
    struct stat st;
    const char *p;
    if (strcmp(tz, "UTC") == 0)
        return true;
    if (tz[0] == '\0' || tz[0] == '/' || strstr(tz, "..") || strlen(tz) > 64)
        return false;
    for (p = tz; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '/' || *p == '_' || *p == '-' || *p == '+'))
            return false;
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* BCP 47, the common shapes: "en", "en-GB", "pt-BR", "zh-Hant-TW". */
static bool locale_ok(const char *s)
{
    size_t n = strlen(s), i, seg = 0, first = 0;
    if (n < 2 || n > 35)
        return false;
    for (i = 0; i <= n; i++) {
        if (s[i] == '-' || s[i] == '\0') {
            if (seg == 0 && (i < 2 || i > 3))
                return false;
            if (i - first < 2 || i - first > 8)
                return false;
            seg++;
            first = i + 1;
        } else if (!isalnum((unsigned char)s[i]) || (seg == 0 && !islower((unsigned char)s[i]))) {
            return false;
        }
    }
    return true;
}

static bool color_ok(const char *s)
{
    size_t i;
    if (strlen(s) != 7 || s[0] != '#')
        return false;
    for (i = 1; i < 7; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

static bool hostname_ok(const char *s)
{
    size_t n = strlen(s), i, label = 0;
    if (n == 0 || n > 253 || strchr(s, '.') == NULL)
        return false;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if (isalnum((unsigned char)ch) || (ch == '-' && label > 0)) {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

static const char *check_timezone(const char *v)
{
    return timezone_ok(v) ? NULL : "is not a known IANA time zone";
}

static const char *check_locale(const char *v)
{
    return locale_ok(v) ? NULL : "is not a BCP 47 language tag";
}

static const char *check_color(const char *v)
{
    return color_ok(v) ? NULL : "must be a colour as #RRGGBB";
}

static const char *check_url(const char *v)
{
    return strncmp(v, "https://", 8) == 0 || strncmp(v, "http://", 7) == 0 ? NULL : "must be an http(s) URL";
}

static const char *check_host(const char *v)
{
    return hostname_ok(v) ? NULL : "is not a host name";
}

static const pl_field_t branding_fields[] = {
    {"logo_url", PL_T_STRING, PL_F_NULLABLE, 1, 2048, NULL, NULL, "https URL of the logo", check_url},
    {"primary_color", PL_T_STRING, PL_F_NULLABLE, 1, 7, NULL, NULL, "#RRGGBB", check_color},
    {"accent_color", PL_T_STRING, PL_F_NULLABLE, 1, 7, NULL, NULL, "#RRGGBB", check_color},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t branding_schema = {"Branding", branding_fields, false};

static const pl_field_t settings_fields[] = {
    {"timezone", PL_T_STRING, 0, 1, 64, NULL, NULL, "IANA time zone, e.g. Europe/Berlin", check_timezone},
    {"currency", PL_T_STRING, 0, 1, 3, NULL, NULL, "ISO 4217 code, e.g. EUR", pl_currency_check},
    {"locale", PL_T_STRING, 0, 1, 35, NULL, NULL, "BCP 47 tag, e.g. en-GB", check_locale},
    {"branding", PL_T_OBJECT, 0, 0, 0, NULL, &branding_schema, NULL, NULL},
    {"domain", PL_T_STRING, PL_F_NULLABLE, 1, 253, NULL, NULL, "custom domain", check_host},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t settings_schema = {"TenantSettings", settings_fields, false};

static const pl_field_t patch_fields[] = {
    {"name", PL_T_STRING, 0, 1, 200, NULL, NULL, NULL},
    {"settings", PL_T_OBJECT, 0, 0, 0, NULL, &settings_schema, "merged into the current settings"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t patch_schema = {"TenantUpdate", patch_fields, false};

/* The effective plan with the usage of each limit that has a meter. */
static json_t *plan_with_usage(pl_ctx_t *c, const char *tenant_id)
{
    json_t *eff = pl_plan_effective(c->db, tenant_id), *limits, *out, *v, *not_enforced;
    const char *k;
    if (eff == NULL)
        return json_null();
    limits = json_object();
    not_enforced = json_array();
    json_object_foreach(json_object_get(eff, "limits"), k, v)
    {
        const pl_usage_t *meter = pl_app_usage_meter(c->app, k);
        int64_t n = meter ? pl_usage_count(&c->op, k, tenant_id) : -1;
        json_t *usage = n >= 0 ? json_integer(n) : json_null(); /* null: not metered (or unreadable) */
        /* enforced: false — no module counts it yet (its issue has not landed): the plan shows
         * it, nothing refuses by it */
        json_object_set_new(
            limits, k, json_pack("{s:O,s:o,s:b}", "limit", v, "usage", usage, "enforced", meter != NULL));
    }
    json_object_foreach(json_object_get(eff, "features"), k, v)
    {
        if (!pl_app_feature_enforced(c->app, k))
            json_array_append_new(not_enforced, json_string(k));
    }
    out = json_pack("{s:O,s:o,s:O,s:o,s:O,s:O}", "plan", json_object_get(eff, "plan"), "limits", limits,
                    "features", json_object_get(eff, "features"), "features_not_enforced", not_enforced,
                    "rate_limits", json_object_get(eff, "rate_limits"), "overrides",
                    json_object_get(eff, "overrides"));
    json_decref(eff);
    return out;
}

static json_t *tenant_with_plan(pl_ctx_t *c, const char *tenant_id)
{
    json_t *t = pl_tenant_json(c->db, tenant_id), *p;
    if (t == NULL)
        return NULL;
    p = plan_with_usage(c, tenant_id);
    json_object_set(t, "plan", json_object_get(p, "plan"));
    json_object_set(t, "limits", json_object_get(p, "limits"));
    json_object_set(t, "features", json_object_get(p, "features"));
    json_object_set(t, "features_not_enforced", json_object_get(p, "features_not_enforced"));
    json_object_set(t, "rate_limits", json_object_get(p, "rate_limits"));
    json_object_set(t, "overrides", json_object_get(p, "overrides"));
    json_decref(p);
    return t;
}

static int h_get(pl_ctx_t *c)
{
    json_t *t = tenant_with_plan(c, c->tenant_id);
    return t ? pl_reply(c, 200, t) : pl_fail_notfound(c, "tenant");
}

static int h_patch(pl_ctx_t *c)
{
    static const char *sql = "UPDATE tenants SET name = COALESCE($1, name), settings = $2, updated_at = $3 "
                             "WHERE id = $4";
    json_t *t = pl_tenant_json(c->db, c->tenant_id), *patch = json_object_get(c->body, "settings"), *cur,
           *before;
    char *settings;
    int rc;
    if (t == NULL)
        return pl_fail_notfound(c, "tenant");
    if (json_is_string(json_object_get(patch, "domain")) &&
        !pl_principal_has_feature(c->principal, "custom_domain")) {
        json_decref(t);
        return pl_fail(c, PL_EFORBIDDEN, "feature_not_enabled",
                       "a custom domain needs the custom_domain feature");
    }
    before = json_deep_copy(t);
    cur = json_object_get(t, "settings");
    if (patch) {
        const char *k;
        json_t *v;
        json_object_foreach(patch, k, v)
        {
            if (strcmp(k, "branding") == 0) {
                json_t *cb = json_object_get(cur, "branding");
                if (!json_is_object(cb)) {
                    cb = json_object();
                    json_object_set_new(cur, "branding", cb);
                }
                json_object_update(cb, v);
            } else {
                json_object_set(cur, k, v);
            }
        }
    }
    settings = json_dumps(cur, JSON_COMPACT);
    rc = pl_db_exec(c->db, sql,
                    PL_ARGS(PL_TEXT(pl_json_str(c->body, "name")), PL_TEXT(settings), PL_INT(pl_now_ms()),
                            PL_TEXT(c->tenant_id)));
    free(settings);
    json_decref(t);
    if (rc < 0) {
        json_decref(before);
        return pl_fail(c, PL_EDB, NULL, "cannot update the tenant");
    }
    return pl_reply_change(c, 200, c->tenant_id, before, pl_tenant_json(c->db, c->tenant_id));
}

/* ---- operator ---- */

/* An operator's change of tenant id: audited in the platform tenant, announced to the tenant
 * it is about. Takes both references; a NULL after (read-back failed) is an error. */
static int admin_reply(pl_ctx_t *c, int status, const char *id, json_t *before, json_t *after)
{
    if (after == NULL) {
        json_decref(before);
        return pl_fail(c, PL_EDB, NULL, "the tenant could not be read back");
    }
    pl_record_change(c,
                     (pl_change_t){.resource_id = id, .before = before, .after = after, .event_tenant = id});
    json_decref(before);
    return pl_reply(c, status, after);
}

static int h_admin_list(pl_ctx_t *c)
{
    static const char *sql_n = "SELECT COUNT(*) FROM tenants WHERE ($1 IS NULL OR status = $1)";
    const char *status = pl_query(c, "status");
    pl_page_t pg;
    json_t *data;
    int64_t total = -1;
    if (status && strcmp(status, "active") && strcmp(status, "suspended"))
        pl_err_field(&c->err, "status", "must be active or suspended");
    if (pl_page_parse(c, &pg) != 0)
        return c->err.status;
    if ((data = pl_tenant_list(c->db, pg.after, status, pg.limit + 1)) == NULL)
        return pl_fail(c, PL_EDB, NULL, "cannot list tenants");
    if (pg.include_total)
        pl_db_int(c->db, &total, sql_n, PL_ARGS(PL_TEXT(status)));
    return pl_reply(c, 200, pl_page_envelope(c, &pg, data, "id", total));
}

static bool slug_ok(const char *s)
{
    size_t i, n = strlen(s);
    for (i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
              (s[i] == '-' && i > 0 && i < n - 1)))
            return false;
    return n >= 2;
}

static const char *check_slug(const char *v)
{
    return slug_ok(v) ? NULL : "must be lowercase letters, digits and inner hyphens";
}

static const pl_field_t admin_create_fields[] = {
    {"name", PL_T_STRING, PL_F_REQUIRED, 1, 200, NULL, NULL, NULL},
    {"slug", PL_T_STRING, 0, 2, 48, NULL, NULL, "lowercase letters, digits and hyphens", check_slug},
    {"owner_email", PL_T_EMAIL, 0, 0, 0, NULL, NULL,
     "an existing user becomes owner; anyone else is invited"},
    {"cell", PL_T_STRING, 0, 1, 40, NULL, NULL,
     "the cell its data lives in (plinth cell list); default: its plan's, else the pool"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t admin_create_schema = {"TenantCreate", admin_create_fields, false};

static int h_admin_create(pl_ctx_t *c)
{
    const char *slug = pl_json_str(c->body, "slug"), *owner = pl_json_str(c->body, "owner_email");
    const char *tid, *uid = NULL;
    json_t *t;
    if (pl_tenant_create(c->db, c->arena, pl_json_str(c->body, "name"), slug, &tid, &c->err) != 0)
        return c->err.status;
    if (pl_json_str(c->body, "cell") &&
        pl_tenant_place(c->db, c->app, tid, pl_json_str(c->body, "cell"), &c->err) != 0)
        return c->err.status;
    t = pl_tenant_json(c->db, tid);
    if (owner) {
        int found = pl_user_find(c->db, c->arena, owner, &uid);
        if (found < 0) {
            json_decref(t);
            return pl_fail(c, PL_EDB, NULL, "cannot read users");
        }
        if (found == 1) {
            if (pl_membership_add(c->db, tid, uid, "owner", &c->err) != 0) {
                json_decref(t);
                return c->err.status;
            }
            json_object_set_new(t, "owner", pl_user_json(c->db, uid));
        } else {
            /* nobody has this address yet: they are invited as the owner */
            json_t *inv = pl_invitation_create(c, tid, owner, "owner");
            if (inv == NULL) {
                json_decref(t);
                return c->err.status;
            }
            json_object_set_new(t, "owner", json_null());
            json_object_set_new(t, "owner_pending", json_string(owner));
            json_object_set_new(t, "owner_invitation",
                                json_pack("{s:O,s:O}", "id", json_object_get(inv, "id"), "expires_at",
                                          json_object_get(inv, "expires_at")));
            json_decref(inv);
        }
    }
    return admin_reply(c, 201, tid, NULL, t);
}

static json_t *admin_tenant(pl_ctx_t *c, const char *id)
{
    static const char *sql_users = "SELECT COUNT(*) FROM tenant_users WHERE tenant_id = $1";
    static const char *sql_keys = "SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL";
    int64_t users = 0, keys = 0;
    json_t *t;
    if (!pl_id_ok(id, "ten") || (t = pl_tenant_json(c->db, id)) == NULL)
        return NULL;
    json_decref(t);
    t = tenant_with_plan(c, id);
    pl_db_int(c->db, &users, sql_users, PL_ARGS(PL_TEXT(id)));
    pl_db_int(c->db, &keys, sql_keys, PL_ARGS(PL_TEXT(id)));
    json_object_set_new(t, "stats",
                        json_pack("{s:I,s:I}", "users", (json_int_t)users, "api_keys", (json_int_t)keys));
    return t;
}

static int h_admin_get(pl_ctx_t *c)
{
    json_t *t = admin_tenant(c, pl_param(c, 0));
    return t ? pl_reply(c, 200, t) : pl_fail_notfound(c, "tenant");
}

static const pl_field_t suspend_fields[] = {
    {"reason", PL_T_STRING, 0, 1, 500, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t suspend_schema = {"TenantSuspend", suspend_fields, false};

static int set_status(pl_ctx_t *c, bool suspend)
{
    static const char *sql_s =
        "UPDATE tenants SET status = 'suspended', suspended_at = $1, suspended_reason = $2, "
        "updated_at = $1 WHERE id = $3";
    static const char *sql_r =
        "UPDATE tenants SET status = 'active', suspended_at = NULL, suspended_reason = NULL, "
        "updated_at = $1 WHERE id = $2";
    const char *id = pl_param(c, 0);
    json_t *t = admin_tenant(c, id);
    int rc;
    if (t == NULL)
        return pl_fail_notfound(c, "tenant");
    if (json_is_true(json_object_get(t, "is_platform"))) {
        json_decref(t);
        return pl_fail(c, PL_ECONFLICT, NULL, "the platform tenant cannot be suspended");
    }
    rc = suspend
             ? pl_db_exec(c->db, sql_s,
                          PL_ARGS(PL_INT(pl_now_ms()), PL_TEXT(pl_json_str(c->body, "reason")), PL_TEXT(id)))
             : pl_db_exec(c->db, sql_r, PL_ARGS(PL_INT(pl_now_ms()), PL_TEXT(id)));
    if (rc < 0) {
        json_decref(t);
        return pl_fail(c, PL_EDB, NULL, "cannot change the tenant's status");
    }
    pl_auth_changed(c);
    return admin_reply(c, 200, id, t, admin_tenant(c, id));
}

static const pl_field_t admin_patch_fields[] = {
    {"plan", PL_T_STRING, 0, 1, 32, NULL, NULL, "plan key", NULL},
    {"overrides", PL_T_OBJECT, PL_F_NULLABLE, 0, 0, NULL, &pl_plan_parts_schema,
     "{limits, features, rate_limits} on top of the plan; replaces the previous overrides; null clears",
     NULL},
    {"name", PL_T_STRING, 0, 1, 200, NULL, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
static const pl_schema_t admin_patch_schema = {"TenantAdminUpdate", admin_patch_fields, false};

static int h_admin_patch(pl_ctx_t *c)
{
    static const char *sql_plan = "SELECT 1 FROM plans WHERE key = $1";
    static const char *sql =
        "UPDATE tenants SET plan_key = COALESCE($2, plan_key), overrides = COALESCE($3, overrides), "
        "name = COALESCE($4, name), updated_at = $5 WHERE id = $1";
    const char *id = pl_param(c, 0), *plan = pl_json_str(c->body, "plan");
    json_t *ov = json_object_get(c->body, "overrides");
    char *ovs = NULL;
    int64_t one;
    json_t *before;
    if ((before = admin_tenant(c, id)) == NULL)
        return pl_fail_notfound(c, "tenant");
    if (plan && pl_db_int(c->db, &one, sql_plan, PL_ARGS(PL_TEXT(plan))) != 1)
        pl_err_field(&c->err, "plan", "no plan has the key '%s'", plan);
    if (ov && json_is_object(ov))
        pl_plan_check_parts(c, ov, "overrides.");
    if (c->err.status != PL_OK) {
        json_decref(before);
        return c->err.status;
    }
    ovs = json_is_null(ov) ? pl_strdup(c->arena, "{}") : pl_json_text(c, ov, NULL);
    if (pl_db_exec(c->db, sql,
                   PL_ARGS(PL_TEXT(id), PL_TEXT(plan), PL_TEXT(ovs), PL_TEXT(pl_json_str(c->body, "name")),
                           PL_INT(pl_now_ms()))) < 0) {
        json_decref(before);
        return pl_fail(c, PL_EDB, NULL, "the tenant could not be updated");
    }
    pl_auth_changed(c);
    return admin_reply(c, 200, id, before, admin_tenant(c, id));
}

static int h_suspend(pl_ctx_t *c)
{
    return set_status(c, true);
}

static int h_reactivate(pl_ctx_t *c)
{
    return set_status(c, false);
}

const pl_route_t pl_tenant_routes[] = {
    {"GET", "/v1/tenant", h_get, "tenant:read", PL_R_TENANT, NULL, 200, "The caller's organization"},
    {"PATCH", "/v1/tenant", h_patch, "tenant:manage", PL_R_TENANT, &patch_schema, 200,
     "Rename the organization or change its settings", "tenant.updated"},
    {"GET", "/v1/admin/tenants", h_admin_list, "platform:tenants:read", PL_R_PLATFORM, NULL, 200,
     "Operator: list organizations"},
    {"POST", "/v1/admin/tenants", h_admin_create, "platform:tenants:manage", PL_R_PLATFORM,
     &admin_create_schema, 201, "Operator: create an organization", "tenant.created"},
    {"GET", "/v1/admin/tenants/{id}", h_admin_get, "platform:tenants:read", PL_R_PLATFORM, NULL, 200,
     "Operator: an organization with its figures"},
    {"PATCH", "/v1/admin/tenants/{id}", h_admin_patch, "platform:tenants:manage", PL_R_PLATFORM,
     &admin_patch_schema, 200, "Operator: change an organization's plan or overrides", "tenant.plan_changed"},
    {"POST", "/v1/admin/tenants/{id}/suspend", h_suspend, "platform:tenants:manage", PL_R_PLATFORM,
     &suspend_schema, 200, "Operator: suspend an organization", "tenant.suspended"},
    {"POST", "/v1/admin/tenants/{id}/reactivate", h_reactivate, "platform:tenants:manage", PL_R_PLATFORM,
     &suspend_schema, 200, "Operator: reactivate an organization", "tenant.reactivated"},
    PL_ROUTES_END,
};
