/*
 * sequence.c — per-tenant counters (see sequence.h).
 */
#include "app/sequence.h"

#include "core/banned.h"

int pl_tenant_seq_take(pl_db_t *db, const char *tenant_id, const char *name, int64_t count, int64_t *last)
{
    static const char *sql =
        "INSERT INTO tenant_sequences (tenant_id, name, value) VALUES ($1, $2, $3) "
        "ON CONFLICT (tenant_id, name) DO UPDATE SET value = tenant_sequences.value + $3 RETURNING value";
    if (count < 1)
        return PL_EDB;
    return pl_db_int(db, last, sql, PL_ARGS(PL_TEXT(tenant_id), PL_TEXT(name), PL_INT(count))) == 1 ? 0
                                                                                                    : PL_EDB;
}

int pl_tenant_seq_next(pl_db_t *db, const char *tenant_id, const char *name, int64_t *out)
{
    return pl_tenant_seq_take(db, tenant_id, name, 1, out);
}
