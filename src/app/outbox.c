/*
 * outbox.c — appending events and per-tenant sequences (see outbox.h).
 */
#include "app/outbox.h"

#include "app/sequence.h"

#include <stdlib.h>
#include <string.h>

#include "app/audit.h"
#include "core/clock.h"
#include "core/typeid.h"
#include "core/banned.h"

int pl_outbox_append(pl_app_t *app, pl_db_t *db, const char *tenant_id, const char *type, json_t *data,
                     const char *request_id, char *id_out)
{
    static const char *sql_ins =
        "INSERT INTO events (id, tenant_id, tenant_seq, type, data, request_id, occurred_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)";
    json_t *clean = data ? pl_json_redact(app, data) : json_object();
    char *text = json_dumps(clean, JSON_COMPACT | JSON_ENCODE_ANY);
    int64_t next = 0;
    int rc = PL_EDB;
    char id[PL_TYPEID_MAX];
    json_decref(clean);
    pl_typeid_new("evt", id);
    if (text && pl_tenant_seq_next(db, tenant_id, "events", &next) == 0 &&
        pl_db_exec(db, sql_ins,
                   PL_ARGS(PL_TEXT(id), PL_TEXT(tenant_id), PL_INT(next), PL_TEXT(type), PL_TEXT(text),
                           PL_TEXT(request_id), PL_INT(pl_now_ms()))) == 1)
        rc = 0;
    if (rc == 0 && id_out)
        memcpy(id_out, id, sizeof(id));
    free(text);
    return rc;
}

int pl_outbox_append_copy(pl_db_t *db, const char *id, const char *tenant_id, const char *type,
                          const char *data, const char *request_id, int64_t occurred_at)
{
    static const char *sql_ins =
        "INSERT INTO events (id, tenant_id, tenant_seq, type, data, request_id, occurred_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)";
    int64_t next = 0;
    if (pl_tenant_seq_next(db, tenant_id, "events", &next) != 0 ||
        pl_db_exec(db, sql_ins,
                   PL_ARGS(PL_TEXT(id), PL_TEXT(tenant_id), PL_INT(next), PL_TEXT(type), PL_TEXT(data),
                           PL_TEXT(request_id), PL_INT(occurred_at))) != 1)
        return PL_EDB;
    return 0;
}
