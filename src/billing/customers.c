/*
 * customers.c — customers, in Stripe's shape: {id: "cus_…", object: "customer", name, email,
 * description, phone, currency (lowercase ISO 4217, null until set), balance (minor units;
 * negative is credit), metadata (string values), created (Unix seconds)}.
 */
#include <ctype.h>
#include <string.h>

#include "billing/internal.h"
#include "core/clock.h"
#include "core/money.h"
#include "core/banned.h"

#define COLS "id, name, email, description, phone, currency, balance, metadata, created_at"
#define METADATA_KEYS 50

static json_t *customer_json(pl_rows_t *r)
{
    json_t *meta = json_loads(pl_rows_text(r, 7), 0, NULL);
    return json_pack(
        "{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:I}", "id", pl_rows_text(r, 0), "object", "customer", "name",
        pl_json_str_or_null(pl_rows_text(r, 1)), "email", pl_json_str_or_null(pl_rows_text(r, 2)),
        "description", pl_json_str_or_null(pl_rows_text(r, 3)), "phone",
        pl_json_str_or_null(pl_rows_text(r, 4)), "currency", pl_json_str_or_null(pl_rows_text(r, 5)),
        "balance", (json_int_t)pl_rows_int(r, 6), "metadata", meta ? meta : json_object(), "created",
        (json_int_t)(pl_rows_int(r, 8) / 1000));
}

static json_t *customer_get(pl_ctx_t *c, const char *id)
{
    static const char *sql = "SELECT " COLS " FROM billing_customers WHERE id = $1 AND tenant_id = $2";
    if (!pl_id_ok(id, "cus"))
        return NULL;
    return pl_query_one(c->db, customer_json, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id)));
}

/* Stripe takes any case; it answers lowercase. */
static const char *check_currency(const char *v)
{
    char up[4] = "";
    size_t i;
    for (i = 0; i < 3 && v[i]; i++)
        up[i] = (char)toupper((unsigned char)v[i]);
    return strlen(v) == 3 ? pl_currency_check(up) : "is not an ISO 4217 currency code";
}

#define CUSTOMER_FIELDS                                                                                      \
    {"name", PL_T_STRING, PL_F_NULLABLE, 0, 256, NULL, NULL, NULL, NULL},                                    \
        {"email", PL_T_EMAIL, PL_F_NULLABLE, 0, 0, NULL, NULL, NULL, NULL},                                  \
        {"description", PL_T_STRING, PL_F_NULLABLE, 0, 1000, NULL, NULL, NULL, NULL},                        \
        {"phone", PL_T_STRING, PL_F_NULLABLE, 0, 32, NULL, NULL, NULL, NULL},                                \
        {"currency",    PL_T_STRING, 0, 3, 3, NULL, NULL, "ISO 4217, any case (answered lowercase)",         \
         check_currency},                                                                                    \
        {"balance",                                                                                          \
         PL_T_INT,                                                                                           \
         0,                                                                                                  \
         -PL_MONEY_MAX,                                                                                      \
         PL_MONEY_MAX,                                                                                       \
         NULL,                                                                                               \
         NULL,                                                                                               \
         "minor units of the currency: negative is credit for the next invoice, positive is owed",           \
         NULL},                                                                                              \
        {"metadata",                                                                                         \
         PL_T_OBJECT,                                                                                        \
         0,                                                                                                  \
         0,                                                                                                  \
         32768,                                                                                              \
         NULL,                                                                                               \
         NULL,                                                                                               \
         "up to 50 keys (40 characters) with string values (500 characters); an empty string removes a key", \
         NULL},                                                                                              \
    {                                                                                                        \
        NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL                                                             \
    }

static const pl_field_t fields[] = {CUSTOMER_FIELDS};
static const pl_schema_t create_schema = {"CustomerCreate", fields, false};
static const pl_schema_t update_schema = {"CustomerUpdate", fields, false};

/* Stripe's metadata rules on what the request sends, merged into the stored keys (an empty
 * value removes its key). Returns the JSON text to store, or NULL with a field error. */
static char *metadata(pl_ctx_t *c, json_t *stored)
{
    json_t *in = json_object_get(c->body, "metadata"), *out, *v;
    const char *k;
    char *text;
    out = stored ? json_deep_copy(stored) : json_object();
    json_object_foreach(in, k, v)
    {
        if (strlen(k) > 40 || *k == '\0')
            pl_err_field(&c->err, "metadata", "a key has 1 to 40 characters");
        else if (!json_is_string(v) || pl_utf8_chars(json_string_value(v), json_string_length(v)) > 500)
            pl_err_field(&c->err, "metadata", "the value of '%s' must be a string of at most 500 characters",
                         k);
        else if (json_string_length(v) == 0)
            json_object_del(out, k);
        else
            json_object_set(out, k, v);
    }
    if (c->err.status == PL_OK && json_object_size(out) > METADATA_KEYS)
        pl_err_field(&c->err, "metadata", "at most %d keys", METADATA_KEYS);
    text = c->err.status == PL_OK ? pl_json_text(c, out, "{}") : NULL;
    json_decref(out);
    return text;
}

static const char *lower(pl_ctx_t *c, const char *v)
{
    char *s;
    size_t i;
    if (v == NULL)
        return NULL;
    s = pl_strdup(c->arena, v);
    for (i = 0; s[i]; i++)
        s[i] = (char)tolower((unsigned char)s[i]);
    return s;
}

static int h_create(pl_ctx_t *c)
{
    static const char *sql = "INSERT INTO billing_customers (id, tenant_id, name, email, description, phone, "
                             "currency, balance, metadata, created_at, updated_at) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)";
    char *id = pl_new_id(c, "cus"), *meta = metadata(c, NULL);
    if (meta == NULL)
        return c->err.status;
    if (pl_db_exec(
            c->db, sql,
            PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_TEXT(pl_json_str(c->body, "name")),
                    PL_TEXT(pl_json_str(c->body, "email")), PL_TEXT(pl_json_str(c->body, "description")),
                    PL_TEXT(pl_json_str(c->body, "phone")),
                    PL_TEXT(lower(c, pl_json_str(c->body, "currency"))),
                    PL_INT(pl_json_int(c->body, "balance", 0)), PL_TEXT(meta), PL_INT(pl_now_ms()))) != 1)
        return pl_fail(c, PL_EDB, NULL, "the customer could not be saved");
    return pl_reply_change(c, 201, id, NULL, customer_get(c, id));
}

static int h_list(pl_ctx_t *c)
{
    return pl_reply_list(c, PL_LIST_BY_ID_SQL(COLS, "billing_customers"), PL_COUNT_SQL("billing_customers"),
                         customer_json, "id");
}

static int h_get(pl_ctx_t *c)
{
    json_t *cu = customer_get(c, pl_param(c, 0));
    return cu ? pl_reply(c, 200, cu) : pl_fail_notfound(c, "customer");
}

/* A field the request names is set (null clears it); one it leaves out keeps its value. */
static pl_val_t set_or_keep(pl_ctx_t *c, const char *name, const char *value)
{
    (void)c;
    return json_object_get(c->body, name) ? PL_TEXT(value) : PL_TEXT(NULL);
}

static int h_patch(pl_ctx_t *c)
{
    static const char *sql = "UPDATE billing_customers SET "
                             "name = CASE WHEN $3 = 1 THEN $4 ELSE name END, "
                             "email = CASE WHEN $5 = 1 THEN $6 ELSE email END, "
                             "description = CASE WHEN $7 = 1 THEN $8 ELSE description END, "
                             "phone = CASE WHEN $9 = 1 THEN $10 ELSE phone END, "
                             "currency = COALESCE($11, currency), balance = COALESCE($12, balance), "
                             "metadata = $13, updated_at = $14 WHERE id = $1 AND tenant_id = $2";
    const char *id = pl_param(c, 0), *const names[] = {"name", "email", "description", "phone"};
    json_t *before = customer_get(c, id);
    json_t *bal = json_object_get(c->body, "balance");
    pl_val_t v[8];
    char *meta;
    size_t i;
    if (before == NULL)
        return pl_fail_notfound(c, "customer");
    pl_arena_defer(c->arena, (void (*)(void *))json_decref, before);
    if ((meta = metadata(c, json_object_get(before, "metadata"))) == NULL)
        return c->err.status;
    for (i = 0; i < 4; i++) {
        v[2 * i] = PL_INT(json_object_get(c->body, names[i]) != NULL);
        v[2 * i + 1] = set_or_keep(c, names[i], pl_json_str(c->body, names[i]));
    }
    if (pl_db_exec(c->db, sql,
                   PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
                           PL_TEXT(lower(c, pl_json_str(c->body, "currency"))),
                           bal ? PL_INT(json_integer_value(bal)) : PL_NULL_INT, PL_TEXT(meta),
                           PL_INT(pl_now_ms()))) != 1)
        return pl_fail(c, PL_EDB, NULL, "the customer could not be saved");
    return pl_reply_change(c, 200, id, json_incref(before), customer_get(c, id));
}

static int h_delete(pl_ctx_t *c)
{
    static const char *sql = "DELETE FROM billing_customers WHERE id = $1 AND tenant_id = $2";
    const char *id = pl_param(c, 0);
    json_t *before = customer_get(c, id);
    if (before == NULL)
        return pl_fail_notfound(c, "customer");
    if (pl_db_exec(c->db, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id))) != 1) {
        json_decref(before);
        return pl_fail(c, PL_EDB, NULL, "the customer could not be deleted");
    }
    return pl_reply_deleted(c, id, before);
}

const pl_route_t pl_customer_routes[] = {
    {"GET", "/v1/customers", h_list, "billing:read", PL_R_TENANT, NULL, 200, "List customers"},
    {"POST", "/v1/customers", h_create, "billing:manage", PL_R_TENANT, &create_schema, 201,
     "Create a customer", "customer.created"},
    {"GET", "/v1/customers/{id}", h_get, "billing:read", PL_R_TENANT, NULL, 200, "Get a customer"},
    {"PATCH", "/v1/customers/{id}", h_patch, "billing:manage", PL_R_TENANT, &update_schema, 200,
     "Update a customer (fields left out keep their values; null clears one)", "customer.updated"},
    {"DELETE", "/v1/customers/{id}", h_delete, "billing:manage", PL_R_TENANT, NULL, 204, "Delete a customer",
     "customer.deleted"},
    PL_ROUTES_END,
};
