/*
 * internal.h — what the platform module's files share among themselves; not for other
 * modules (they use platform.h).
 */
#ifndef PL_PLATFORM_INTERNAL_H
#define PL_PLATFORM_INTERNAL_H

#include <jansson.h>

#include "http/ctx.h"
#include "platform/platform.h"
#include "platform/tokens.h"

typedef struct pl_platform_conf {
    bool signup;      /* self-service signup */
    long access_ttl;  /* seconds */
    long refresh_ttl; /* seconds */
} pl_platform_conf_t;

const pl_platform_conf_t *pl_platform_conf(const pl_app_t *app);
/* The signing keys (loaded by the module's init). */
pl_tokens_t *pl_platform_tokens(const pl_app_t *app);
extern const pl_command_t pl_platform_commands[];

/* ---- the tenant directory (cells.c) ---- */
int pl_platform_locate(pl_app_t *app, pl_db_t *db, const char *tenant_id, const struct pl_cell **cell);
/* Opens every recorded cell (the module's init). */
int pl_platform_cells_open(pl_app_t *app, pl_db_t *db, pl_err_t *err);
/* Puts a new tenant (no data yet) in cell (open, or opened now). Field error "cell". */
int pl_tenant_place(pl_db_t *db, pl_app_t *app, const char *tenant_id, const char *cell, pl_err_t *err);
json_t *pl_cells_list(pl_db_t *db);
int pl_cmd_cell(pl_app_t *app, int argc, char **argv);
typedef struct pl_cli pl_cli_t;
int pl_tenant_move(pl_cli_t *c, const char *tenant, const char *to_cell);
extern const char *const pl_cell_own_options[];

/* Route tables of each file (ending with PL_ROUTES_END), listed by platform.c. */
extern const pl_route_t pl_auth_routes[];
extern const pl_route_t pl_apikey_routes[];
extern const pl_route_t pl_team_routes[];
extern const pl_route_t pl_tenant_routes[];
extern const pl_route_t pl_plan_routes[];
extern const pl_usage_t pl_platform_usage[];
extern const pl_schema_t pl_plan_parts_schema;
/* Checks the features / limits / rate_limits members of a plan or an override (field prefix where). */
void pl_plan_check_parts(pl_ctx_t *c, json_t *obj, const char *where);

/* Starts a session (refresh-token family; family NULL starts a new one) for user in tenant,
 * inside the current write transaction, and adds access_token, refresh_token, token_type
 * and expires_in to out. */
int pl_session_issue(pl_ctx_t *c, const char *user_id, const char *tenant_id, const char *family,
                     json_t *out);
/* Adds user, tenant, role (and the token fields) — the body of signup/login answers. */
int pl_session_answer(pl_ctx_t *c, const char *user_id, const char *tenant_id, json_t *out);

/* One-time tokens sent by email (verify_email, password_reset): creates one and returns the
 * secret; consume marks it used and returns the user id (NULL if invalid, used or expired). */
const char *pl_user_token_create(pl_ctx_t *c, const char *user_id, const char *purpose, int64_t ttl_ms);
const char *pl_user_token_consume(pl_ctx_t *c, const char *token, const char *purpose);

/* Mails user_id a link that verifies their address (branded as tenant_id), in the open
 * transaction. Returns 0 or fills c->err. */
int pl_verification_send(pl_ctx_t *c, const char *user_id, const char *email, const char *tenant_id);

/* Invites email to tenant_id with role (replacing a pending invitation of the same address),
 * mails the link and records user.invited in that tenant. Returns the invitation with its
 * token and accept_url (new reference), or NULL with c->err filled. */
json_t *pl_invitation_create(pl_ctx_t *c, const char *tenant_id, const char *email, const char *role);

/* The external base URL for links in emails (--public-url, else the bound address). */
const char *pl_public_url(pl_ctx_t *c);
/* Every tenant the user belongs to (arena strings, NULL-terminated), for audit entries of
 * the user's own actions (verify email, reset password). */
const char **pl_user_tenants(pl_ctx_t *c, const char *user_id);

/* The caller's rank (owner 4 … viewer 1) for role-granting rules. */
int pl_caller_rank(const pl_ctx_t *c);

#endif
