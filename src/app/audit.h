/*
 * audit.h — the audit chain, written by the kernel's commit step (app/op.h).
 *
 * Owns audit_log and audit_heads (app/migrations). Each tenant's entries form a SHA-256
 * chain — every entry stores the hash of the one before — and audit_heads holds the newest
 * entry's seq and hash, moved in the same transaction as every append. Editing or deleting an
 * entry breaks the chain; deleting the newest entries leaves the chain shorter than its
 * head: pl_audit_verify() (and `plinth audit verify`) detects both. The append locks the
 * tenant's head row, so concurrent writers take turns per tenant.
 * Secrets in before/after (by member name or value prefix, as the modules declare them)
 * are replaced by "[redacted]".
 */
#ifndef PL_APP_AUDIT_H
#define PL_APP_AUDIT_H

#include <jansson.h>
#include <stdio.h>

#include "app/app.h"
#include "store/store.h"

/* What one entry says besides its change. */
typedef struct pl_audit_entry {
    const char *tenant_id, *actor_type, *actor_id, *action, *resource_type, *resource_id;
    json_t *before, *after; /* not owned; redacted when written */
    const char *request_id, *ip, *user_agent;
    /* an entry relayed from another database keeps its id and time (NULL / 0: new ones) */
    const char *id;
    int64_t created_at;
} pl_audit_entry_t;

/* Appends e to its tenant's chain in db's open write transaction. Returns 0 or PL_EDB. */
int pl_audit_append(pl_app_t *app, pl_db_t *db, const pl_audit_entry_t *e);

/* An entry written first in another database (the relay, a move), as the text of these
 * columns, appended to the tenant's chain here with its id and time. */
#define PL_AUDIT_COPY_COLS                                                                                   \
    "id, actor_type, actor_id, action, resource_type, resource_id, before, after, request_id, ip, "          \
    "user_agent, created_at"
int pl_audit_append_copy(pl_app_t *app, pl_db_t *db, const char *tenant_id, const char *const col[12]);
/* A copy of v with secrets replaced by "[redacted]", at any depth (new reference). */
json_t *pl_json_redact(const pl_app_t *app, json_t *v);
/* Recomputes the chains (all tenants, or one) and compares each with its head; prints a line
 * per tenant to out. Returns 0 if every chain is intact, 1 if one is broken (the first
 * broken entry is named), <0 on error. */
int pl_audit_verify(pl_db_t *db, const char *tenant_id, FILE *out);

#endif
