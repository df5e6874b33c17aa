/*
 * accounts.c — tenants, users and memberships in the control-plane tables: the model
 * behind the platform routes and the CLI (see platform.h). Every function runs in the
 * caller's transaction.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/typeid.h"
#include "http/ctx.h"
#include "platform/platform.h"
#include "core/banned.h"

static const char *const common_passwords[] = {
    "password",      "password1",   "password12",   "password123",
    "password1234",  "passw0rd",    "123456",       "1234567890",
    "12345678910",   "0123456789",  "qwertyuiop",   "qwerty1234",
    "qwerty12345",   "1q2w3e4r5t",  "1qaz2wsx3edc", "iloveyou",
    "iloveyou12",    "letmein123",  "welcome123",   "welcome1234",
    "administrator", "admin12345",  "changeme123",  "football123",
    "baseball123",   "sunshine123", "princess123",  "dragon1234",
    "monkey1234",    "trustno1234", "abc1234567",   "abcdefghij",
    "aaaaaaaaaa",    "1111111111",  "0000000000",   "9876543210",
    "superman123",   "starwars123", "whatever123",  "computer123",
    "michael123",    "liverpool1",  "secret1234",   "p@ssw0rd123",
    "Password1!",    "Password123", "Password123!", "qwerty123456",
    "asdfghjkl1",    "zxcvbnm123",  NULL,
};

static int password_policy(const char *password, const char *email, pl_err_t *err)
{
    size_t n = pl_utf8_chars(password, strlen(password));
    const char *const *p;
    if (n < 10) {
        pl_err_field(err, "password", "must be at least 10 characters");
        return PL_EINVAL;
    }
    if (n > 256) {
        pl_err_field(err, "password", "must be at most 256 characters");
        return PL_EINVAL;
    }
    for (p = common_passwords; *p; p++)
        if (strcasecmp(*p, password) == 0) {
            pl_err_field(err, "password", "is too common; choose another");
            return PL_EINVAL;
        }
    if (email && strcasecmp(email, password) == 0) {
        pl_err_field(err, "password", "must not be the email address");
        return PL_EINVAL;
    }
    return 0;
}

int pl_password_prepare(const char *password, const char *email, char *hash, size_t hashlen, pl_err_t *err)
{
    if (password_policy(password, email, err) != 0)
        return PL_EINVAL;
    if (pl_password_hash(password, hash, hashlen) != 0)
        return pl_err_set(err, PL_EINTERNAL, NULL, "cannot hash the password");
    return 0;
}

static char *lower(pl_arena_t *a, const char *s)
{
    char *d = pl_strdup(a, s);
    char *p;
    for (p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static char *slugify(pl_arena_t *a, const char *name)
{
    size_t n = strlen(name), i, o = 0;
    char *s = pl_alloc(a, 48);
    for (i = 0; i < n && o < 40; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (isalnum(ch))
            s[o++] = (char)tolower(ch);
        else if (o > 0 && s[o - 1] != '-')
            s[o++] = '-';
    }
    while (o > 0 && s[o - 1] == '-')
        o--;
    s[o] = '\0';
    if (o == 0)
        return pl_strdup(a, "org");
    return s;
}

static int slug_taken(pl_db_t *db, const char *slug)
{
    static const char *sql = "SELECT 1 FROM tenants WHERE slug = $1";
    int64_t one;
    return pl_db_int(db, &one, sql, PL_ARGS(PL_TEXT(slug)));
}

static int insert_tenant(pl_db_t *db, pl_arena_t *a, const char *name, const char *slug, bool platform,
                         const char **id, pl_err_t *err)
{
    static const char *sql =
        "INSERT INTO tenants (id, num, name, slug, is_platform, settings, created_at, updated_at) "
        "VALUES ($1, (SELECT COALESCE(MAX(num), 0) + 1 FROM tenants), $2, $3, $4, $5, $6, $6)";
    static const char *sql_cell = "UPDATE tenants SET cell = COALESCE((SELECT p.cell FROM plans p WHERE "
                                  "p.key = tenants.plan_key), 'pool') WHERE id = $1";
    static const char *defaults =
        "{\"timezone\":\"UTC\",\"currency\":\"USD\",\"locale\":\"en\",\"branding\":{},"
        "\"domain\":null}";
    char *tid = pl_alloc(a, PL_TYPEID_MAX);
    int rc;
    int tries = 0;
    pl_typeid_new("ten", tid);
    do {
        rc = pl_db_exec(db, sql,
                        PL_ARGS(PL_TEXT(tid), PL_TEXT(name), PL_TEXT(slug), PL_INT(platform),
                                PL_TEXT(defaults), PL_INT(pl_now_ms())));
        /* A conflict is the slug, or (with concurrent writers on PostgreSQL) a number another
         * transaction took since this statement's snapshot: the next attempt sees it. */
    } while (rc == PL_ECONFLICT && slug_taken(db, slug) == 0 && ++tries < 16);
    if (rc == PL_ECONFLICT)
        return pl_err_set(err, PL_ECONFLICT, "slug_taken", "the slug '%s' is already in use", slug);
    /* its cell: its plan's (an enterprise plan may name a database cell), else the pool */
    if (rc < 0 || pl_db_exec(db, sql_cell, PL_ARGS(PL_TEXT(tid))) != 1)
        return pl_err_set(err, PL_EDB, NULL, "cannot create the tenant");
    *id = tid;
    return 0;
}

int pl_platform_tenant(pl_db_t *db, pl_arena_t *a, const char **id, pl_err_t *err)
{
    static const char *sql = "SELECT id FROM tenants WHERE is_platform = 1";
    pl_rows_t *r;
    int rc;
    if (pl_db_query(db, &r, sql, PL_NOARGS) != 0)
        return pl_err_set(err, PL_EDB, NULL, "cannot read tenants");
    rc = pl_rows_next(r);
    if (rc == 1)
        *id = pl_strdup(a, pl_rows_text(r, 0));
    pl_rows_close(r);
    if (rc < 0)
        return pl_err_set(err, PL_EDB, NULL, "cannot read tenants");
    if (rc == 1)
        return 0;
    return insert_tenant(db, a, "Platform", "platform", true, id, err);
}

int pl_tenant_create(pl_db_t *db, pl_arena_t *a, const char *name, const char *slug, const char **id,
                     pl_err_t *err)
{
    char *s;
    int tries;
    if (slug)
        return insert_tenant(db, a, name, slug, false, id, err);
    s = slugify(a, name);
    for (tries = 0; tries < 8; tries++) {
        int taken = slug_taken(db, s);
        if (taken < 0)
            return pl_err_set(err, PL_EDB, NULL, "cannot read tenants");
        if (!taken)
            return insert_tenant(db, a, name, s, false, id, err);
        s = pl_printf(a, "%.40s-%06x", slugify(a, name), (unsigned)randombytes_uniform(0xffffff));
    }
    return pl_err_set(err, PL_ECONFLICT, "slug_taken", "no free slug for '%s'", name);
}

json_t *pl_tenant_json(pl_db_t *db, const char *tenant_id)
{
    static const char *sql = "SELECT id, name, slug, status, is_platform, settings, suspended_at, "
                             "suspended_reason, created_at, updated_at, cell FROM tenants WHERE id = $1";
    pl_rows_t *r;
    json_t *t = NULL;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_TEXT(tenant_id))) != 0)
        return NULL;
    if (pl_rows_next(r) == 1) {
        json_t *settings = json_loads(pl_rows_text(r, 5), 0, NULL);
        t = json_pack("{s:s,s:s,s:s,s:s,s:b,s:o,s:o,s:o,s:o,s:o,s:s}", "id", pl_rows_text(r, 0), "name",
                      pl_rows_text(r, 1), "slug", pl_rows_text(r, 2), "status", pl_rows_text(r, 3),
                      "is_platform", (int)pl_rows_int(r, 4), "settings", settings ? settings : json_object(),
                      "suspended_at", pl_json_time_or_null(r, 6), "suspended_reason",
                      pl_json_str_or_null(pl_rows_text(r, 7)), "created_at", pl_json_time(pl_rows_int(r, 8)),
                      "updated_at", pl_json_time(pl_rows_int(r, 9)), "cell", pl_rows_text(r, 10));
    }
    pl_rows_close(r);
    return t;
}

json_t *pl_tenant_list(pl_db_t *db, const char *after, const char *status, int limit)
{
    static const char *sql =
        "SELECT id FROM tenants WHERE ($1 IS NULL OR id < $1) AND ($2 IS NULL OR status = $2) "
        "ORDER BY id DESC LIMIT $3";
    pl_rows_t *r;
    json_t *ids = json_array(), *out = json_array();
    size_t i;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_TEXT(after), PL_TEXT(status), PL_INT(limit))) != 0) {
        json_decref(ids);
        json_decref(out);
        return NULL;
    }
    while (pl_rows_next(r) == 1)
        json_array_append_new(ids, json_string(pl_rows_text(r, 0)));
    pl_rows_close(r);
    for (i = 0; i < json_array_size(ids); i++) {
        json_t *t = pl_tenant_json(db, json_string_value(json_array_get(ids, i)));
        if (t)
            json_array_append_new(out, t);
    }
    json_decref(ids);
    return out;
}

int pl_user_create(pl_db_t *db, pl_arena_t *a, const char *email, const char *hash, const char *name,
                   bool email_verified, const char **id, pl_err_t *err)
{
    static const char *sql =
        "INSERT INTO users (id, email, email_norm, name, password_hash, email_verified_at, "
        "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
    char *uid = pl_alloc(a, PL_TYPEID_MAX);
    int64_t now = pl_now_ms();
    int rc;
    if (!pl_email_valid(email)) {
        pl_err_field(err, "email", "must be a valid email address");
        return PL_EINVAL;
    }
    pl_typeid_new("usr", uid);
    rc = pl_db_exec(db, sql,
                    PL_ARGS(PL_TEXT(uid), PL_TEXT(email), PL_TEXT(lower(a, email)), PL_TEXT(name ? name : ""),
                            PL_TEXT(hash), email_verified ? PL_INT(now) : PL_NULL_INT, PL_INT(now)));
    if (rc == PL_ECONFLICT)
        return pl_err_set(err, PL_ECONFLICT, "email_taken", "a user with this email already exists");
    if (rc < 0)
        return pl_err_set(err, PL_EDB, NULL, "cannot create the user");
    *id = uid;
    return 0;
}

int pl_user_find(pl_db_t *db, pl_arena_t *a, const char *email, const char **id)
{
    static const char *sql = "SELECT id FROM users WHERE email_norm = $1";
    pl_rows_t *r;
    int rc;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_TEXT(lower(a, email)))) != 0)
        return PL_EDB;
    rc = pl_rows_next(r);
    if (rc == 1)
        *id = pl_strdup(a, pl_rows_text(r, 0));
    pl_rows_close(r);
    return rc;
}

json_t *pl_user_json(pl_db_t *db, const char *user_id)
{
    static const char *sql = "SELECT id, email, name, email_verified_at, created_at FROM users WHERE id = $1";
    pl_rows_t *r;
    json_t *u = NULL;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_TEXT(user_id))) != 0)
        return NULL;
    if (pl_rows_next(r) == 1)
        u = json_pack("{s:s,s:s,s:s,s:b,s:o}", "id", pl_rows_text(r, 0), "email", pl_rows_text(r, 1), "name",
                      pl_rows_text(r, 2), "email_verified", !pl_rows_null(r, 3), "created_at",
                      pl_json_time(pl_rows_int(r, 4)));
    pl_rows_close(r);
    return u;
}

int pl_membership_add(pl_db_t *db, const char *tenant_id, const char *user_id, const char *role,
                      pl_err_t *err)
{
    static const char *sql = "INSERT INTO tenant_users (tenant_id, user_id, role, created_at, updated_at) "
                             "VALUES ($1, $2, $3, $4, $4)";
    int rc = pl_db_exec(db, sql,
                        PL_ARGS(PL_TEXT(tenant_id), PL_TEXT(user_id), PL_TEXT(role), PL_INT(pl_now_ms())));
    if (rc == PL_ECONFLICT)
        return pl_err_set(err, PL_ECONFLICT, "already_member",
                          "the user already belongs to this organization");
    if (rc < 0)
        return pl_err_set(err, PL_EDB, NULL, "cannot add the membership");
    return 0;
}

pl_mail_brand_t pl_tenant_brand(pl_db_t *db, pl_arena_t *a, const char *tenant_id)
{
    pl_mail_brand_t b = {NULL, NULL, NULL};
    json_t *t = tenant_id ? pl_tenant_json(db, tenant_id) : NULL;
    json_t *br = json_object_get(json_object_get(t, "settings"), "branding");
    if (t) {
        b.name = pl_strdup(a, pl_json_str(t, "name"));
        if (pl_json_str(br, "primary_color"))
            b.color = pl_strdup(a, pl_json_str(br, "primary_color"));
        if (pl_json_str(br, "logo_url"))
            b.logo = pl_strdup(a, pl_json_str(br, "logo_url"));
    }
    json_decref(t);
    return b;
}

json_t *pl_tenant_admins(pl_db_t *db, const char *tenant_id)
{
    static const char *sql =
        "SELECT u.id, u.email FROM tenant_users tu JOIN users u ON u.id = tu.user_id "
        "WHERE tu.tenant_id = $1 AND tu.role IN ('owner', 'admin') ORDER BY tu.created_at";
    json_t *out = json_array();
    pl_rows_t *r;
    int got;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_TEXT(tenant_id))) != 0) {
        json_decref(out);
        return NULL;
    }
    while ((got = pl_rows_next(r)) == 1)
        json_array_append_new(
            out, json_pack("{s:s,s:s}", "user_id", pl_rows_text(r, 0), "email", pl_rows_text(r, 1)));
    pl_rows_close(r);
    if (got < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}
