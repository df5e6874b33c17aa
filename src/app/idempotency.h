/*
 * idempotency.h — Idempotency-Key on POST (Stripe's model). Scope: tenant + key.
 *
 * The first request claims the key (state running) in a transaction of its own; its response
 * is stored with the key inside the same transaction as its writes, so a stored response and
 * its effects commit together. A replay answers the stored response; the same key with another
 * request (method, path, body) is refused; a duplicate that arrives while the first runs is
 * refused with 409 — never two executions. A request that fails stores nothing and frees the
 * key. Keys expire after 24 hours; a running claim older than a minute is presumed dead.
 */
#ifndef PL_IDEMPOTENCY_H
#define PL_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "store/store.h"

typedef enum { PL_IDEM_NEW, PL_IDEM_REPLAY, PL_IDEM_MISMATCH, PL_IDEM_RUNNING, PL_IDEM_ERROR } pl_idem_t;

typedef struct pl_idem_stored {
    int status;
    const char *content_type;
    const char *body;
    size_t len;
} pl_idem_stored_t;

bool pl_idempotency_key_valid(const char *key, size_t len);
/* Claims the key; on PL_IDEM_REPLAY, *stored holds the first response (arena memory). */
pl_idem_t pl_idempotency_claim(pl_db_t *db, pl_arena_t *a, const char *tenant_id, const char *key,
                               const char *request_hash, pl_idem_stored_t *stored);
/* Stores the response, inside the caller's transaction. */
int pl_idempotency_store(pl_db_t *db, const char *tenant_id, const char *key, int status,
                         const char *content_type, const char *body, size_t len);
/* Frees a claim whose request failed (own transaction). */
void pl_idempotency_release(pl_db_t *db, const char *tenant_id, const char *key);
/* Deletes expired keys. */
/* Removes expired keys; returns how many (or <0). Run by the idempotency.cleanup task. */
int64_t pl_idempotency_expire(pl_db_t *db);

#endif
