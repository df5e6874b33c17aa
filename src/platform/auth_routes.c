/*
 * auth_routes.c — signup, login, refresh, logout, /v1/me, /v1/roles, email verification,
 * password reset and the JWKS.
 *
 * Password hashing and checking (argon2id, tens of milliseconds) run in the routes' prepare
 * steps, before the pipeline opens the write transaction in which the handler records the
 * change — so each of these requests commits once, with its audit entry and event.
 */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/log.h"
#include "mail/mail.h"
#include "platform/auth.h"
#include "platform/internal.h"
#include "platform/platform.h"
#include "platform/tokens.h"
#include "core/banned.h"

#define VERIFY_TTL_MS (24LL * 3600 * 1000)
#define RESET_TTL_MS (3600LL * 1000)

/* ---- sessions ---- */

int pl_session_issue(pl_ctx_t *c, const char *user_id, const char *tenant_id, const char *family, json_t *out)
{
    static const char *sql =
        "INSERT INTO sessions (id, family_id, user_id, tenant_id, token_hash, created_at, "
        "expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    char refresh[80], hash[PL_SHA256_HEX];
    char *sid = pl_new_id(c, "ses");
    char *access;
    int64_t now = pl_now_ms();
    pl_random_token("rt_", 32, refresh, sizeof(refresh));
    pl_sha256_hex(refresh, strlen(refresh), hash);
    if (family == NULL)
        family = sid;
    const pl_platform_conf_t *conf = pl_platform_conf(c->app);
    if (pl_db_exec(c->db, sql,
                   PL_ARGS(PL_TEXT(sid), PL_TEXT(family), PL_TEXT(user_id), PL_TEXT(tenant_id), PL_TEXT(hash),
                           PL_INT(now), PL_INT(now + conf->refresh_ttl * 1000), PL_TEXT(c->ip),
                           PL_TEXT(c->user_agent))) != 1)
        return pl_fail(c, PL_EDB, NULL, "cannot start the session");
    access = pl_tokens_issue(pl_platform_tokens(c->app), user_id, tenant_id, family, conf->access_ttl);
    if (access == NULL)
        return pl_fail(c, PL_EINTERNAL, NULL, "cannot sign the access token");
    json_object_set_new(out, "access_token", json_string(access));
    json_object_set_new(out, "refresh_token", json_string(refresh));
    json_object_set_new(out, "token_type", json_string("Bearer"));
    json_object_set_new(out, "expires_in", json_integer(conf->access_ttl));
    free(access);
    return 0;
}

static const char *role_of(pl_ctx_t *c, const char *tenant_id, const char *user_id)
{
    static const char *sql = "SELECT role FROM tenant_users WHERE tenant_id = $1 AND user_id = $2";
    pl_rows_t *r;
    const char *role = NULL;
    if (pl_db_query(c->db, &r, sql, PL_ARGS(PL_TEXT(tenant_id), PL_TEXT(user_id))) != 0)
        return NULL;
    if (pl_rows_next(r) == 1)
        role = pl_strdup(c->arena, pl_rows_text(r, 0));
    pl_rows_close(r);
    return role;
}

int pl_session_answer(pl_ctx_t *c, const char *user_id, const char *tenant_id, json_t *out)
{
    const char *role = role_of(c, tenant_id, user_id);
    json_t *user = pl_user_json(c->db, user_id), *tenant = pl_tenant_json(c->db, tenant_id);
    if (user == NULL || tenant == NULL || role == NULL) {
        json_decref(user);
        json_decref(tenant);
        return pl_fail(c, PL_EDB, NULL, "the session could not be read back");
    }
    json_object_set_new(out, "user", user);
    json_object_set_new(out, "tenant", tenant);
    json_object_set_new(out, "role", json_string(role));
    return pl_session_issue(c, user_id, tenant_id, NULL, out);
}

const char **pl_user_tenants(pl_ctx_t *c, const char *user_id)
{
    static const char *sql =
        "SELECT tenant_id FROM tenant_users WHERE user_id = $1 ORDER BY created_at LIMIT 100";
    const char **out = pl_zalloc(c->arena, 101 * sizeof(*out));
    pl_rows_t *r;
    int n = 0;
    if (pl_db_query(c->db, &r, sql, PL_ARGS(PL_TEXT(user_id))) != 0)
        return NULL;
    while (n < 100 && pl_rows_next(r) == 1)
        out[n++] = pl_strdup(c->arena, pl_rows_text(r, 0));
    pl_rows_close(r);
    return out;
}

/* A change a user made to their own account, audited in every organization they belong to
 * (in the platform's when they belong to none). */
static int record_own(pl_ctx_t *c, const char *user_id, json_t *after)
{
    const char **t = pl_user_tenants(c, user_id);
    pl_change_t ch = {.resource_type = "user",
                      .resource_id = user_id,
                      .after = after,
                      .actor_type = "user",
                      .actor_id = user_id};
    if (t == NULL)
        return pl_fail(c, PL_EDB, NULL, "the user's organizations could not be read");
    if (*t == NULL)
        return pl_record_change(c, ch);
    for (; *t; t++) {
        ch.tenant_id = *t;
        pl_record_change(c, ch);
    }
    return 0;
}

/* ---- one-time tokens and mail ---- */

const char *pl_user_token_create(pl_ctx_t *c, const char *user_id, const char *purpose, int64_t ttl_ms)
{
    static const char *sql =
        "INSERT INTO user_tokens (id, user_id, purpose, token_hash, created_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)";
    char *tok = pl_alloc(c->arena, 80), hash[PL_SHA256_HEX];
    int64_t now = pl_now_ms();
    pl_random_token("ut_", 32, tok, 80);
    pl_sha256_hex(tok, strlen(tok), hash);
    if (pl_db_exec(c->db, sql,
                   PL_ARGS(PL_TEXT(pl_new_id(c, "utk")), PL_TEXT(user_id), PL_TEXT(purpose), PL_TEXT(hash),
                           PL_INT(now), PL_INT(now + ttl_ms))) < 0)
        return NULL;
    return tok;
}

const char *pl_user_token_consume(pl_ctx_t *c, const char *token, const char *purpose)
{
    static const char *sql = "UPDATE user_tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 "
                             "AND used_at IS NULL AND expires_at > $1 RETURNING user_id";
    char hash[PL_SHA256_HEX];
    pl_rows_t *r;
    const char *uid = NULL;
    pl_sha256_hex(token, strlen(token), hash);
    if (pl_db_query(c->db, &r, sql, PL_ARGS(PL_INT(pl_now_ms()), PL_TEXT(hash), PL_TEXT(purpose))) != 0)
        return NULL;
    if (pl_rows_next(r) == 1)
        uid = pl_strdup(c->arena, pl_rows_text(r, 0));
    pl_rows_close(r);
    return uid;
}

/* Branded as the organization the user signed up with (or is working in). */
int pl_verification_send(pl_ctx_t *c, const char *user_id, const char *email, const char *tenant_id)
{
    const char *tok = pl_user_token_create(c, user_id, "verify_email", VERIFY_TTL_MS);
    if (tok == NULL)
        return pl_fail(c, PL_EDB, NULL, "the verification could not be prepared");
    pl_mail_msg_t m = {
        .brand = pl_tenant_brand(c->db, c->arena, tenant_id),
        .subject = "Confirm your email address",
        .text = "Please confirm that this is your email address.",
        .action_label = "Confirm my address",
        .action_url = pl_printf(c->arena, "%s/console/#/verify-email?token=%s", pl_public_url(c), tok),
        .footnote = pl_printf(c->arena,
                              "The link expires in 24 hours. From a program: POST /v1/auth/verify-email "
                              "{\"token\":\"%s\"}.",
                              tok),
    };
    return pl_mail_send(&c->op, tenant_id, email, &m);
}

/* ---- signup ---- */

static const pl_field_t signup_fields[] = {
    {"email", PL_T_EMAIL, PL_F_REQUIRED, 0, 0, NULL, NULL, "the new user's email, unique on the platform"},
    {"password", PL_T_STRING, PL_F_REQUIRED, 1, 256, NULL, NULL,
     "at least 10 characters, not a common password"},
    {"name", PL_T_STRING, PL_F_REQUIRED, 1, 200, NULL, NULL, "the user's display name"},
    {"organization", PL_T_STRING, PL_F_REQUIRED, 1, 200, NULL, NULL, "the name of the new organization"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t signup_schema = {"Signup", signup_fields, false};

/* argon2id before the transaction */
static int prep_signup(pl_ctx_t *c)
{
    char *hash = pl_alloc(c->arena, 128);
    if (!pl_platform_conf(c->app)->signup)
        return pl_fail(c, PL_EFORBIDDEN, "signup_disabled", "self-service signup is switched off");
    if (pl_password_prepare(pl_json_str(c->body, "password"), pl_json_str(c->body, "email"), hash, 128,
                            &c->err) != 0)
        return c->err.status;
    c->prep = hash;
    return 0;
}

static int h_signup(pl_ctx_t *c)
{
    const char *email = pl_json_str(c->body, "email"), *name = pl_json_str(c->body, "name");
    const char *org = pl_json_str(c->body, "organization");
    const char *uid, *tid;
    json_t *out;
    if (pl_user_create(c->db, c->arena, email, c->prep, name, false, &uid, &c->err) != 0 ||
        pl_tenant_create(c->db, c->arena, org, NULL, &tid, &c->err) != 0 ||
        pl_membership_add(c->db, tid, uid, "owner", &c->err) != 0)
        return c->err.status;
    out = json_object();
    if (pl_session_answer(c, uid, tid, out) != 0 || pl_verification_send(c, uid, email, tid) != 0) {
        json_decref(out);
        return c->err.status;
    }
    pl_record_change(c, (pl_change_t){.tenant_id = tid,
                                      .event = "tenant.created",
                                      .event_data = json_object_get(out, "tenant"),
                                      .resource_type = "user",
                                      .resource_id = uid,
                                      .after = json_object_get(out, "user"),
                                      .actor_type = "user",
                                      .actor_id = uid});
    return pl_reply(c, 201, out);
}

/* ---- login ---- */

static const pl_field_t login_fields[] = {
    {"email", PL_T_STRING, PL_F_REQUIRED, 1, 254, NULL, NULL, NULL},
    {"password", PL_T_STRING, PL_F_REQUIRED, 1, 256, NULL, NULL, NULL},
    {"tenant", PL_T_STRING, 0, 1, 100, NULL, NULL, "tenant id or slug, for users in several organizations"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t login_schema = {"Login", login_fields, false};

static int invalid_credentials(pl_ctx_t *c)
{
    return pl_fail(c, PL_EUNAUTH, "invalid_credentials", "the email or password is not correct");
}

/* The password is checked (argon2id) before the transaction; the user id is left in c->prep. */
static int prep_login(pl_ctx_t *c)
{
    static const char *sql_user = "SELECT id, password_hash FROM users WHERE email_norm = lower($1)";
    /* a valid argon2id hash of a random secret: unknown emails cost the same time as known ones */
    static const char *dummy = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
                               "8mJ8GmYFqB2Gk0m3p0Yb7oAqXVY0UgX8vK6Jm0cQdY4";
    const char *email = pl_json_str(c->body, "email"), *password = pl_json_str(c->body, "password");
    const char *uid = NULL, *hash = NULL;
    pl_rows_t *r;
    int rc;
    if (pl_tx_begin(c, PL_TX_READ, NULL) != 0)
        return c->err.status;
    if (pl_db_query(c->db, &r, sql_user, PL_ARGS(PL_TEXT(email))) != 0) {
        pl_tx_rollback(c);
        return pl_fail(c, PL_EDB, NULL, "the store is unavailable");
    }
    if ((rc = pl_rows_next(r)) == 1) {
        uid = pl_strdup(c->arena, pl_rows_text(r, 0));
        hash = pl_strdup(c->arena, pl_rows_text(r, 1));
    }
    pl_rows_close(r);
    pl_tx_rollback(c);
    if (rc < 0)
        return pl_fail(c, PL_EDB, NULL, "the store is unavailable");
    if (!pl_password_verify(hash ? hash : dummy, password) || uid == NULL || hash == NULL)
        return invalid_credentials(c);
    c->prep = (void *)uid;
    return 0;
}

static int h_login(pl_ctx_t *c)
{
    /* the organization named, or the user's first active one (operators' platform tenant last) */
    static const char *sql_tenant =
        "SELECT tu.tenant_id, t.status FROM tenant_users tu JOIN tenants t ON t.id = tu.tenant_id "
        "WHERE tu.user_id = $1 AND ($2 IS NULL OR t.id = $2 OR t.slug = $2) "
        "ORDER BY t.status <> 'active', t.is_platform, tu.created_at LIMIT 1";
    const char *tenant = pl_json_str(c->body, "tenant"), *uid = c->prep, *tid = NULL, *status = NULL;
    pl_rows_t *r;
    json_t *out;
    int rc;
    if (pl_db_query(c->db, &r, sql_tenant, PL_ARGS(PL_TEXT(uid), PL_TEXT(tenant))) != 0)
        return pl_fail(c, PL_EDB, NULL, "the store is unavailable");
    if ((rc = pl_rows_next(r)) == 1) {
        tid = pl_strdup(c->arena, pl_rows_text(r, 0));
        status = pl_strdup(c->arena, pl_rows_text(r, 1));
    }
    pl_rows_close(r);
    if (rc < 0)
        return pl_fail(c, PL_EDB, NULL, "the store is unavailable");
    if (tid == NULL)
        return tenant ? pl_fail(c, PL_EUNAUTH, "invalid_credentials", "no access to that organization")
                      : pl_fail(c, PL_EUNAUTH, "no_tenant", "this user belongs to no organization");
    if (strcmp(status, "active") != 0)
        return pl_fail(c, PL_EFORBIDDEN, "tenant_suspended", "this organization is suspended");
    out = json_object();
    if (pl_session_answer(c, uid, tid, out) != 0) {
        json_decref(out);
        return c->err.status;
    }
    pl_record_change(c, (pl_change_t){.tenant_id = tid,
                                      .resource_type = "user",
                                      .resource_id = uid,
                                      .actor_type = "user",
                                      .actor_id = uid});
    return pl_reply(c, 200, out);
}

/* ---- refresh ---- */

static const pl_field_t refresh_fields[] = {
    {"refresh_token", PL_T_STRING, PL_F_REQUIRED, 1, 200, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t refresh_schema = {"Refresh", refresh_fields, false};

static int revoke_family(pl_ctx_t *c, const char *family)
{
    static const char *sql =
        "UPDATE sessions SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL";
    return pl_db_exec(c->db, sql, PL_ARGS(PL_INT(pl_now_ms()), PL_TEXT(family)));
}

static int h_refresh(pl_ctx_t *c)
{
    static const char *sql_find =
        "SELECT s.id, s.family_id, s.user_id, s.tenant_id, s.expires_at, s.used_at, "
        "s.revoked_at, (SELECT COUNT(*) FROM tenant_users tu WHERE tu.tenant_id = "
        "s.tenant_id AND tu.user_id = s.user_id) FROM sessions s WHERE s.token_hash = $1";
    static const char *sql_use = "UPDATE sessions SET used_at = $1 WHERE id = $2 AND used_at IS NULL";
    const char *tok = pl_json_str(c->body, "refresh_token");
    char hash[PL_SHA256_HEX];
    const char *sid = NULL, *family = NULL, *uid = NULL, *tid = NULL;
    int64_t now = pl_now_ms(), expires = 0, member = 0;
    bool used = false, revoked = false;
    pl_rows_t *r;
    json_t *out;

    pl_sha256_hex(tok, strlen(tok), hash);
    if (pl_db_query(c->db, &r, sql_find, PL_ARGS(PL_TEXT(hash))) != 0)
        return pl_fail(c, PL_EDB, NULL, "the store is unavailable");
    if (pl_rows_next(r) == 1) {
        sid = pl_strdup(c->arena, pl_rows_text(r, 0));
        family = pl_strdup(c->arena, pl_rows_text(r, 1));
        uid = pl_strdup(c->arena, pl_rows_text(r, 2));
        tid = pl_strdup(c->arena, pl_rows_text(r, 3));
        expires = pl_rows_int(r, 4);
        used = !pl_rows_null(r, 5);
        revoked = !pl_rows_null(r, 6);
        member = pl_rows_int(r, 7);
    }
    pl_rows_close(r);
    if (sid == NULL)
        return pl_fail(c, PL_EUNAUTH, "invalid_refresh_token", "the refresh token is not valid");
    if (revoked)
        return pl_fail(c, PL_EUNAUTH, "invalid_refresh_token", "the session has ended");
    if (used || pl_db_exec(c->db, sql_use, PL_ARGS(PL_INT(now), PL_TEXT(sid))) != 1) {
        /* A used token presented again: someone holds a copy. End the whole family — and keep
         * that change although the answer is an error. */
        if (revoke_family(c, family) < 0)
            return pl_fail(c, PL_EDB, NULL, "the session could not be revoked");
        pl_record_change(c, (pl_change_t){.action = "auth.refresh_reused",
                                          .tenant_id = tid,
                                          .resource_type = "session",
                                          .resource_id = family,
                                          .actor_type = "user",
                                          .actor_id = uid});
        c->keep_on_error = true;
        pl_auth_changed(c);
        pl_logf(PL_LOG_WARN, "refresh token reuse: session family revoked", "%s", family);
        return pl_fail(c, PL_EUNAUTH, "refresh_token_reused",
                       "this refresh token was already used; the session has been revoked");
    }
    if (expires <= now || member == 0)
        return pl_fail(c, PL_EUNAUTH, "invalid_refresh_token", "the session has expired");
    out = json_object();
    if (pl_session_issue(c, uid, tid, family, out) != 0) {
        json_decref(out);
        return c->err.status;
    }
    pl_record_change(c, (pl_change_t){.tenant_id = tid,
                                      .resource_type = "session",
                                      .resource_id = family,
                                      .actor_type = "user",
                                      .actor_id = uid});
    return pl_reply(c, 200, out);
}

/* ---- logout ---- */

static const pl_field_t logout_fields[] = {
    {"refresh_token", PL_T_STRING, 0, 1, 200, NULL, NULL, "also end the session of this refresh token"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t logout_schema = {"Logout", logout_fields, false};

static const pl_field_t no_fields[] = {{NULL, 0, 0, 0, 0, NULL, NULL, NULL}};
static const pl_schema_t empty_schema = {"Empty", no_fields, false};

static int h_logout(pl_ctx_t *c)
{
    static const char *sql_family = "SELECT family_id FROM sessions WHERE token_hash = $1 AND user_id = $2";
    const char *tok = pl_json_str(c->body, "refresh_token");
    if (c->principal->kind != PL_PRINCIPAL_USER)
        return pl_fail(c, PL_EINVAL, "not_a_session", "API keys have no session; revoke the key instead");
    if (revoke_family(c, c->principal->session_id) < 0)
        return pl_fail(c, PL_EDB, NULL, "cannot end the session");
    pl_record_change(c, (pl_change_t){.resource_type = "session", .resource_id = c->principal->session_id});
    if (tok) {
        char hash[PL_SHA256_HEX];
        pl_rows_t *r;
        const char *family = NULL;
        pl_sha256_hex(tok, strlen(tok), hash);
        if (pl_db_query(c->db, &r, sql_family, PL_ARGS(PL_TEXT(hash), PL_TEXT(c->principal->user_id))) == 0) {
            if (pl_rows_next(r) == 1)
                family = pl_strdup(c->arena, pl_rows_text(r, 0));
            pl_rows_close(r);
        }
        if (family && revoke_family(c, family) < 0)
            return pl_fail(c, PL_EDB, NULL, "cannot end the session");
    }
    pl_auth_changed(c);
    return pl_reply_empty(c, 204);
}

/* ---- me, roles ---- */

static int h_me(pl_ctx_t *c)
{
    static const char *sql =
        "SELECT t.id, t.name, t.slug, tu.role, t.status FROM tenant_users tu "
        "JOIN tenants t ON t.id = tu.tenant_id WHERE tu.user_id = $1 ORDER BY tu.created_at";
    static const char *sql_key = "SELECT id, name FROM api_keys WHERE id = $1";
    const pl_principal_t *p = c->principal;
    json_t *out = json_object(), *tenants;
    pl_rows_t *r;

    json_object_set_new(out, "tenant", pl_tenant_json(c->db, p->tenant_id));
    json_object_set_new(out, "role", json_string(p->role));
    json_object_set_new(out, "permissions", pl_rbac_perms_json(p->perms));
    json_object_set_new(out, "operator", json_boolean(p->platform));
    if (p->kind == PL_PRINCIPAL_USER) {
        json_object_set_new(out, "user", pl_user_json(c->db, p->user_id));
        json_object_set_new(out, "api_key", json_null());
        tenants = json_array();
        if (pl_db_query(c->db, &r, sql, PL_ARGS(PL_TEXT(p->user_id))) == 0) {
            while (pl_rows_next(r) == 1)
                json_array_append_new(tenants,
                                      json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", pl_rows_text(r, 0), "name",
                                                pl_rows_text(r, 1), "slug", pl_rows_text(r, 2), "role",
                                                pl_rows_text(r, 3), "status", pl_rows_text(r, 4)));
            pl_rows_close(r);
        }
        json_object_set_new(out, "tenants", tenants);
    } else {
        json_object_set_new(out, "user", json_null());
        if (pl_db_query(c->db, &r, sql_key, PL_ARGS(PL_TEXT(p->key_id))) == 0) {
            if (pl_rows_next(r) == 1)
                json_object_set_new(
                    out, "api_key",
                    json_pack("{s:s,s:s}", "id", pl_rows_text(r, 0), "name", pl_rows_text(r, 1)));
            pl_rows_close(r);
        }
    }
    return pl_reply(c, 200, out);
}

static int h_roles(pl_ctx_t *c)
{
    return pl_reply(c, 200, json_pack("{s:o}", "data", pl_rbac_roles_json()));
}

/* ---- email verification ---- */

static int h_verify_request(pl_ctx_t *c)
{
    static const char *sql = "SELECT email, email_verified_at FROM users WHERE id = $1";
    pl_rows_t *r;
    const char *email = NULL;
    bool verified = false;
    if (c->principal->kind != PL_PRINCIPAL_USER)
        return pl_fail(c, PL_EFORBIDDEN, NULL, "only users verify an email address");
    if (pl_db_query(c->db, &r, sql, PL_ARGS(PL_TEXT(c->principal->user_id))) != 0)
        return pl_fail(c, PL_EDB, NULL, "the store is unavailable");
    if (pl_rows_next(r) == 1) {
        email = pl_strdup(c->arena, pl_rows_text(r, 0));
        verified = !pl_rows_null(r, 1);
    }
    pl_rows_close(r);
    if (email == NULL)
        return pl_fail_notfound(c, "user");
    if (verified)
        return pl_reply(c, 200, json_pack("{s:s}", "status", "already_verified"));
    if (pl_verification_send(c, c->principal->user_id, email, c->principal->tenant_id) != 0)
        return c->err.status;
    pl_record(c, c->principal->user_id, NULL, NULL);
    return pl_reply(c, 202, json_pack("{s:s}", "status", "sent"));
}

static const pl_field_t token_fields[] = {
    {"token", PL_T_STRING, PL_F_REQUIRED, 1, 200, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t token_schema = {"Token", token_fields, false};

static int bad_token(pl_ctx_t *c)
{
    pl_err_field(&c->err, "token", "is invalid, already used or expired");
    return PL_EINVAL;
}

static int h_verify(pl_ctx_t *c)
{
    static const char *sql = "UPDATE users SET email_verified_at = $1, updated_at = $1 WHERE id = $2";
    const char *uid = pl_user_token_consume(c, pl_json_str(c->body, "token"), "verify_email");
    json_t *user;
    if (uid == NULL)
        return bad_token(c);
    if (pl_db_exec(c->db, sql, PL_ARGS(PL_INT(pl_now_ms()), PL_TEXT(uid))) != 1 ||
        (user = pl_user_json(c->db, uid)) == NULL)
        return pl_fail(c, PL_EDB, NULL, "cannot verify the email");
    if (record_own(c, uid, user) != 0) {
        json_decref(user);
        return c->err.status;
    }
    return pl_reply(c, 200, json_pack("{s:o}", "user", user));
}

/* ---- password reset ---- */

static const pl_field_t reset_request_fields[] = {
    {"email", PL_T_STRING, PL_F_REQUIRED, 1, 254, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t reset_request_schema = {"PasswordResetRequest", reset_request_fields, false};

static int send_reset(pl_ctx_t *c, const char *email, const char *tok)
{
    pl_mail_msg_t m = {
        .subject = "Reset your password",
        .text = "Someone (we hope you) asked to reset the password of your account.",
        .action_label = "Choose a new password",
        .action_url = pl_printf(c->arena, "%s/console/#/reset-password?token=%s", pl_public_url(c), tok),
        .footnote =
            pl_printf(c->arena,
                      "The link expires in one hour. If you did not ask for this, ignore this message. "
                      "From a program: POST /v1/auth/password-reset {\"token\":\"%s\",\"password\":\"…\"}.",
                      tok),
    };
    return pl_mail_send(&c->op, NULL, email, &m);
}

static int h_reset_request(pl_ctx_t *c)
{
    const char *email = pl_json_str(c->body, "email"), *uid = NULL, *tok;
    int found = pl_user_find(c->db, c->arena, email, &uid);
    /* The answer is the same whether or not the address is known: no account oracle. */
    if (found < 0)
        return pl_fail(c, PL_EDB, NULL, "the store is unavailable");
    if (found == 1) {
        if ((tok = pl_user_token_create(c, uid, "password_reset", RESET_TTL_MS)) == NULL)
            return pl_fail(c, PL_EDB, NULL, "the reset could not be prepared");
        if (send_reset(c, email, tok) != 0)
            return c->err.status;
        pl_record_change(c, (pl_change_t){.resource_type = "user", .resource_id = uid});
    }
    return pl_reply(c, 202, json_pack("{s:s}", "status", "if the address is known, a message is on its way"));
}

static const pl_field_t reset_fields[] = {
    {"token", PL_T_STRING, PL_F_REQUIRED, 1, 200, NULL, NULL, NULL},
    {"password", PL_T_STRING, PL_F_REQUIRED, 1, 256, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t reset_schema = {"PasswordReset", reset_fields, false};

static int prep_reset(pl_ctx_t *c)
{
    char *hash = pl_alloc(c->arena, 128);
    if (pl_password_prepare(pl_json_str(c->body, "password"), NULL, hash, 128, &c->err) != 0)
        return c->err.status;
    c->prep = hash;
    return 0;
}

static int h_reset(pl_ctx_t *c)
{
    static const char *sql_pw = "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3";
    static const char *sql_rev =
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL";
    const char *uid;
    int64_t now = pl_now_ms();
    if ((uid = pl_user_token_consume(c, pl_json_str(c->body, "token"), "password_reset")) == NULL)
        return bad_token(c);
    if (pl_db_exec(c->db, sql_pw, PL_ARGS(PL_TEXT(c->prep), PL_INT(now), PL_TEXT(uid))) != 1 ||
        pl_db_exec(c->db, sql_rev, PL_ARGS(PL_INT(now), PL_TEXT(uid))) < 0)
        return pl_fail(c, PL_EDB, NULL, "cannot reset the password");
    if (record_own(c, uid, NULL) != 0)
        return c->err.status;
    pl_auth_changed(c);
    return pl_reply(c, 200, json_pack("{s:s}", "status", "password_changed"));
}

/* ---- JWKS ---- */

static int h_jwks(pl_ctx_t *c)
{
    return pl_reply(c, 200, pl_tokens_jwks(pl_platform_tokens(c->app)));
}

const pl_route_t pl_auth_routes[] = {
    {"POST", "/v1/auth/signup", h_signup, NULL, PL_R_PUBLIC, &signup_schema, 201,
     "Create a user and an organization", "auth.signup", NULL, prep_signup},
    {"POST", "/v1/auth/login", h_login, NULL, PL_R_PUBLIC, &login_schema, 200,
     "Log in with email and password", "auth.login", NULL, prep_login},
    {"POST", "/v1/auth/refresh", h_refresh, NULL, PL_R_PUBLIC, &refresh_schema, 200,
     "Exchange a refresh token for a new pair", "auth.refresh"},
    {"POST", "/v1/auth/logout", h_logout, NULL, PL_R_TENANT | PL_R_ANY_TENANT_STATE, &logout_schema, 204,
     "End the current session", "auth.logout"},
    {"POST", "/v1/auth/verify-email/request", h_verify_request, NULL, PL_R_TENANT | PL_R_ANY_TENANT_STATE,
     &empty_schema, 202, "Send an email-verification message", "user.verification_requested"},
    {"POST", "/v1/auth/verify-email", h_verify, NULL, PL_R_PUBLIC, &token_schema, 200,
     "Confirm an email address with its token", "user.email_verified"},
    {"POST", "/v1/auth/password-reset/request", h_reset_request, NULL, PL_R_PUBLIC, &reset_request_schema,
     202, "Send a password-reset message", "user.password_reset_requested"},
    {"POST", "/v1/auth/password-reset", h_reset, NULL, PL_R_PUBLIC, &reset_schema, 200,
     "Set a new password with a reset token", "user.password_reset", NULL, prep_reset},
    {"GET", "/v1/me", h_me, NULL, PL_R_TENANT | PL_R_ANY_TENANT_STATE | PL_R_CONTROL, NULL, 200,
     "The caller: user or API key, tenant, role, permissions"},
    {"GET", "/v1/roles", h_roles, NULL, PL_R_TENANT, NULL, 200, "Roles and their permissions"},
    {"GET", "/.well-known/jwks.json", h_jwks, NULL, PL_R_PUBLIC, NULL, 200, "Public keys of access tokens"},
    PL_ROUTES_END,
};
