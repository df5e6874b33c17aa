/*
 * plans.c — plans (features, limits, rate limits), per-tenant overrides, feature flags with
 * percentage rollout, and the checks that use them.
 *
 * A tenant's effective plan = its plan, then its overrides on top. A feature is: the tenant's
 * override if it has one, else the plan's value, else the flag's rollout (stable: a hash of
 * tenant id and flag picks the same answer every time) or its default. The effective plan is
 * resolved with the credential and cached with it; changing a plan, an override or a flag
 * empties the caches, so changes apply to the next request.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "platform/auth.h"
#include "platform/internal.h"
#include "platform/platform.h"
#include "core/banned.h"

static const char *const bucket_names[] = {"tenant", "key", "ip"};

static bool rollout_hit(const char *tenant_id, const char *flag, int64_t percent)
{
    uint8_t h[32];
    char buf[256];
    uint32_t v;
    int n = snprintf(buf, sizeof(buf), "%s:%s", tenant_id, flag);
    pl_sha256(buf, (size_t)n, h);
    v = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    return (int64_t)(v % 100) < percent;
}

json_t *pl_plan_effective(pl_db_t *db, const char *tenant_id)
{
    static const char *sql = "SELECT t.plan_key, t.overrides, p.name, p.features, p.limits, p.rate_limits "
                             "FROM tenants t LEFT JOIN plans p ON p.key = t.plan_key WHERE t.id = $1";
    static const char *sql_flags = "SELECT key, default_enabled, rollout_percent FROM feature_flags";
    pl_rows_t *r;
    json_t *eff = NULL, *ov = NULL, *features, *limits, *rates, *v;
    const char *k;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_TEXT(tenant_id))) != 0)
        return NULL;
    if (pl_rows_next(r) == 1) {
        json_t *pf = json_loads(pl_rows_text(r, 3) ? pl_rows_text(r, 3) : "{}", 0, NULL);
        json_t *pl = json_loads(pl_rows_text(r, 4) ? pl_rows_text(r, 4) : "{}", 0, NULL);
        json_t *pr = json_loads(pl_rows_text(r, 5) ? pl_rows_text(r, 5) : "{}", 0, NULL);
        ov = json_loads(pl_rows_text(r, 1), 0, NULL);
        eff = json_pack("{s:{s:s,s:s?},s:o,s:o,s:o}", "plan", "key", pl_rows_text(r, 0), "name",
                        pl_rows_text(r, 2), "features", pf ? pf : json_object(), "limits",
                        pl ? pl : json_object(), "rate_limits", pr ? pr : json_object());
    }
    pl_rows_close(r);
    if (eff == NULL) {
        json_decref(ov);
        return NULL;
    }
    features = json_object_get(eff, "features");
    limits = json_object_get(eff, "limits");
    rates = json_object_get(eff, "rate_limits");
    /* flags the plan does not decide: rollout or default */
    if (pl_db_query(db, &r, sql_flags, PL_NOARGS) == 0) {
        while (pl_rows_next(r) == 1) {
            const char *flag = pl_rows_text(r, 0);
            if (json_object_get(features, flag))
                continue;
            json_object_set_new(features, flag,
                                json_boolean(pl_rows_int(r, 2) > 0
                                                 ? rollout_hit(tenant_id, flag, pl_rows_int(r, 2))
                                                 : pl_rows_int(r, 1) != 0));
        }
        pl_rows_close(r);
    }
    if (json_is_object(ov)) {
        json_object_foreach(json_object_get(ov, "features"), k, v) json_object_set(features, k, v);
        json_object_foreach(json_object_get(ov, "limits"), k, v) json_object_set(limits, k, v);
        json_object_foreach(json_object_get(ov, "rate_limits"), k, v) json_object_set(rates, k, v);
        json_object_set(eff, "overrides", ov);
    } else {
        json_object_set_new(eff, "overrides", json_object());
    }
    json_decref(ov);
    return eff;
}

int pl_plan_apply(pl_db_t *db, const char *tenant_id, pl_principal_t *p)
{
    json_t *eff = pl_plan_effective(db, tenant_id), *features, *limits, *rates, *v;
    const char *k;
    size_t used = 1;
    int i;
    if (eff == NULL)
        return PL_EDB;
    {
        const char *key = json_string_value(json_object_get(json_object_get(eff, "plan"), "key"));
        snprintf(p->plan, sizeof(p->plan), "%s", key ? key : "");
    }
    limits = json_object_get(eff, "limits");
    p->quota_day = json_is_integer(json_object_get(limits, "api_calls_per_day"))
                       ? json_integer_value(json_object_get(limits, "api_calls_per_day"))
                       : -1;
    p->quota_month = json_is_integer(json_object_get(limits, "api_calls_per_month"))
                         ? json_integer_value(json_object_get(limits, "api_calls_per_month"))
                         : -1;
    rates = json_object_get(eff, "rate_limits");
    for (i = 0; i < 3; i++) {
        json_t *b = json_object_get(rates, bucket_names[i]);
        p->rate[i] = json_is_integer(json_object_get(b, "rate"))
                         ? (double)json_integer_value(json_object_get(b, "rate"))
                         : 0;
        p->burst[i] = json_is_integer(json_object_get(b, "burst"))
                          ? (double)json_integer_value(json_object_get(b, "burst"))
                          : p->rate[i];
    }
    features = json_object_get(eff, "features");
    p->features[0] = ',';
    p->features[1] = '\0';
    json_object_foreach(features, k, v)
    {
        size_t n = strlen(k);
        if (!json_is_true(v) || used + n + 2 >= sizeof(p->features))
            continue;
        memcpy(p->features + used, k, n);
        used += n;
        p->features[used++] = ',';
        p->features[used] = '\0';
    }
    json_decref(eff);
    return 0;
}

bool pl_feature_enabled(const pl_principal_t *p, const char *feature)
{
    char needle[80];
    snprintf(needle, sizeof(needle), ",%s,", feature);
    return strstr(p->features, needle) != NULL;
}

int64_t pl_usage_count(pl_op_t *op, const char *limit, const char *tenant_id)
{
    const pl_usage_t *meter = pl_app_usage_meter(op->app, limit);
    pl_db_t *db;
    if (meter == NULL)
        return -1;
    /* where the meter's module keeps its rows: inside the operation's transaction when that is
     * the same database (a count before an insert stays exact) */
    if ((db = pl_op_db_of(op, pl_app_usage_module(op->app, limit), tenant_id)) == NULL)
        return -1;
    return meter->count(op->app, db, tenant_id);
}

int pl_limit_check(pl_op_t *c, const char *limit, int64_t adding)
{
    json_t *eff, *v;
    const pl_usage_t *meter = pl_app_usage_meter(c->app, limit);
    pl_db_t *control;
    int64_t value, usage;
    if (c->tenant_id == NULL || meter == NULL)
        return 0;
    if ((control = pl_op_control(c)) == NULL || (eff = pl_plan_effective(control, c->tenant_id)) == NULL)
        return pl_op_fail(c, PL_EDB, NULL, "the plan could not be read");
    v = json_object_get(json_object_get(eff, "limits"), limit);
    value = json_is_integer(v) ? json_integer_value(v) : -1;
    json_decref(eff);
    if (value < 0)
        return 0;
    if ((usage = pl_usage_count(c, limit, c->tenant_id)) < 0) /* fail closed */
        return pl_op_fail(c, PL_EDB, NULL, "the usage of '%s' could not be counted", limit);
    if (usage + adding <= value)
        return 0;
    json_decref(c->problem_extra);
    c->problem_extra =
        json_pack("{s:s,s:I,s:I}", "limit", limit, "value", (json_int_t)value, "usage", (json_int_t)usage);
    return pl_op_fail(c, PL_ELIMIT, NULL, "the plan allows %lld %s; %lld in use", (long long)value, limit,
                      (long long)usage);
}

/* ---- usage meters of the platform's own limits ---- */

static int64_t count_team(pl_app_t *app, pl_db_t *db, const char *tenant_id)
{
    static const char *sql =
        "SELECT (SELECT COUNT(*) FROM tenant_users WHERE tenant_id = $1) + (SELECT COUNT(*) "
        "FROM invitations WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL "
        "AND expires_at > $2)";
    int64_t n = 0;
    return pl_db_int(db, &n, sql, PL_ARGS(PL_TEXT(tenant_id), PL_INT(pl_now_ms()))) == 1 ? n : -1;
}

static int64_t count_keys(pl_app_t *app, pl_db_t *db, const char *tenant_id)
{
    static const char *sql = "SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL";
    int64_t n = 0;
    return pl_db_int(db, &n, sql, PL_ARGS(PL_TEXT(tenant_id))) == 1 ? n : -1;
}

const pl_usage_t pl_platform_usage[] = {
    {"team_members", count_team},
    {"api_keys", count_keys},
    {NULL, NULL},
};

/* ---- routes ---- */

static int h_features(pl_ctx_t *c)
{
    json_t *eff = pl_plan_effective(c->db, c->tenant_id), *out;
    if (eff == NULL)
        return pl_fail(c, PL_EDB, NULL, "the plan could not be read");
    out = json_pack("{s:O,s:O}", "plan", json_object_get(eff, "plan"), "features",
                    json_object_get(eff, "features"));
    json_decref(eff);
    return pl_reply(c, 200, out);
}

/* Validates {"features": {flag: bool}, "limits": {name: int >= -1}, "rate_limits": {tenant|key|ip: {rate,
 * burst}}} parts of a plan or an override; field names are prefixed with where. */
void pl_plan_check_parts(pl_ctx_t *c, json_t *obj, const char *where)
{
    const char *k;
    json_t *v;
    char f[160];
    json_object_foreach(json_object_get(obj, "features"), k, v)
    {
        const char *p;
        bool ok = strlen(k) >= 1 && strlen(k) <= 64;
        for (p = k; *p && ok; p++)
            ok = islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_';
        snprintf(f, sizeof(f), "%sfeatures.%.60s", where, k);
        if (!ok)
            pl_err_field(&c->err, f, "feature names are lowercase letters, digits and '_'");
        else if (!json_is_boolean(v))
            pl_err_field(&c->err, f, "must be true or false");
    }
    json_object_foreach(json_object_get(obj, "limits"), k, v)
    {
        snprintf(f, sizeof(f), "%slimits.%.60s", where, k);
        if (!json_is_integer(v) || json_integer_value(v) < -1)
            pl_err_field(&c->err, f, "must be an integer, -1 for unlimited");
    }
    json_object_foreach(json_object_get(obj, "rate_limits"), k, v)
    {
        json_t *rate = json_object_get(v, "rate"), *burst = json_object_get(v, "burst");
        snprintf(f, sizeof(f), "%srate_limits.%.60s", where, k);
        if (strcmp(k, "tenant") && strcmp(k, "key") && strcmp(k, "ip"))
            pl_err_field(&c->err, f, "must be tenant, key or ip");
        else if (!json_is_object(v) || !json_is_integer(rate) || json_integer_value(rate) < 1 ||
                 (burst && (!json_is_integer(burst) || json_integer_value(burst) < 1)) ||
                 json_object_size(v) > 2)
            pl_err_field(&c->err, f, "must be {\"rate\": requests per second >= 1, \"burst\": >= 1}");
    }
}

static const pl_field_t parts_fields[] = {
    {"features", PL_T_OBJECT, 0, 0, 8192, NULL, NULL, "{flag: true|false}", NULL},
    {"limits", PL_T_OBJECT, 0, 0, 8192, NULL, NULL, "{name: count}, -1 unlimited", NULL},
    {"rate_limits", PL_T_OBJECT, 0, 0, 2048, NULL, NULL, "{tenant|key|ip: {rate, burst}}", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
const pl_schema_t pl_plan_parts_schema = {"PlanOverrides", parts_fields, false};

static const char *check_key(const char *v)
{
    const char *p;
    for (p = v; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' || *p == '-'))
            return "must be lowercase letters, digits, '_' and '-'";
    return NULL;
}

#define PLAN_FIELDS(REQ)                                                                                     \
    {"key", PL_T_STRING, REQ, 2, 32, NULL, NULL, "e.g. starter", check_key},                                 \
        {"name", PL_T_STRING, REQ, 1, 100, NULL, NULL, NULL, NULL},                                          \
        {"features", PL_T_OBJECT, 0, 0, 8192, NULL, NULL, NULL, NULL},                                       \
        {"limits", PL_T_OBJECT, 0, 0, 8192, NULL, NULL, NULL, NULL},                                         \
        {"rate_limits", PL_T_OBJECT, 0, 0, 2048, NULL, NULL, NULL, NULL},                                    \
        {"cell", PL_T_STRING,                                                                                \
         0,      1,                                                                                          \
         40,     NULL,                                                                                       \
         NULL,   "the cell new organizations of the plan are placed in (plinth cell list; default: pool)",   \
         NULL},                                                                                              \
    {                                                                                                        \
        NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL                                                             \
    }
static const pl_field_t plan_create_fields[] = {PLAN_FIELDS(PL_F_REQUIRED)};
static const pl_schema_t plan_create_schema = {"PlanCreate", plan_create_fields, false};
static const pl_field_t plan_update_fields[] = {PLAN_FIELDS(0)};
static const pl_schema_t plan_update_schema = {"PlanUpdate", plan_update_fields, false};

#define PLAN_COLS                                                                                            \
    "id, key, name, features, limits, rate_limits, created_at, updated_at, COALESCE(cell, 'pool')"

static json_t *plan_json(pl_rows_t *r)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:s}", "id", pl_rows_text(r, 0), "key",
                     pl_rows_text(r, 1), "name", pl_rows_text(r, 2), "features",
                     json_loads(pl_rows_text(r, 3), 0, NULL), "limits",
                     json_loads(pl_rows_text(r, 4), 0, NULL), "rate_limits",
                     json_loads(pl_rows_text(r, 5), 0, NULL), "created_at", pl_json_time(pl_rows_int(r, 6)),
                     "updated_at", pl_json_time(pl_rows_int(r, 7)), "cell", pl_rows_text(r, 8));
}

/* A plan's cell must be one the directory knows. */
static void check_cell(pl_ctx_t *c)
{
    static const char *sql = "SELECT 1 FROM cells WHERE name = $1";
    const char *cell = pl_json_str(c->body, "cell");
    int64_t one;
    if (cell && pl_db_int(c->db, &one, sql, PL_ARGS(PL_TEXT(cell))) != 1)
        pl_err_field(&c->err, "cell", "no cell is named '%s' (plinth cell list)", cell);
}

static json_t *plan_get(pl_ctx_t *c, const char *id)
{
    static const char *sql = "SELECT " PLAN_COLS " FROM plans WHERE id = $1 OR key = $1";
    return pl_query_one(c->db, plan_json, sql, PL_ARGS(PL_TEXT(id)));
}

static int h_plans_list(pl_ctx_t *c)
{
    static const char *sql = "SELECT " PLAN_COLS " FROM plans ORDER BY id";
    return pl_reply_all(c, plan_json, sql, "plans");
}

static int h_plans_create(pl_ctx_t *c)
{
    static const char *sql =
        "INSERT INTO plans (id, key, name, features, limits, rate_limits, created_at, updated_at, cell) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)";
    char *id = pl_new_id(c, "pln");
    int rc;
    pl_plan_check_parts(c, c->body, "");
    check_cell(c);
    if (c->err.status != PL_OK)
        return c->err.status;
    rc = pl_db_exec(c->db, sql,
                    PL_ARGS(PL_TEXT(id), PL_TEXT(pl_json_str(c->body, "key")),
                            PL_TEXT(pl_json_str(c->body, "name")),
                            PL_TEXT(pl_json_text(c, json_object_get(c->body, "features"), "{}")),
                            PL_TEXT(pl_json_text(c, json_object_get(c->body, "limits"), "{}")),
                            PL_TEXT(pl_json_text(c, json_object_get(c->body, "rate_limits"), "{}")),
                            PL_INT(pl_now_ms()), PL_TEXT(pl_json_str(c->body, "cell"))));
    if (rc == PL_ECONFLICT)
        return pl_fail(c, PL_ECONFLICT, NULL, "a plan with the key '%s' exists", pl_json_str(c->body, "key"));
    if (rc < 0)
        return pl_fail(c, PL_EDB, NULL, "the plan could not be saved");
    return pl_reply_change(c, 201, id, NULL, plan_get(c, id));
}

static int h_plans_patch(pl_ctx_t *c)
{
    static const char *sql = "UPDATE plans SET key = COALESCE($2, key), name = COALESCE($3, name), "
                             "features = COALESCE($4, features), limits = COALESCE($5, limits), "
                             "rate_limits = COALESCE($6, rate_limits), updated_at = $7, "
                             "cell = CASE WHEN $8 IS NULL THEN cell WHEN $8 = 'pool' THEN NULL ELSE $8 END "
                             "WHERE id = $1";
    static const char *sql_tenants = "UPDATE tenants SET plan_key = $1 WHERE plan_key = $2";
    json_t *cur = plan_get(c, pl_param(c, 0));
    const char *key = pl_json_str(c->body, "key");
    int rc;
    if (cur == NULL || !pl_id_ok(pl_param(c, 0), "pln")) {
        json_decref(cur);
        return pl_fail_notfound(c, "plan");
    }
    pl_arena_defer(c->arena, (void (*)(void *))json_decref, cur);
    pl_plan_check_parts(c, c->body, "");
    check_cell(c);
    if (c->err.status != PL_OK)
        return c->err.status;
    rc = pl_db_exec(c->db, sql,
                    PL_ARGS(PL_TEXT(pl_param(c, 0)), PL_TEXT(key), PL_TEXT(pl_json_str(c->body, "name")),
                            PL_TEXT(pl_json_text(c, json_object_get(c->body, "features"), NULL)),
                            PL_TEXT(pl_json_text(c, json_object_get(c->body, "limits"), NULL)),
                            PL_TEXT(pl_json_text(c, json_object_get(c->body, "rate_limits"), NULL)),
                            PL_INT(pl_now_ms()), PL_TEXT(pl_json_str(c->body, "cell"))));
    if (rc == PL_ECONFLICT)
        return pl_fail(c, PL_ECONFLICT, NULL, "a plan with the key '%s' exists", key);
    if (rc >= 0 && key)
        rc = pl_db_exec(c->db, sql_tenants, PL_ARGS(PL_TEXT(key), PL_TEXT(pl_json_str(cur, "key"))));
    if (rc < 0)
        return pl_fail(c, PL_EDB, NULL, "the plan could not be saved");
    pl_auth_changed(c);
    return pl_reply_change(c, 200, pl_param(c, 0), json_incref(cur), plan_get(c, pl_param(c, 0)));
}

/* ---- feature flags ---- */

#define FLAG_COLS "key, description, default_enabled, rollout_percent, created_at, updated_at"

static json_t *flag_json(pl_rows_t *r)
{
    return json_pack("{s:s,s:s,s:b,s:I,s:o,s:o}", "key", pl_rows_text(r, 0), "description",
                     pl_rows_text(r, 1), "default_enabled", (int)pl_rows_int(r, 2), "rollout_percent",
                     (json_int_t)pl_rows_int(r, 3), "created_at", pl_json_time(pl_rows_int(r, 4)),
                     "updated_at", pl_json_time(pl_rows_int(r, 5)));
}

static json_t *flag_get(pl_ctx_t *c, const char *key)
{
    static const char *sql = "SELECT " FLAG_COLS " FROM feature_flags WHERE key = $1";
    return pl_query_one(c->db, flag_json, sql, PL_ARGS(PL_TEXT(key)));
}

static const char *check_flag_key(const char *v)
{
    const char *p;
    for (p = v; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_'))
            return "must be lowercase letters, digits and '_'";
    return NULL;
}

#define FLAG_FIELDS(REQ)                                                                                     \
    {"key", PL_T_STRING, REQ, 1, 64, NULL, NULL, NULL, check_flag_key},                                      \
        {"description", PL_T_STRING, 0, 0, 500, NULL, NULL, NULL, NULL},                                     \
        {"default_enabled", PL_T_BOOL, 0, 0, 0, NULL, NULL, NULL, NULL},                                     \
        {"rollout_percent",                                                                                  \
         PL_T_INT,                                                                                           \
         0,                                                                                                  \
         0,                                                                                                  \
         100,                                                                                                \
         NULL,                                                                                               \
         NULL,                                                                                               \
         "0–100: share of tenants that get the flag",                                                        \
         NULL},                                                                                              \
    {                                                                                                        \
        NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL                                                             \
    }
static const pl_field_t flag_create_fields[] = {FLAG_FIELDS(PL_F_REQUIRED)};
static const pl_schema_t flag_create_schema = {"FeatureFlagCreate", flag_create_fields, false};
static const pl_field_t flag_update_fields[] = {
    {"description", PL_T_STRING, 0, 0, 500, NULL, NULL, NULL, NULL},
    {"default_enabled", PL_T_BOOL, 0, 0, 0, NULL, NULL, NULL, NULL},
    {"rollout_percent", PL_T_INT, 0, 0, 100, NULL, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
static const pl_schema_t flag_update_schema = {"FeatureFlagUpdate", flag_update_fields, false};

static int h_flags_list(pl_ctx_t *c)
{
    static const char *sql = "SELECT " FLAG_COLS " FROM feature_flags ORDER BY key";
    return pl_reply_all(c, flag_json, sql, "flags");
}

static int h_flags_create(pl_ctx_t *c)
{
    static const char *sql = "INSERT INTO feature_flags (key, description, default_enabled, rollout_percent, "
                             "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)";
    const char *key = pl_json_str(c->body, "key"), *desc = pl_json_str(c->body, "description");
    int rc = pl_db_exec(c->db, sql,
                        PL_ARGS(PL_TEXT(key), PL_TEXT(desc ? desc : ""),
                                PL_INT(json_is_true(json_object_get(c->body, "default_enabled"))),
                                PL_INT(pl_json_int(c->body, "rollout_percent", 0)), PL_INT(pl_now_ms())));
    if (rc == PL_ECONFLICT)
        return pl_fail(c, PL_ECONFLICT, NULL, "the flag '%s' exists", key);
    if (rc < 0)
        return pl_fail(c, PL_EDB, NULL, "the flag could not be saved");
    pl_auth_changed(c);
    return pl_reply_change(c, 201, key, NULL, flag_get(c, key));
}

static int h_flags_patch(pl_ctx_t *c)
{
    static const char *sql =
        "UPDATE feature_flags SET description = COALESCE($2, description), default_enabled = "
        "COALESCE($3, default_enabled), rollout_percent = COALESCE($4, rollout_percent), "
        "updated_at = $5 WHERE key = $1";
    const char *key = pl_param(c, 0);
    json_t *de = json_object_get(c->body, "default_enabled"),
           *rp = json_object_get(c->body, "rollout_percent");
    json_t *before;
    int rc;
    if ((before = flag_get(c, key)) == NULL)
        return pl_fail_notfound(c, "feature flag");
    rc = pl_db_exec(c->db, sql,
                    PL_ARGS(PL_TEXT(key), PL_TEXT(pl_json_str(c->body, "description")),
                            de ? PL_INT(json_is_true(de)) : PL_NULL_INT,
                            rp ? PL_INT(json_integer_value(rp)) : PL_NULL_INT, PL_INT(pl_now_ms())));
    if (rc < 0) {
        json_decref(before);
        return pl_fail(c, PL_EDB, NULL, "the flag could not be saved");
    }
    pl_auth_changed(c);
    return pl_reply_change(c, 200, key, before, flag_get(c, key));
}

const pl_route_t pl_plan_routes[] = {
    {"GET", "/v1/features", h_features, NULL, PL_R_TENANT, NULL, 200,
     "The organization's effective feature flags"},
    {"GET", "/v1/admin/plans", h_plans_list, "platform:plans:read", PL_R_PLATFORM, NULL, 200,
     "Operator: plans"},
    {"POST", "/v1/admin/plans", h_plans_create, "platform:plans:manage", PL_R_PLATFORM, &plan_create_schema,
     201, "Operator: create a plan", "plan.created"},
    {"PATCH", "/v1/admin/plans/{id}", h_plans_patch, "platform:plans:manage", PL_R_PLATFORM,
     &plan_update_schema, 200, "Operator: change a plan", "plan.updated"},
    {"GET", "/v1/admin/feature-flags", h_flags_list, "platform:plans:read", PL_R_PLATFORM, NULL, 200,
     "Operator: feature flags"},
    {"POST", "/v1/admin/feature-flags", h_flags_create, "platform:plans:manage", PL_R_PLATFORM,
     &flag_create_schema, 201, "Operator: define a feature flag", "feature_flag.created"},
    {"PATCH", "/v1/admin/feature-flags/{key}", h_flags_patch, "platform:plans:manage", PL_R_PLATFORM,
     &flag_update_schema, 200, "Operator: change a flag's default or rollout", "feature_flag.updated"},
    PL_ROUTES_END,
};
