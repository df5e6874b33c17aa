/*
 * audit.h — the audit log: who changed what, when, from where, before and after.
 *
 * Owns audit_log (0003_guardrails.sql). Entries are written inside the transaction of the
 * change they describe (the pipeline writes one for every successful mutation; a handler may
 * write a richer one itself). Each tenant's entries form a SHA-256 chain — every entry stores
 * the hash of the one before — so editing or deleting a row breaks the chain, which
 * pl_audit_verify() (and `plinth audit verify`) detects. Secrets in before/after
 * (passwords, keys, tokens, secrets) are replaced by "[redacted]".
 */
#ifndef PL_AUDIT_H
#define PL_AUDIT_H

#include <jansson.h>
#include <stdio.h>

#include "http/ctx.h"

extern const pl_module_t pl_audit_module;

/* Writes one entry in the current transaction, in tenant_id's chain. before/after may be
 * NULL (not owned). Returns 0 or PL_EDB. */
int pl_audit_write(pl_ctx_t *c, const char *tenant_id, const char *action, const char *resource_type,
                   const char *resource_id, json_t *before, json_t *after);
/* A copy of v with secrets (passwords, tokens, keys, secrets — by name or by their prefix)
 * replaced by "[redacted]" (new reference). */
json_t *pl_json_redact(json_t *v);
/* Recomputes the chains (all tenants, or one); prints a line per tenant to out. Returns 0 if
 * every chain is intact, 1 if one is broken (the first broken entry is named), <0 on error. */
int pl_audit_verify(pl_db_t *db, const char *tenant_id, FILE *out);

#endif
