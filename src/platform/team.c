/*
 * team.c — the team of an organization: members and their roles, invitations by email.
 *
 * Rules: a caller may only grant roles up to their own rank and only change or remove
 * members whose rank is not above theirs; an organization always keeps at least one owner.
 */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "mail/mail.h"
#include "platform/auth.h"
#include "platform/internal.h"
#include "platform/platform.h"
#include "core/banned.h"

#define INVITE_TTL_MS (7LL * 24 * 3600 * 1000)

static const char *const roles[] = {"owner", "admin", "editor", "viewer", NULL};

int pl_caller_rank(const pl_ctx_t *c)
{
    return pl_rbac_rank(c->principal->role);
}

/* ---- members ---- */

#define MEMBER_SQL                                                                                           \
    "SELECT tu.user_id, u.email, u.name, tu.role, tu.created_at, tu.updated_at FROM tenant_users tu "        \
    "JOIN users u ON u.id = tu.user_id "

static json_t *member_json(pl_rows_t *r)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "user_id", pl_rows_text(r, 0), "email", pl_rows_text(r, 1),
                     "name", pl_rows_text(r, 2), "role", pl_rows_text(r, 3), "joined_at",
                     pl_json_time(pl_rows_int(r, 4)), "updated_at", pl_json_time(pl_rows_int(r, 5)));
}

static json_t *member_of(pl_ctx_t *c, const char *tenant_id, const char *user_id)
{
    static const char *sql = MEMBER_SQL "WHERE tu.tenant_id = $1 AND tu.user_id = $2";
    return pl_query_one(c->db, member_json, sql, PL_ARGS(PL_TEXT(tenant_id), PL_TEXT(user_id)));
}

static json_t *member_get(pl_ctx_t *c, const char *user_id)
{
    return member_of(c, c->tenant_id, user_id);
}

static int h_team_list(pl_ctx_t *c)
{
    static const char *sql = MEMBER_SQL "WHERE tu.tenant_id = $1 AND ($2 IS NULL OR tu.user_id > $2) "
                                        "ORDER BY tu.user_id LIMIT $3";
    static const char *sql_n = "SELECT COUNT(*) FROM tenant_users WHERE tenant_id = $1";
    return pl_reply_list(c, sql, sql_n, member_json, "user_id");
}

/* Loads the target member and checks the caller may act on them. */
static int target(pl_ctx_t *c, const char *user_id, json_t **member)
{
    const char *role;
    *member = NULL;
    if (!pl_id_ok(user_id, "usr") || (*member = member_get(c, user_id)) == NULL)
        return pl_fail_notfound(c, "team member");
    role = pl_json_str(*member, "role");
    if (pl_rbac_rank(role) > pl_caller_rank(c)) {
        pl_fail(c, PL_EFORBIDDEN, NULL, "a %s cannot change a member whose role is %s", c->principal->role,
                role);
        json_decref(*member);
        *member = NULL;
        return c->err.status;
    }
    return 0;
}

static int other_owners(pl_ctx_t *c, const char *user_id)
{
    static const char *sql = "SELECT COUNT(*) FROM tenant_users WHERE tenant_id = $1 AND role = 'owner' "
                             "AND user_id <> $2";
    int64_t n = 0;
    pl_db_int(c->db, &n, sql, PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(user_id)));
    return (int)n;
}

static const pl_field_t role_fields[] = {
    {"role", PL_T_ENUM, PL_F_REQUIRED, 0, 0, roles, NULL, "owner, admin, editor or viewer"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t role_schema = {"TeamRole", role_fields, false};

static int h_team_patch(pl_ctx_t *c)
{
    static const char *sql =
        "UPDATE tenant_users SET role = $1, updated_at = $2 WHERE tenant_id = $3 AND user_id = $4";
    const char *uid = pl_param(c, 0), *role = pl_json_str(c->body, "role");
    json_t *m;
    if (target(c, uid, &m) != 0)
        return c->err.status;
    if (pl_rbac_rank(role) > pl_caller_rank(c)) {
        json_decref(m);
        return pl_fail(c, PL_EFORBIDDEN, NULL, "a %s cannot grant the role %s", c->principal->role, role);
    }
    if (!strcmp(pl_json_str(m, "role"), "owner") && strcmp(role, "owner") != 0 && other_owners(c, uid) == 0) {
        json_decref(m);
        return pl_fail(c, PL_ECONFLICT, "last_owner",
                       "the last owner cannot be demoted; make someone else owner first");
    }
    if (pl_db_exec(c->db, sql,
                   PL_ARGS(PL_TEXT(role), PL_INT(pl_now_ms()), PL_TEXT(c->tenant_id), PL_TEXT(uid))) < 0) {
        json_decref(m);
        return pl_fail(c, PL_EDB, NULL, "cannot change the role");
    }
    pl_auth_changed(c);
    return pl_reply_change(c, 200, uid, m, member_get(c, uid));
}

static int h_team_delete(pl_ctx_t *c)
{
    static const char *sql = "DELETE FROM tenant_users WHERE tenant_id = $1 AND user_id = $2";
    static const char *sql_rev = "UPDATE sessions SET revoked_at = $1 WHERE tenant_id = $2 AND user_id = $3 "
                                 "AND revoked_at IS NULL";
    const char *uid = pl_param(c, 0);
    json_t *m;
    if (target(c, uid, &m) != 0)
        return c->err.status;
    if (!strcmp(pl_json_str(m, "role"), "owner") && other_owners(c, uid) == 0) {
        json_decref(m);
        return pl_fail(c, PL_ECONFLICT, "last_owner", "the last owner cannot be removed");
    }
    if (pl_db_exec(c->db, sql, PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(uid))) < 0 ||
        pl_db_exec(c->db, sql_rev, PL_ARGS(PL_INT(pl_now_ms()), PL_TEXT(c->tenant_id), PL_TEXT(uid))) < 0) {
        json_decref(m);
        return pl_fail(c, PL_EDB, NULL, "cannot remove the member");
    }
    pl_auth_changed(c);
    return pl_reply_deleted(c, uid, m);
}

/* ---- invitations ---- */

#define INV_COLS "id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at"

static json_t *invitation_json(pl_rows_t *r)
{
    const char *status = !pl_rows_null(r, 6)                ? "accepted"
                         : !pl_rows_null(r, 7)              ? "revoked"
                         : pl_rows_int(r, 5) <= pl_now_ms() ? "expired"
                                                            : "pending";
    return json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:o}", "id", pl_rows_text(r, 0), "email", pl_rows_text(r, 1),
                     "role", pl_rows_text(r, 2), "invited_by", pl_json_str_or_null(pl_rows_text(r, 3)),
                     "status", status, "created_at", pl_json_time(pl_rows_int(r, 4)), "expires_at",
                     pl_json_time(pl_rows_int(r, 5)));
}

static const pl_field_t invite_fields[] = {
    {"email", PL_T_EMAIL, PL_F_REQUIRED, 0, 0, NULL, NULL, NULL},
    {"role", PL_T_ENUM, PL_F_REQUIRED, 0, 0, roles, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t invite_schema = {"InvitationCreate", invite_fields, false};

json_t *pl_invitation_create(pl_ctx_t *c, const char *tenant_id, const char *email, const char *role)
{
    static const char *sql_old =
        "UPDATE invitations SET revoked_at = $1 WHERE tenant_id = $2 AND email_norm = "
        "lower($3) AND accepted_at IS NULL AND revoked_at IS NULL";
    static const char *sql =
        "INSERT INTO invitations (id, tenant_id, email, email_norm, role, token_hash, "
        "invited_by, created_at, expires_at) VALUES ($1, $2, $3, lower($3), $4, $5, $6, $7, $8) "
        "RETURNING " INV_COLS;
    char tok[80], hash[PL_SHA256_HEX];
    int64_t now = pl_now_ms();
    pl_rows_t *r;
    json_t *out = NULL, *tenant, *rec;
    const char *url;
    pl_mail_msg_t m;

    if (pl_db_exec(c->db, sql_old, PL_ARGS(PL_INT(now), PL_TEXT(tenant_id), PL_TEXT(email))) < 0) {
        pl_fail(c, PL_EDB, NULL, "cannot invite");
        return NULL;
    }
    pl_random_token("it_", 32, tok, sizeof(tok));
    pl_sha256_hex(tok, strlen(tok), hash);
    if (pl_db_query(c->db, &r, sql,
                    PL_ARGS(PL_TEXT(pl_new_id(c, "inv")), PL_TEXT(tenant_id), PL_TEXT(email), PL_TEXT(role),
                            PL_TEXT(hash), PL_TEXT(pl_caller_id(c)), PL_INT(now),
                            PL_INT(now + INVITE_TTL_MS))) == 0) {
        if (pl_rows_next(r) == 1)
            out = invitation_json(r);
        pl_rows_close(r);
    }
    if (out == NULL) {
        pl_fail(c, PL_EDB, NULL, "cannot invite");
        return NULL;
    }
    /* a copy: the token and the link that carries it stay out of the audit log and the event */
    rec = json_deep_copy(out);
    pl_record_change(c, (pl_change_t){.action = "user.invited",
                                      .tenant_id = tenant_id,
                                      .resource_id = pl_json_str(out, "id"),
                                      .after = rec});
    json_decref(rec);
    url = pl_printf(c->arena, "%s/console/#/accept-invite?token=%s", pl_public_url(c), tok);
    json_object_set_new(out, "token", json_string(tok));
    json_object_set_new(out, "accept_url", json_string(url));
    tenant = pl_tenant_json(c->db, tenant_id);
    m = (pl_mail_msg_t){
        .brand = pl_tenant_brand(c->db, c->arena, tenant_id),
        .subject = pl_printf(c->arena, "You are invited to join %s", pl_json_str(tenant, "name")),
        .text =
            pl_printf(c->arena, "You have been invited to join %s as %s.", pl_json_str(tenant, "name"), role),
        .action_label = "Accept the invitation",
        .action_url = url,
        .footnote = pl_printf(c->arena,
                              "The invitation expires in 7 days. From a program: POST /v1/invitations/accept "
                              "{\"token\":\"%s\"}.",
                              tok),
    };
    if (pl_mail_send(&c->op, tenant_id, email, &m) != 0) {
        json_decref(out);
        out = NULL;
    }
    json_decref(tenant);
    return out;
}

static int h_invite(pl_ctx_t *c)
{
    static const char *sql_member = "SELECT COUNT(*) FROM tenant_users tu JOIN users u ON u.id = tu.user_id "
                                    "WHERE tu.tenant_id = $1 AND u.email_norm = lower($2)";
    const char *email = pl_json_str(c->body, "email"), *role = pl_json_str(c->body, "role");
    int64_t n = 0;
    json_t *out;

    if (pl_rbac_rank(role) > pl_caller_rank(c))
        return pl_fail(c, PL_EFORBIDDEN, NULL, "a %s cannot invite a %s", c->principal->role, role);
    if (pl_db_int(c->db, &n, sql_member, PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(email))) != 1)
        return pl_fail(c, PL_EDB, NULL, "cannot invite");
    if (n > 0)
        return pl_fail(c, PL_ECONFLICT, "already_member", "%s already belongs to this organization", email);
    /* members and pending invitations count; an invitation replaced below counted already */
    if (pl_limit_check(&c->op, "team_members", 1) != 0)
        return c->err.status;
    if ((out = pl_invitation_create(c, c->tenant_id, email, role)) == NULL)
        return c->err.status;
    return pl_reply(c, 201, out);
}

static int h_invite_list(pl_ctx_t *c)
{
    static const char *sql =
        "SELECT " INV_COLS " FROM invitations WHERE tenant_id = $1 AND ($2 IS NULL OR id < $2) "
        "ORDER BY id DESC LIMIT $3";
    static const char *sql_n = "SELECT COUNT(*) FROM invitations WHERE tenant_id = $1";
    return pl_reply_list(c, sql, sql_n, invitation_json, "id");
}

static int h_invite_revoke(pl_ctx_t *c)
{
    static const char *sql = "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 "
                             "AND accepted_at IS NULL AND revoked_at IS NULL";
    static const char *sql_get = "SELECT " INV_COLS " FROM invitations WHERE id = $1 AND tenant_id = $2";
    const char *id = pl_param(c, 0);
    json_t *before;
    int n;
    if (!pl_id_ok(id, "inv"))
        return pl_fail_notfound(c, "invitation");
    before = pl_query_one(c->db, invitation_json, sql_get, PL_ARGS(PL_TEXT(id), PL_TEXT(c->tenant_id)));
    n = pl_db_exec(c->db, sql, PL_ARGS(PL_INT(pl_now_ms()), PL_TEXT(id), PL_TEXT(c->tenant_id)));
    if (n <= 0) {
        json_decref(before);
        return n < 0 ? pl_fail(c, PL_EDB, NULL, "cannot revoke the invitation")
                     : pl_fail_notfound(c, "invitation");
    }
    return pl_reply_deleted(c, id, before);
}

static const pl_field_t accept_fields[] = {
    {"token", PL_T_STRING, PL_F_REQUIRED, 1, 200, NULL, NULL, NULL},
    {"password", PL_T_STRING, 0, 1, 256, NULL, NULL,
     "new users: their password; existing users: theirs, to confirm"},
    {"name", PL_T_STRING, 0, 1, 200, NULL, NULL, "new users: their display name"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t accept_schema = {"InvitationAccept", accept_fields, false};

static int h_accept(pl_ctx_t *c)
{
    static const char *sql_inv = "SELECT id, tenant_id, email, role FROM invitations WHERE token_hash = $1 "
                                 "AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2";
    static const char *sql_user = "SELECT id, password_hash FROM users WHERE email_norm = lower($1)";
    static const char *sql_take =
        "UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL "
        "AND revoked_at IS NULL";
    const char *tok = pl_json_str(c->body, "token"), *password = pl_json_str(c->body, "password");
    const char *name = pl_json_str(c->body, "name");
    const char *inv = NULL, *tid = NULL, *email = NULL, *role = NULL, *uid = NULL, *pwhash = NULL;
    char hash[PL_SHA256_HEX], newhash[128];
    pl_rows_t *r;
    json_t *out;

    pl_sha256_hex(tok, strlen(tok), hash);
    if (pl_tx_begin(c, PL_TX_READ, NULL) != 0)
        return c->err.status;
    if (pl_db_query(c->db, &r, sql_inv, PL_ARGS(PL_TEXT(hash), PL_INT(pl_now_ms()))) == 0) {
        if (pl_rows_next(r) == 1) {
            inv = pl_strdup(c->arena, pl_rows_text(r, 0));
            tid = pl_strdup(c->arena, pl_rows_text(r, 1));
            email = pl_strdup(c->arena, pl_rows_text(r, 2));
            role = pl_strdup(c->arena, pl_rows_text(r, 3));
        }
        pl_rows_close(r);
    }
    if (inv && pl_db_query(c->db, &r, sql_user, PL_ARGS(PL_TEXT(email))) == 0) {
        if (pl_rows_next(r) == 1) {
            uid = pl_strdup(c->arena, pl_rows_text(r, 0));
            pwhash = pl_strdup(c->arena, pl_rows_text(r, 1));
        }
        pl_rows_close(r);
    }
    pl_tx_rollback(c);
    if (inv == NULL) {
        pl_err_field(&c->err, "token", "is invalid, already used or expired");
        return PL_EINVAL;
    }
    if (uid) {
        /* An existing account joins: its owner proves it with the password. */
        if (password == NULL) {
            pl_err_field(&c->err, "password", "is required: %s already has an account", email);
            return PL_EINVAL;
        }
        if (!pl_password_verify(pwhash, password))
            return pl_fail(c, PL_EUNAUTH, "invalid_credentials", "the password is not correct");
    } else {
        if (password == NULL) {
            pl_err_field(&c->err, "password", "is required to create the account");
            return PL_EINVAL;
        }
        if (pl_password_prepare(password, email, newhash, sizeof(newhash), &c->err) != 0)
            return c->err.status;
    }
    if (pl_tx_begin(c, PL_TX_WRITE, NULL) != 0)
        return c->err.status;
    if (pl_db_exec(c->db, sql_take, PL_ARGS(PL_INT(pl_now_ms()), PL_TEXT(inv))) != 1) {
        pl_err_field(&c->err, "token", "is invalid, already used or expired");
        return PL_EINVAL;
    }
    /* Holding the token proves nothing about the address (the inviter saw it in the API
     * answer): a new account starts unverified and is sent the usual verification link. */
    if (uid == NULL &&
        (pl_user_create(c->db, c->arena, email, newhash, name ? name : "", false, &uid, &c->err) != 0 ||
         pl_verification_send(c, uid, email, tid) != 0))
        return c->err.status;
    if (pl_membership_add(c->db, tid, uid, role, &c->err) != 0)
        return c->err.status;
    out = json_object();
    if (pl_session_answer(c, uid, tid, out) != 0) {
        json_decref(out);
        return c->err.status;
    }
    {
        json_t *m = member_of(c, tid, uid);
        /* the new member acts; the pipeline's commit step commits this transaction */
        pl_record_change(c, (pl_change_t){.tenant_id = tid,
                                          .event = "team.member_added",
                                          .resource_type = "invitation",
                                          .resource_id = inv,
                                          .after = m,
                                          .actor_type = "user",
                                          .actor_id = uid});
        json_decref(m);
    }
    return pl_reply(c, 200, out);
}

const pl_route_t pl_team_routes[] = {
    {"GET", "/v1/team", h_team_list, "team:read", PL_R_TENANT, NULL, 200, "List the organization's team"},
    {"PATCH", "/v1/team/{user_id}", h_team_patch, "team:manage", PL_R_TENANT, &role_schema, 200,
     "Change a team member's role", "team.role_changed"},
    {"DELETE", "/v1/team/{user_id}", h_team_delete, "team:manage", PL_R_TENANT, NULL, 204,
     "Remove a member from the organization", "team.member_removed"},
    {"POST", "/v1/invitations", h_invite, "team:manage", PL_R_TENANT, &invite_schema, 201,
     "Invite someone by email", "user.invited"},
    {"GET", "/v1/invitations", h_invite_list, "team:read", PL_R_TENANT, NULL, 200, "List invitations"},
    {"DELETE", "/v1/invitations/{id}", h_invite_revoke, "team:manage", PL_R_TENANT, NULL, 204,
     "Revoke a pending invitation", "invitation.revoked"},
    {"POST", "/v1/invitations/accept", h_accept, NULL, PL_R_PUBLIC | PL_R_OWN_TX, &accept_schema, 200,
     "Accept an invitation (creates the account if needed)", "invitation.accepted"},
    PL_ROUTES_END,
};
