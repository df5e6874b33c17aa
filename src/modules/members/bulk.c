/*
 * bulk.c — one action on up to 1,000 members, all or nothing: if any id is not a member of
 * the organization (absent, deleted or another tenant's), nothing changes.
 */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "modules/members/internal.h"
#include "core/banned.h"

static const char *const actions[] = {"activate", "deactivate",          "suspend",
                                      "delete",   "set_membership_type", NULL};

static const pl_field_t bulk_fields[] = {
    {"action", PL_T_ENUM, PL_F_REQUIRED, 0, 0, actions, NULL, NULL, NULL},
    {"ids", PL_T_ARRAY, PL_F_REQUIRED, 1, 1000, NULL, NULL, "member ids, 1 to 1000", NULL},
    {"membership_type_id", PL_T_STRING, PL_F_NULLABLE, 1, 40, NULL, NULL,
     "for set_membership_type (null clears)", NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
static const pl_schema_t bulk_schema = {"MemberBulk", bulk_fields, false};

static int h_bulk(pl_ctx_t *c)
{
    static const char *sql_cur =
        "SELECT status, membership_type_id FROM members WHERE id = $1 AND tenant_id = $2 "
        "AND deleted_at IS NULL";
    static const char *sql_status =
        "UPDATE members SET status = $1, updated_at = $2 WHERE id = $3 AND tenant_id = $4";
    static const char *sql_type = "UPDATE members SET membership_type_id = $1, updated_at = $2 WHERE id = $3 "
                                  "AND tenant_id = $4";
    static const char *sql_delete = "UPDATE members SET deleted_at = $1, updated_at = $1 WHERE id = $2 "
                                    "AND tenant_id = $3";
    const char *action = pl_json_str(c->body, "action");
    json_t *ids = json_object_get(c->body, "ids"), *mt = json_object_get(c->body, "membership_type_id");
    json_t *changed = json_array(), *unchanged = json_array(), *seen = json_object();
    const char *target = NULL, *type_id = json_is_string(mt) ? json_string_value(mt) : NULL;
    int64_t now = pl_now_ms();
    size_t i;
    int missing = 0, rc = 0;

    if (!strcmp(action, "activate"))
        target = "active";
    else if (!strcmp(action, "deactivate"))
        target = "inactive";
    else if (!strcmp(action, "suspend"))
        target = "suspended";
    else if (!strcmp(action, "set_membership_type")) {
        if (mt == NULL)
            pl_err_field(&c->err, "membership_type_id", "is required for set_membership_type");
        else if (type_id && pl_member_type_exists(&c->op, type_id) != 1)
            pl_err_field(&c->err, "membership_type_id", "does not exist");
    } else if (mt) {
        pl_err_field(&c->err, "membership_type_id", "is only for set_membership_type");
    }
    if (c->err.status != PL_OK)
        goto out;

    for (i = 0; i < json_array_size(ids); i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        pl_rows_t *r;
        bool found = false, same = false;
        if (json_object_get(seen, id))
            continue;
        json_object_set_new(seen, id, json_true());
        if (pl_id_ok(id, "mem") &&
            pl_db_query(c->db, &r, sql_cur, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id))) == 0) {
            if (pl_rows_next(r) == 1) {
                const char *cur_type = pl_rows_text(r, 1);
                found = true;
                if (target)
                    same = strcmp(pl_rows_text(r, 0), target) == 0;
                else if (!strcmp(action, "set_membership_type"))
                    same = (cur_type == NULL && type_id == NULL) ||
                           (cur_type && type_id && !strcmp(cur_type, type_id));
            }
            pl_rows_close(r);
        }
        if (!found) {
            char field[32];
            snprintf(field, sizeof(field), "ids[%zu]", i);
            pl_err_field(&c->err, field, "no such member");
            missing++;
            continue;
        }
        if (missing)
            continue;
        if (same) {
            json_array_append_new(unchanged, json_string(id));
            continue;
        }
        if (target)
            rc = pl_db_exec(c->db, sql_status,
                            PL_ARGS(PL_TEXT(target), PL_INT(now), PL_TEXT(id), PL_TEXT(c->tenant_id)));
        else if (!strcmp(action, "delete"))
            rc = pl_db_exec(c->db, sql_delete, PL_ARGS(PL_INT(now), PL_TEXT(id), PL_TEXT(c->tenant_id)));
        else
            rc = pl_db_exec(c->db, sql_type,
                            PL_ARGS(PL_TEXT(type_id), PL_INT(now), PL_TEXT(id), PL_TEXT(c->tenant_id)));
        if (rc < 0) {
            pl_fail(c, PL_EDB, NULL, "the bulk action failed");
            goto out;
        }
        json_array_append_new(changed, json_string(id));
    }
    if (missing) {
        /* all or nothing: the pipeline rolls back whatever was changed */
        pl_err_set(&c->err, PL_ENOTFOUND, NULL,
                   "%d of the ids are not members of this organization; nothing changed", missing);
        goto out;
    }
    json_decref(seen);
    {
        json_t *out =
            json_pack("{s:s,s:I,s:o,s:o}", "action", action, "count", (json_int_t)json_array_size(changed),
                      "changed", changed, "unchanged", unchanged);
        pl_record_change(
            c, (pl_change_t){.event = "member.bulk_updated", .resource_type = "member", .after = out});
        return pl_reply(c, 200, out);
    }
out:
    json_decref(changed);
    json_decref(unchanged);
    json_decref(seen);
    return c->err.status;
}

const pl_route_t pl_member_bulk_routes[] = {
    {"POST", "/v1/members/bulk", h_bulk, "members:write", PL_R_TENANT, &bulk_schema, 200,
     "Apply one action to up to 1000 members, all or nothing", "member.bulk"},
    PL_ROUTES_END,
};
