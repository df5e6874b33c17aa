/*
 * members.c — members: create, read, update, soft delete, and the list with filters, search,
 * sort and keyset pagination.
 *
 * Search: three or more characters are a substring match through the trigram FTS5 index;
 * one or two characters are a prefix match on first name, last name or email through
 * expression indexes. Sorting is by one indexed column plus id, so every page is an index
 * range scan that starts where the previous page ended (no OFFSET), and a walk over the
 * whole list sees every row once even while rows are inserted.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/jsonw.h"
#include "modules/members/internal.h"
#include "app/sequence.h"
#include "platform/platform.h"
#include "core/banned.h"

const char *const pl_member_statuses[] = {"pending", "active", "inactive", "suspended", NULL};

bool pl_is_admin(const pl_op_t *c)
{
    return pl_rbac_rank(c->principal->role) >= 3;
}

json_t *pl_member_json(pl_rows_t *r, bool with_deleted)
{
    json_t *attrs = json_loads(pl_rows_text(r, 9), 0, NULL);
    json_t *m =
        json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "id", pl_rows_text(r, 0), "first_name",
                  pl_rows_text(r, 1), "last_name", pl_rows_text(r, 2), "email", pl_rows_text(r, 3), "phone",
                  pl_json_str_or_null(pl_rows_text(r, 4)), "status", pl_rows_text(r, 5), "membership_type_id",
                  pl_json_str_or_null(pl_rows_text(r, 6)), "joined_at", pl_json_time(pl_rows_int(r, 7)),
                  "last_activity_at", pl_rows_int(r, 8) ? pl_json_time(pl_rows_int(r, 8)) : json_null(),
                  "attributes", attrs ? attrs : json_object(), "created_at", pl_json_time(pl_rows_int(r, 10)),
                  "updated_at", pl_json_time(pl_rows_int(r, 11)));
    if (with_deleted)
        json_object_set_new(m, "deleted_at", pl_json_time_or_null(r, 12));
    return m;
}

void pl_member_render(pl_jw_t *w, pl_rows_t *r, bool with_deleted)
{
    pl_jw_obj(w);
    pl_jw_key(w, "id");
    pl_jw_str(w, pl_rows_text(r, 0));
    pl_jw_key(w, "first_name");
    pl_jw_str(w, pl_rows_text(r, 1));
    pl_jw_key(w, "last_name");
    pl_jw_str(w, pl_rows_text(r, 2));
    pl_jw_key(w, "email");
    pl_jw_str(w, pl_rows_text(r, 3));
    pl_jw_key(w, "phone");
    pl_jw_str(w, pl_rows_text(r, 4));
    pl_jw_key(w, "status");
    pl_jw_str(w, pl_rows_text(r, 5));
    pl_jw_key(w, "membership_type_id");
    pl_jw_str(w, pl_rows_text(r, 6));
    pl_jw_key(w, "joined_at");
    pl_jw_time(w, pl_rows_int(r, 7), false);
    pl_jw_key(w, "last_activity_at");
    pl_jw_time(w, pl_rows_int(r, 8), true);
    pl_jw_key(w, "attributes");
    pl_jw_raw(w, pl_rows_text(r, 9)); /* stored as compact JSON by jansson */
    pl_jw_key(w, "created_at");
    pl_jw_time(w, pl_rows_int(r, 10), false);
    pl_jw_key(w, "updated_at");
    pl_jw_time(w, pl_rows_int(r, 11), false);
    if (with_deleted) {
        pl_jw_key(w, "deleted_at");
        if (pl_rows_null(r, 12))
            pl_jw_null(w);
        else
            pl_jw_time(w, pl_rows_int(r, 12), false);
    }
    pl_jw_end_obj(w);
}

json_t *pl_member_get(pl_op_t *c, const char *id, bool include_deleted)
{
    static const char *sql = "SELECT " PL_MEMBER_COLS " FROM members WHERE id = $1 AND tenant_id = $2 "
                             "AND ($3 = 1 OR deleted_at IS NULL)";
    pl_rows_t *r;
    json_t *m = NULL;
    if (!pl_id_ok(id, "mem"))
        return NULL;
    if (pl_db_query(c->db, &r, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_INT(include_deleted))) !=
        0)
        return NULL;
    if (pl_rows_next(r) == 1)
        m = pl_member_json(r, include_deleted);
    pl_rows_close(r);
    return m;
}

int pl_member_seq_range(pl_op_t *op, const char *tenant_id, int64_t *lo, int64_t *hi)
{
    static const char *sql = "SELECT num FROM tenants WHERE id = $1";
    int64_t num = 0;
    pl_db_t *control;
    /* the caller's tenant: its number came with the credential */
    if (op->principal && op->principal->tenant_num > 0 && strcmp(op->principal->tenant_id, tenant_id) == 0)
        num = op->principal->tenant_num;
    else if ((control = pl_op_control(op)) == NULL ||
             pl_db_int(control, &num, sql, PL_ARGS(PL_TEXT(tenant_id))) != 1)
        return PL_EDB;
    *lo = num << 32;
    *hi = *lo + 0xffffffffLL;
    return 0;
}

int pl_member_take_seqs(pl_op_t *op, const char *tenant_id, int64_t count, int64_t *first)
{
    int64_t lo, hi, last = 0;
    if (pl_member_seq_range(op, tenant_id, &lo, &hi) != 0 ||
        pl_tenant_seq_take(op->db, tenant_id, "members", count, &last) != 0)
        return PL_EDB;
    if (lo + last > hi)
        return PL_ELIMIT;
    *first = lo + last - count + 1;
    return 0;
}

int pl_member_next_seq(pl_op_t *op, const char *tenant_id, int64_t *seq)
{
    return pl_member_take_seqs(op, tenant_id, 1, seq);
}

int pl_member_type_exists(pl_op_t *c, const char *id)
{
    static const char *sql = "SELECT 1 FROM membership_types WHERE id = $1 AND tenant_id = $2";
    int64_t one;
    if (!pl_id_ok(id, "mt"))
        return 0;
    return pl_db_int(c->db, &one, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id)));
}

/* ---- create / update ---- */

static const char *check_phone(const char *v)
{
    const char *p;
    int digits = 0;
    for (p = v; *p; p++) {
        if (isdigit((unsigned char)*p))
            digits++;
        else if (!strchr("+-() .", *p))
            return "may contain only digits, spaces and + - ( ) .";
    }
    return digits >= 3 ? NULL : "must contain at least 3 digits";
}

static const char *check_time(const char *v)
{
    int64_t ms;
    return pl_rfc3339_parse(v, &ms) == 0 ? NULL : "must be an RFC 3339 timestamp";
}

static const char *check_mt(const char *v)
{
    return pl_id_ok(v, "mt") ? NULL : "is not a membership type id";
}

#define MEMBER_FIELDS(REQ)                                                                                    \
    {"first_name", PL_T_STRING, REQ, 1, 100, NULL, NULL, NULL, NULL},                                         \
        {"last_name", PL_T_STRING, REQ, 1, 100, NULL, NULL, NULL, NULL},                                      \
        {"email", PL_T_EMAIL, REQ, 0, 0, NULL, NULL, "unique in the organization, case-insensitively", NULL}, \
        {"phone", PL_T_STRING, PL_F_NULLABLE, 1, 32, NULL, NULL, NULL, check_phone},                          \
        {"status", PL_T_ENUM, 0, 0, 0, pl_member_statuses, NULL, "default active", NULL},                     \
        {"membership_type_id", PL_T_STRING, PL_F_NULLABLE, 1, 40, NULL, NULL, NULL, check_mt},                \
        {"joined_at", PL_T_STRING, 0, 1, 40, NULL, NULL, "RFC 3339; default now", check_time},                \
        {"attributes", PL_T_OBJECT, 0, 0, 16384, NULL, NULL, "custom attributes, at most 16 KiB as JSON",     \
         NULL},                                                                                               \
    {                                                                                                         \
        NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL                                                              \
    }

static const pl_field_t create_fields[] = {MEMBER_FIELDS(PL_F_REQUIRED)};
const pl_schema_t pl_member_create_schema = {"MemberCreate", create_fields, false};
static const pl_field_t update_fields[] = {MEMBER_FIELDS(0)};
static const pl_schema_t update_schema = {"MemberUpdate", update_fields, false};

static void lower_ascii(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

int pl_member_write(pl_op_t *c, const char *id, json_t *in, const char **out_id)
{
    static const char *cols[] = {"first_name", "last_name", "phone", "status", "membership_type_id", NULL};
    json_t *mt = json_object_get(in, "membership_type_id"), *attrs = json_object_get(in, "attributes");
    const char *email = pl_json_str(in, "email"), *joined = pl_json_str(in, "joined_at");
    int64_t now = pl_now_ms(), joined_ms = now;
    char *norm = NULL, *attrs_s = NULL;
    pl_val_t args[16];
    pl_buf_t sql;
    int n = 0, rc, i;

    if (json_is_string(mt) && pl_member_type_exists(c, json_string_value(mt)) != 1)
        pl_err_field(&c->err, "membership_type_id", "does not exist");
    if (joined)
        pl_rfc3339_parse(joined, &joined_ms);
    if (c->err.status != PL_OK)
        return c->err.status;
    if (email) {
        norm = pl_strdup(c->arena, email);
        lower_ascii(norm);
    }
    attrs_s = pl_op_json_text(c, attrs, NULL);
    pl_buf_init(&sql, c->arena);
    if (id == NULL) {
        static const char *ins =
            "INSERT INTO members (id, tenant_id, first_name, last_name, email, email_norm, phone, "
            "status, membership_type_id, joined_at, attributes, created_at, updated_at, seq) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)";
        const char *nid = pl_op_new_id(c, "mem");
        const char *status = pl_json_str(in, "status");
        int64_t seq;
        if (pl_limit_check(c, "members", 1) != 0)
            return c->err.status;
        if (pl_member_next_seq(c, c->tenant_id, &seq) != 0)
            return pl_op_fail(c, PL_EDB, NULL, "the member could not be saved");
        rc = pl_db_exec(c->db, ins,
                        PL_ARGS(PL_TEXT(nid), PL_TEXT(c->tenant_id), PL_TEXT(pl_json_str(in, "first_name")),
                                PL_TEXT(pl_json_str(in, "last_name")), PL_TEXT(email), PL_TEXT(norm),
                                PL_TEXT(pl_json_str(in, "phone")), PL_TEXT(status ? status : "active"),
                                PL_TEXT(pl_json_str(in, "membership_type_id")), PL_INT(joined_ms),
                                PL_TEXT(attrs_s ? attrs_s : "{}"), PL_INT(now), PL_INT(seq)));
        if (out_id)
            *out_id = nid;
    } else {
        pl_buf_adds(&sql, "UPDATE members SET updated_at = $3");
        args[n++] = PL_TEXT(id);
        args[n++] = PL_TEXT(c->tenant_id);
        args[n++] = PL_INT(now);
        for (i = 0; cols[i]; i++) {
            json_t *v = json_object_get(in, cols[i]);
            if (v == NULL)
                continue;
            pl_buf_addf(&sql, ", %s = $%d", cols[i], n + 1);
            args[n++] = PL_TEXT(json_is_string(v) ? json_string_value(v) : NULL);
        }
        if (email) {
            pl_buf_addf(&sql, ", email = $%d, email_norm = $%d", n + 1, n + 2);
            args[n++] = PL_TEXT(email);
            args[n++] = PL_TEXT(norm);
        }
        if (joined) {
            pl_buf_addf(&sql, ", joined_at = $%d", n + 1);
            args[n++] = PL_INT(joined_ms);
        }
        if (attrs_s) {
            pl_buf_addf(&sql, ", attributes = $%d", n + 1);
            args[n++] = PL_TEXT(attrs_s);
        }
        pl_buf_adds(&sql, " WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL");
        rc = pl_db_exec(c->db, pl_buf_cstr(&sql), args, n);
        if (rc == 0)
            return pl_op_fail(c, PL_ENOTFOUND, NULL, "member not found");
    }
    if (rc == PL_ECONFLICT)
        return pl_op_fail(c, PL_ECONFLICT, NULL, "a member with the email '%s' already exists",
                          email ? email : "");
    if (rc < 0)
        return pl_op_fail(c, PL_EDB, NULL, "the member could not be saved");
    return 0;
}

static int h_create(pl_ctx_t *c)
{
    const char *id;
    if (pl_member_write(&c->op, NULL, c->body, &id) != 0)
        return c->err.status;
    return pl_reply_change(c, 201, id, NULL, pl_member_get(&c->op, id, false));
}

static bool want_deleted(const pl_qparam_t *q, int nq)
{
    const char *v = pl_qparam(q, nq, "include_deleted");
    return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

static int h_get(pl_ctx_t *c)
{
    static const char *sql = "SELECT " PL_MEMBER_COLS " FROM members WHERE id = $1 AND tenant_id = $2 "
                             "AND ($3 = 1 OR deleted_at IS NULL)";
    const char *id = pl_param(c, 0);
    bool del = want_deleted(c->query, c->nquery), found = false;
    pl_rows_t *r;
    pl_buf_t b;
    pl_jw_t w;
    if (del && !pl_is_admin(&c->op))
        return pl_fail(c, PL_EFORBIDDEN, NULL, "include_deleted is for admins");
    if (!pl_id_ok(id, "mem"))
        return pl_fail_notfound(c, "member");
    if (pl_db_query(c->db, &r, sql, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id), PL_INT(del))) != 0)
        return pl_fail(c, PL_EDB, NULL, "the member could not be read");
    pl_buf_init(&b, c->arena);
    pl_buf_reserve(&b, 512);
    pl_jw_init(&w, &b);
    if (pl_rows_next(r) == 1) {
        pl_member_render(&w, r, del);
        found = true;
    }
    pl_rows_close(r);
    if (!found)
        return pl_fail_notfound(c, "member");
    return pl_reply_raw(c, 200, "application/json; charset=utf-8", b.ptr, b.len);
}

static int h_patch(pl_ctx_t *c)
{
    const char *id = pl_param(c, 0);
    json_t *before;
    if (!pl_id_ok(id, "mem") || (before = pl_member_get(&c->op, id, false)) == NULL)
        return pl_fail_notfound(c, "member");
    if (pl_member_write(&c->op, id, c->body, NULL) != 0) {
        json_decref(before);
        return c->err.status;
    }
    return pl_reply_change(c, 200, id, before, pl_member_get(&c->op, id, false));
}

static int h_delete(pl_ctx_t *c)
{
    static const char *sql =
        "UPDATE members SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND tenant_id = $3 "
        "AND deleted_at IS NULL";
    const char *id = pl_param(c, 0);
    json_t *before;
    int n;
    if (!pl_id_ok(id, "mem") || (before = pl_member_get(&c->op, id, false)) == NULL)
        return pl_fail_notfound(c, "member");
    n = pl_db_exec(c->db, sql, PL_ARGS(PL_INT(pl_now_ms()), PL_TEXT(id), PL_TEXT(c->tenant_id)));
    if (n <= 0) {
        json_decref(before);
        return n < 0 ? pl_fail(c, PL_EDB, NULL, "the member could not be deleted")
                     : pl_fail_notfound(c, "member");
    }
    return pl_reply_deleted(c, id, before);
}

/* ---- list ---- */

static const struct {
    const char *name, *col;
    bool text;
} sorts[] = {
    {"created_at", "seq", false},
    {"last_name", "last_name", true},
    {"joined_at", "joined_at", false},
    {"last_activity_at", "last_activity_at", false},
    {NULL, NULL, false},
};

int pl_member_filter_parse(pl_op_t *c, const pl_qparam_t *q, int nq, pl_member_filter_t *f)
{
    const char *v;
    const char *const *st;
    int i;
    memset(f, 0, sizeof(*f));
    f->sort_col = "seq"; /* creation order: a tenant's row keys grow with every insert */
    f->text_key = false;
    if ((v = pl_qparam(q, nq, "search")) && *v) {
        if (pl_utf8_chars(v, strlen(v)) > 100)
            pl_err_field(&c->err, "search", "must be at most 100 characters");
        f->search = v;
    }
    if ((v = pl_qparam(q, nq, "status"))) {
        for (st = pl_member_statuses; *st && strcmp(*st, v); st++)
            ;
        if (*st == NULL)
            pl_err_field(&c->err, "status", "must be pending, active, inactive or suspended");
        f->status = v;
    }
    if ((v = pl_qparam(q, nq, "membership_type_id"))) {
        if (!pl_id_ok(v, "mt"))
            pl_err_field(&c->err, "membership_type_id", "is not a membership type id");
        f->type_id = v;
    }
    if ((v = pl_qparam(q, nq, "joined_after")) && pl_rfc3339_parse(v, &f->joined_after) != 0)
        pl_err_field(&c->err, "joined_after", "must be an RFC 3339 timestamp");
    if ((v = pl_qparam(q, nq, "joined_before")) && pl_rfc3339_parse(v, &f->joined_before) != 0)
        pl_err_field(&c->err, "joined_before", "must be an RFC 3339 timestamp");
    if ((v = pl_qparam(q, nq, "sort"))) {
        const char *name = v[0] == '-' ? v + 1 : v;
        for (i = 0; sorts[i].name && strcmp(sorts[i].name, name); i++)
            ;
        if (sorts[i].name == NULL) {
            pl_err_field(
                &c->err, "sort",
                "must be one of created_at, last_name, joined_at, last_activity_at, with an optional '-'");
        } else {
            f->sort_col = sorts[i].col;
            f->text_key = sorts[i].text;
            f->desc = v[0] == '-';
        }
    }
    if ((f->include_deleted = want_deleted(q, nq)) && !pl_is_admin(c))
        return pl_op_fail(c, PL_EFORBIDDEN, NULL, "include_deleted is for admins");
    return c->err.status == PL_OK ? 0 : c->err.status;
}

int pl_member_select(pl_op_t *c, const pl_member_filter_t *f, const char *cols, bool count,
                     const char *after_key, const char *after_id, int limit, pl_buf_t *sql, pl_val_t *args)
{
    int n = 0;
    const char *dir = f->desc ? "DESC" : "ASC";
    bool by_seq = strcmp(f->sort_col, "seq") == 0;
    bool fts = f->search && pl_utf8_chars(f->search, strlen(f->search)) >= 3;
    int64_t lo = 0, hi = 0;
    /* the tenant's key range is only needed where a query reads by key; a sort by another
     * column walks its own index and needs no extra lookup */
    if (fts || by_seq || count)
        pl_member_seq_range(c, c->tenant_id, &lo, &hi);
    if (fts) {
        /* The search, looked up inside the tenant's range of row keys; in creation order the
         * matches stream in key order and the LIMIT stops the lookup early. SQLite: one phrase
         * of the trigram FTS5 index (quotes doubled: matched literally). PostgreSQL: a
         * substring of the same text (a pg_trgm index serves it; % _ \ escaped). */
        static const pl_sql_t hits = {
            "WITH hits(seq) AS (SELECT rowid FROM members_fts WHERE members_fts MATCH $%d "
            "AND rowid BETWEEN $%d AND $%d) SELECT %s FROM hits JOIN members USING (seq) WHERE tenant_id = "
            "$%d",
            "WITH hits(seq) AS (SELECT seq FROM members WHERE (first_name || ' ' || last_name || ' ' || "
            "email || "
            "' ' || COALESCE(phone, '')) ILIKE '%%' || $%d || '%%' ESCAPE '\\' AND seq BETWEEN $%d AND $%d) "
            "SELECT %s FROM hits JOIN members USING (seq) WHERE tenant_id = $%d",
        };
        bool pg = pl_db_dialect(c->db) == PL_DIALECT_POSTGRES;
        pl_buf_t q;
        const char *p;
        pl_buf_init(&q, c->arena);
        if (!pg)
            pl_buf_addc(&q, '"');
        for (p = f->search; *p; p++) {
            if (!pg && *p == '"')
                pl_buf_addc(&q, '"');
            if (pg && (*p == '%' || *p == '_' || *p == '\\'))
                pl_buf_addc(&q, '\\');
            pl_buf_addc(&q, *p);
        }
        if (!pg)
            pl_buf_addc(&q, '"');
        pl_buf_addf(sql, pl_db_sql(c->db, &hits), n + 1, n + 2, n + 3, count ? "COUNT(*)" : cols, n + 4);
        args[n++] = PL_TEXT(q.ptr);
        args[n++] = PL_INT(lo);
        args[n++] = PL_INT(hi);
        args[n++] = PL_TEXT(c->tenant_id);
    } else if (by_seq || count) {
        /* creation order: the tenant's range of the primary key, read in key order */
        pl_buf_addf(sql, "SELECT %s FROM members WHERE seq BETWEEN $1 AND $2 AND tenant_id = $3",
                    count ? "COUNT(*)" : cols);
        args[n++] = PL_INT(lo);
        args[n++] = PL_INT(hi);
        args[n++] = PL_TEXT(c->tenant_id);
    } else {
        /* another order: only tenant_id, so the planner walks the (tenant_id, column, id) index */
        pl_buf_addf(sql, "SELECT %s FROM members WHERE tenant_id = $1", cols);
        args[n++] = PL_TEXT(c->tenant_id);
    }
    if (!f->include_deleted)
        pl_buf_adds(sql, " AND deleted_at IS NULL");
    if (f->status) {
        pl_buf_addf(sql, " AND status = $%d", n + 1);
        args[n++] = PL_TEXT(f->status);
    }
    if (f->type_id) {
        pl_buf_addf(sql, " AND membership_type_id = $%d", n + 1);
        args[n++] = PL_TEXT(f->type_id);
    }
    if (f->joined_after) {
        pl_buf_addf(sql, " AND joined_at >= $%d", n + 1);
        args[n++] = PL_INT(f->joined_after);
    }
    if (f->joined_before) {
        pl_buf_addf(sql, " AND joined_at < $%d", n + 1);
        args[n++] = PL_INT(f->joined_before);
    }
    if (f->search && !fts) {
        char *lowered = pl_strdup(c->arena, f->search);
        lower_ascii(lowered);
        pl_buf_addf(
            sql,
            " AND ((lower(first_name) >= $%d AND lower(first_name) < $%d) OR (lower(last_name) >= $%d AND "
            "lower(last_name) < $%d) OR (email_norm >= $%d AND email_norm < $%d))",
            n + 1, n + 2, n + 1, n + 2, n + 1, n + 2);
        args[n++] = PL_TEXT(lowered);
        args[n++] =
            PL_TEXT(pl_printf(c->arena, "%s\xf4\x8f\xbf\xbf", lowered)); /* above every continuation */
    }
    if (count)
        return n;
    if (after_id) {
        const char *cmp = f->desc ? "<" : ">";
        if (by_seq) {
            pl_buf_addf(sql, " AND seq %s $%d", cmp, n + 1);
            args[n++] = PL_INT(strtoll(after_key, NULL, 10));
        } else {
            pl_buf_addf(sql, " AND (%s, id) %s ($%d, $%d)", f->sort_col, cmp, n + 1, n + 2);
            args[n++] = f->text_key ? PL_TEXT(after_key) : PL_INT(strtoll(after_key, NULL, 10));
            args[n++] = PL_TEXT(after_id);
        }
    }
    if (by_seq)
        pl_buf_addf(sql, " ORDER BY seq %s", dir);
    else
        pl_buf_addf(sql, " ORDER BY %s %s, id %s", f->sort_col, dir, dir);
    pl_buf_addf(sql, " LIMIT $%d", n + 1);
    args[n++] = PL_INT(limit);
    return n;
}

/* The cursor is "<sort>|<key>|<id>" of the last row of a page. */
static const char *sort_name(const pl_member_filter_t *f)
{
    return strcmp(f->sort_col, "seq") == 0 ? "created_at" : f->sort_col;
}

static int parse_cursor(pl_ctx_t *c, const pl_member_filter_t *f, const char *after, const char **key,
                        const char **id)
{
    const char *s = sort_name(f);
    size_t n = strlen(s);
    const char *bar;
    *key = *id = NULL;
    if (after == NULL)
        return 0;
    if (strncmp(after, s, n) != 0 || after[n] != '|' || (bar = strrchr(after + n + 1, '|')) == NULL) {
        pl_err_field(&c->err, "cursor", "does not belong to this sort order");
        return PL_EINVAL;
    }
    *key = pl_strndup(c->arena, after + n + 1, (size_t)(bar - after - n - 1));
    *id = bar + 1;
    if (!pl_id_ok(*id, "mem")) {
        pl_err_field(&c->err, "cursor", "is not a valid cursor");
        return PL_EINVAL;
    }
    return 0;
}

/* The cursor key of a row for the filter's sort column. */
static const char *row_key(pl_ctx_t *c, const pl_member_filter_t *f, pl_rows_t *r)
{
    if (strcmp(f->sort_col, "seq") == 0)
        return pl_printf(c->arena, "%lld", (long long)pl_rows_int(r, 13));
    if (strcmp(f->sort_col, "last_name") == 0)
        return pl_strdup(c->arena, pl_rows_text(r, 2));
    return pl_printf(c->arena, "%lld",
                     (long long)pl_rows_int(r, strcmp(f->sort_col, "joined_at") == 0 ? 7 : 8));
}

static int h_list(pl_ctx_t *c)
{
    pl_member_filter_t f;
    pl_page_t pg;
    pl_val_t args[16];
    pl_buf_t sql, b;
    pl_jw_t w;
    pl_rows_t *r;
    const char *key, *id, *last_key = NULL, *last_id = NULL;
    int n, rc, rows = 0;
    int64_t total = -1;
    bool has_more = false;

    if (pl_page_parse(c, &pg) != 0 || pl_member_filter_parse(&c->op, c->query, c->nquery, &f) != 0 ||
        parse_cursor(c, &f, pg.after, &key, &id) != 0)
        return c->err.status;
    if (pg.include_total) {
        pl_buf_init(&sql, c->arena);
        n = pl_member_select(&c->op, &f, NULL, true, NULL, NULL, 0, &sql, args);
        if (pl_db_int(c->db, &total, pl_buf_cstr(&sql), args, n) < 0)
            return pl_fail(c, PL_EDB, NULL, "the members could not be counted");
    }
    pl_buf_init(&sql, c->arena);
    n = pl_member_select(&c->op, &f, PL_MEMBER_COLS, false, key, id, pg.limit + 1, &sql, args);
    if (pl_db_query(c->db, &r, pl_buf_cstr(&sql), args, n) != 0)
        return pl_fail(c, PL_EDB, NULL, "the members could not be listed");
    pl_buf_init(&b, c->arena);
    pl_buf_reserve(&b, 512 * (size_t)(pg.limit + 1));
    pl_jw_init(&w, &b);
    pl_jw_obj(&w);
    pl_jw_key(&w, "data");
    pl_jw_arr(&w);
    while ((rc = pl_rows_next(r)) == 1) {
        if (rows == pg.limit) {
            has_more = true;
            break;
        }
        pl_member_render(&w, r, f.include_deleted);
        last_key = row_key(c, &f, r);
        last_id = pl_strdup(c->arena, pl_rows_text(r, 0));
        rows++;
    }
    pl_rows_close(r);
    if (rc < 0)
        return pl_fail(c, PL_EDB, NULL, "the members could not be listed");
    pl_jw_end_arr(&w);
    pl_jw_key(&w, "has_more");
    pl_jw_bool(&w, has_more);
    pl_jw_key(&w, "next_cursor");
    pl_jw_str(&w, has_more
                      ? pl_cursor_encode(c, pl_printf(c->arena, "%s|%s|%s", sort_name(&f), last_key, last_id))
                      : NULL);
    if (pg.include_total) {
        pl_jw_key(&w, "total");
        pl_jw_int(&w, total);
    }
    pl_jw_end_obj(&w);
    return pl_reply_raw(c, 200, "application/json; charset=utf-8", b.ptr, b.len);
}

const pl_route_t pl_member_routes[] = {
    {"GET", "/v1/members", h_list, "members:read", PL_R_TENANT, NULL, 200,
     "List members (search, status, membership_type_id, joined_after, joined_before, sort)"},
    {"POST", "/v1/members", h_create, "members:write", PL_R_TENANT, &pl_member_create_schema, 201,
     "Create a member", "member.created"},
    {"GET", "/v1/members/{id}", h_get, "members:read", PL_R_TENANT, NULL, 200, "Get a member"},
    {"PATCH", "/v1/members/{id}", h_patch, "members:write", PL_R_TENANT, &update_schema, 200,
     "Update a member", "member.updated"},
    {"DELETE", "/v1/members/{id}", h_delete, "members:write", PL_R_TENANT, NULL, 204, "Soft-delete a member",
     "member.deleted"},
    PL_ROUTES_END,
};
