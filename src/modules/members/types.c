/*
 * types.c — membership types (tiers): name, description, features, price, billing interval.
 * A type that members use cannot be deleted.
 */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/money.h"
#include "modules/members/internal.h"
#include "core/banned.h"

#define COLS "id, name, description, features, price_amount, price_currency, interval, created_at, updated_at"

static const char *const intervals[] = {"month", "year", NULL};

static json_t *type_json(pl_rows_t *r)
{
    json_t *features = json_loads(pl_rows_text(r, 3), 0, NULL);
    return json_pack("{s:s,s:s,s:s,s:o,s:{s:I,s:s},s:s,s:o,s:o}", "id", pl_rows_text(r, 0), "name",
                     pl_rows_text(r, 1), "description", pl_rows_text(r, 2), "features",
                     features ? features : json_array(), "price", "amount", (json_int_t)pl_rows_int(r, 4),
                     "currency", pl_rows_text(r, 5), "interval", pl_rows_text(r, 6), "created_at",
                     pl_json_time(pl_rows_int(r, 7)), "updated_at", pl_json_time(pl_rows_int(r, 8)));
}

static json_t *type_get(pl_ctx_t *c, const char *id)
{
    static const char *sql = "SELECT " COLS " FROM membership_types WHERE id = $1 AND tenant_id = $2";
    if (!pl_id_ok(id, "mt"))
        return NULL;
    return pl_query_one(c->db, type_json, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id)));
}

#define TYPE_FIELDS(REQ)                                                                                      \
    {"name", PL_T_STRING, REQ, 1, 100, NULL, NULL, "unique in the organization", NULL},                       \
        {"description", PL_T_STRING, 0, 0, 2000, NULL, NULL, NULL, NULL},                                     \
        {"features", PL_T_ARRAY, 0, 0, 50, NULL, NULL, "up to 50 feature names", NULL},                       \
        {"price", PL_T_OBJECT, REQ, 0, 0, NULL, &pl_money_schema, "price per interval in minor units", NULL}, \
        {"interval", PL_T_ENUM, REQ, 0, 0, intervals, NULL, "month or year", NULL},                           \
    {                                                                                                         \
        NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL                                                              \
    }

static const pl_field_t create_fields[] = {TYPE_FIELDS(PL_F_REQUIRED)};
static const pl_schema_t create_schema = {"MembershipTypeCreate", create_fields, false};
static const pl_field_t update_fields[] = {TYPE_FIELDS(0)};
static const pl_schema_t update_schema = {"MembershipTypeUpdate", update_fields, false};

static int save_failed(pl_ctx_t *c, int rc)
{
    if (rc == PL_ECONFLICT)
        return pl_fail(c, PL_ECONFLICT, NULL, "a membership type named '%s' already exists",
                       pl_json_str(c->body, "name"));
    return pl_fail(c, PL_EDB, NULL, "the membership type could not be saved");
}

static int h_create(pl_ctx_t *c)
{
    static const char *sql =
        "INSERT INTO membership_types (id, tenant_id, name, description, features, price_amount, "
        "price_currency, interval, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)";
    json_t *price = json_object_get(c->body, "price"), *features = json_object_get(c->body, "features");
    const char *desc = pl_json_str(c->body, "description");
    char *f = pl_json_text(c, features, "[]");
    char *id = pl_new_id(c, "mt");
    int rc;
    rc = pl_db_exec(c->db, sql,
                    PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_TEXT(pl_json_str(c->body, "name")),
                            PL_TEXT(desc ? desc : ""), PL_TEXT(f), PL_INT(pl_json_int(price, "amount", 0)),
                            PL_TEXT(pl_json_str(price, "currency")),
                            PL_TEXT(pl_json_str(c->body, "interval")), PL_INT(pl_now_ms())));
    if (rc < 0)
        return save_failed(c, rc);
    return pl_reply_change(c, 201, id, NULL, type_get(c, id));
}

static int h_list(pl_ctx_t *c)
{
    return pl_reply_list(c, PL_LIST_BY_ID_SQL(COLS, "membership_types"), PL_COUNT_SQL("membership_types"),
                         type_json, "id");
}

static int h_get(pl_ctx_t *c)
{
    json_t *t = type_get(c, pl_param(c, 0));
    return t ? pl_reply(c, 200, t) : pl_fail_notfound(c, "membership type");
}

static int h_patch(pl_ctx_t *c)
{
    static const char *sql =
        "UPDATE membership_types SET name = COALESCE($3, name), description = COALESCE($4, "
        "description), features = COALESCE($5, features), price_amount = COALESCE($6, "
        "price_amount), price_currency = COALESCE($7, price_currency), interval = COALESCE($8, "
        "interval), updated_at = $9 WHERE id = $1 AND tenant_id = $2";
    const char *id = pl_param(c, 0);
    json_t *price = json_object_get(c->body, "price"), *features = json_object_get(c->body, "features");
    char *f = pl_json_text(c, features, NULL);
    json_t *before;
    int rc;
    if (!pl_id_ok(id, "mt") || (before = type_get(c, id)) == NULL)
        return pl_fail_notfound(c, "membership type");
    rc = pl_db_exec(c->db, sql,
                    PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_TEXT(pl_json_str(c->body, "name")),
                            PL_TEXT(pl_json_str(c->body, "description")), PL_TEXT(f),
                            price ? PL_INT(pl_json_int(price, "amount", 0)) : PL_NULL_INT,
                            PL_TEXT(pl_json_str(price, "currency")),
                            PL_TEXT(pl_json_str(c->body, "interval")), PL_INT(pl_now_ms())));
    if (rc <= 0) {
        json_decref(before);
        return rc < 0 ? save_failed(c, rc) : pl_fail_notfound(c, "membership type");
    }
    return pl_reply_change(c, 200, id, before, type_get(c, id));
}

static int h_delete(pl_ctx_t *c)
{
    static const char *sql_used =
        "SELECT COUNT(*) FROM members WHERE tenant_id = $1 AND membership_type_id = $2 "
        "AND deleted_at IS NULL";
    static const char *sql_detach = "UPDATE members SET membership_type_id = NULL WHERE tenant_id = $1 "
                                    "AND membership_type_id = $2";
    static const char *sql_del = "DELETE FROM membership_types WHERE id = $1 AND tenant_id = $2";
    const char *id = pl_param(c, 0);
    int64_t used = 0;
    json_t *before;
    int n;
    if (!pl_id_ok(id, "mt") || (before = type_get(c, id)) == NULL)
        return pl_fail_notfound(c, "membership type");
    if (pl_db_int(c->db, &used, sql_used, PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(id))) < 0) {
        json_decref(before);
        return pl_fail(c, PL_EDB, NULL, "the membership type could not be deleted");
    }
    if (used > 0) {
        json_decref(before);
        return pl_fail(c, PL_ECONFLICT, "membership_type_in_use", "%lld members have this membership type",
                       (long long)used);
    }
    /* deleted members keep no reference to a type that no longer exists */
    if (pl_db_exec(c->db, sql_detach, PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(id))) < 0 ||
        (n = pl_db_exec(c->db, sql_del, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id)))) <= 0) {
        json_decref(before);
        return pl_fail(c, PL_EDB, NULL, "the membership type could not be deleted");
    }
    return pl_reply_deleted(c, id, before);
}

const pl_route_t pl_member_type_routes[] = {
    {"GET", "/v1/membership-types", h_list, "members:read", PL_R_TENANT, NULL, 200, "List membership types"},
    {"POST", "/v1/membership-types", h_create, "members:write", PL_R_TENANT, &create_schema, 201,
     "Create a membership type", "membership_type.created"},
    {"GET", "/v1/membership-types/{id}", h_get, "members:read", PL_R_TENANT, NULL, 200,
     "Get a membership type"},
    {"PATCH", "/v1/membership-types/{id}", h_patch, "members:write", PL_R_TENANT, &update_schema, 200,
     "Update a membership type", "membership_type.updated"},
    {"DELETE", "/v1/membership-types/{id}", h_delete, "members:write", PL_R_TENANT, NULL, 204,
     "Delete a membership type no member uses", "membership_type.deleted"},
    PL_ROUTES_END,
};
