/*
 * sequence.h — per-tenant counters: the outbox's event sequence, member row keys, later
 * invoice numbers. A building block that SQLite's single writer gave for free and several
 * writers do not: one row per tenant and name in tenant_sequences, incremented in place
 * inside the writer's transaction (INSERT … ON CONFLICT DO UPDATE … RETURNING, the same text
 * on both dialects; on PostgreSQL the row lock orders concurrent writers of one tenant). Two
 * writers never get the same number, and a number taken in a transaction that rolls back is
 * given again (no gaps).
 */
#ifndef PL_APP_SEQUENCE_H
#define PL_APP_SEQUENCE_H

#include <stdint.h>

#include "store/store.h"

/* Takes count (>= 1) numbers of the tenant's sequence `name` in db's open write transaction;
 * *last receives the highest (they are *last - count + 1 … *last). Returns 0 or PL_EDB. */
int pl_tenant_seq_take(pl_db_t *db, const char *tenant_id, const char *name, int64_t count, int64_t *last);
/* The next number (count 1). */
int pl_tenant_seq_next(pl_db_t *db, const char *tenant_id, const char *name, int64_t *out);

#endif
