/*
 * audit.c — the audit chain: appending entries, redacting secrets, verifying (see audit.h).
 *
 * hash = sha256_hex(prev_hash "\n" seq "\n" tenant "\n" created_at "\n" actor_type "\n"
 *                   actor_id "\n" action "\n" resource_type "\n" resource_id "\n" before "\n"
 *                   after "\n" request_id "\n" ip "\n" user_agent); the first prev_hash is 64 zeros.
 */
#include "app/audit.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/typeid.h"
#include "core/banned.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

static bool is_secret(const pl_app_t *app, const char *name, json_t *v)
{
    if (json_is_null(v))
        return false;
    return pl_app_is_secret(app, name, json_is_string(v) ? json_string_value(v) : NULL);
}

json_t *pl_json_redact(const pl_app_t *app, json_t *v)
{
    json_t *out, *x;
    const char *k;
    size_t i;
    if (json_is_object(v)) {
        out = json_object();
        json_object_foreach(v, k, x)
        {
            json_object_set_new(out, k,
                                is_secret(app, k, x) ? json_string("[redacted]") : pl_json_redact(app, x));
        }
        return out;
    }
    if (json_is_array(v)) {
        out = json_array();
        for (i = 0; i < json_array_size(v); i++)
            json_array_append_new(out, is_secret(app, NULL, json_array_get(v, i))
                                           ? json_string("[redacted]")
                                           : pl_json_redact(app, json_array_get(v, i)));
        return out;
    }
    if (is_secret(app, NULL, v))
        return json_string("[redacted]");
    return json_incref(v);
}

static char *dump(const pl_app_t *app, json_t *v)
{
    json_t *r;
    char *s;
    if (v == NULL)
        return NULL;
    r = pl_json_redact(app, v);
    s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(r);
    return s;
}

static void field(pl_buf_t *b, const char *s)
{
    pl_buf_adds(b, s ? s : "");
    pl_buf_addc(b, '\n');
}

static void chain_hash(const char *prev, int64_t seq, const char *tenant, int64_t created,
                       const char *const f[10], char out[PL_SHA256_HEX])
{
    pl_buf_t b;
    int i;
    pl_buf_init(&b, NULL);
    field(&b, prev);
    pl_buf_addf(&b, "%lld\n%s\n%lld\n", (long long)seq, tenant, (long long)created);
    for (i = 0; i < 10; i++)
        field(&b, f[i]);
    pl_sha256_hex(b.ptr, b.len, out);
    pl_buf_release(&b);
}

int pl_audit_append(pl_app_t *app, pl_db_t *db, const pl_audit_entry_t *e)
{
    /* the head row is the chain's lock: PostgreSQL takes it FOR UPDATE; SQLite has one writer */
    static const pl_sql_t sql_head = {
        "SELECT seq, hash FROM audit_heads WHERE tenant_id = $1",
        "SELECT seq, hash FROM audit_heads WHERE tenant_id = $1 FOR UPDATE",
    };
    static const char *sql_move =
        "INSERT INTO audit_heads (tenant_id, seq, hash, updated_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
        "updated_at = excluded.updated_at";
    static const char *sql_ins =
        "INSERT INTO audit_log (id, tenant_id, seq, actor_type, actor_id, action, "
        "resource_type, resource_id, before, after, request_id, ip, user_agent, created_at, "
        "prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
        "$14, $15, $16)";
    char *b = dump(app, e->before), *a = dump(app, e->after), prev[PL_SHA256_HEX] = ZERO_HASH,
         hash[PL_SHA256_HEX], id[PL_TYPEID_MAX];
    const char *f[10] = {e->actor_type, e->actor_id, e->action,    e->resource_type, e->resource_id, b, a,
                         e->request_id, e->ip,       e->user_agent};
    int64_t seq = 0, now = e->created_at ? e->created_at : pl_now_ms();
    pl_rows_t *r;
    int rc = PL_EDB, got;
    if (pl_db_query(db, &r, pl_db_sql(db, &sql_head), PL_ARGS(PL_TEXT(e->tenant_id))) == 0) {
        if ((got = pl_rows_next(r)) == 1) {
            seq = pl_rows_int(r, 0);
            snprintf(prev, sizeof(prev), "%s", pl_rows_text(r, 1));
        }
        pl_rows_close(r);
        if (got >= 0) {
            seq++;
            chain_hash(prev, seq, e->tenant_id, now, f, hash);
            if (e->id)
                snprintf(id, sizeof(id), "%s", e->id);
            else
                pl_typeid_new("aud", id);
            if (pl_db_exec(db, sql_ins,
                           PL_ARGS(PL_TEXT(id), PL_TEXT(e->tenant_id), PL_INT(seq), PL_TEXT(e->actor_type),
                                   PL_TEXT(e->actor_id), PL_TEXT(e->action), PL_TEXT(e->resource_type),
                                   PL_TEXT(e->resource_id), PL_TEXT(b), PL_TEXT(a), PL_TEXT(e->request_id),
                                   PL_TEXT(e->ip), PL_TEXT(e->user_agent), PL_INT(now), PL_TEXT(prev),
                                   PL_TEXT(hash))) == 1 &&
                pl_db_exec(db, sql_move,
                           PL_ARGS(PL_TEXT(e->tenant_id), PL_INT(seq), PL_TEXT(hash), PL_INT(now))) == 1)
                rc = 0;
        }
    }
    free(b);
    free(a);
    return rc;
}

int pl_audit_append_copy(pl_app_t *app, pl_db_t *db, const char *tenant_id, const char *const col[12])
{
    json_t *before = col[6] ? json_loads(col[6], JSON_DECODE_ANY, NULL) : NULL;
    json_t *after = col[7] ? json_loads(col[7], JSON_DECODE_ANY, NULL) : NULL;
    pl_audit_entry_t e = {.tenant_id = tenant_id,
                          .actor_type = col[1],
                          .actor_id = col[2],
                          .action = col[3],
                          .resource_type = col[4],
                          .resource_id = col[5],
                          .before = before,
                          .after = after,
                          .request_id = col[8],
                          .ip = col[9],
                          .user_agent = col[10],
                          .id = col[0],
                          .created_at = col[11] ? strtoll(col[11], NULL, 10) : 0};
    int rc = pl_audit_append(app, db, &e);
    json_decref(before);
    json_decref(after);
    return rc;
}

/* Compares the end of a tenant's chain with its head. */
static int check_head(pl_db_t *db, const char *tenant, int64_t last_seq, const char *last_hash, FILE *out)
{
    static const char *sql = "SELECT seq, hash FROM audit_heads WHERE tenant_id = $1";
    pl_rows_t *r;
    int rc, broken = 0;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_TEXT(tenant))) != 0)
        return PL_EDB;
    rc = pl_rows_next(r);
    if (rc == 1 && (pl_rows_int(r, 0) != last_seq || strcmp(pl_rows_text(r, 1), last_hash) != 0)) {
        fprintf(out, "BROKEN  %s: the chain ends at seq %lld but its head says %lld — entries were removed\n",
                tenant, (long long)last_seq, (long long)pl_rows_int(r, 0));
        broken = 1;
    } else if (rc == 0 && last_seq > 0) {
        fprintf(out, "BROKEN  %s: the chain has %lld entries but no head\n", tenant, (long long)last_seq);
        broken = 1;
    }
    pl_rows_close(r);
    return rc < 0 ? PL_EDB : broken;
}

/* Tenants whose head names entries the log no longer has at all. */
static int orphan_heads(pl_db_t *db, const char *tenant_id, FILE *out)
{
    static const char *sql =
        "SELECT h.tenant_id, h.seq FROM audit_heads h WHERE ($1 IS NULL OR h.tenant_id = $1) "
        "AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.tenant_id = h.tenant_id)";
    pl_rows_t *r;
    int rc, broken = 0;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_TEXT(tenant_id))) != 0)
        return PL_EDB;
    while ((rc = pl_rows_next(r)) == 1) {
        fprintf(out, "BROKEN  %s: its head says %lld entries but the log has none\n", pl_rows_text(r, 0),
                (long long)pl_rows_int(r, 1));
        broken = 1;
    }
    pl_rows_close(r);
    return rc < 0 ? PL_EDB : broken;
}

static int verify(pl_db_t *db, const char *tenant_id, FILE *out)
{
    static const char *sql =
        "SELECT tenant_id, seq, id, actor_type, actor_id, action, resource_type, resource_id, "
        "before, after, request_id, ip, user_agent, created_at, prev_hash, hash FROM audit_log "
        "WHERE ($1 IS NULL OR tenant_id = $1) ORDER BY tenant_id, seq";
    pl_rows_t *r;
    char cur[64] = "", prev[PL_SHA256_HEX] = ZERO_HASH, hash[PL_SHA256_HEX];
    int64_t expect = 1, n = 0;
    int rc, broken = 0, h;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_TEXT(tenant_id))) != 0)
        return PL_EDB;
    while ((rc = pl_rows_next(r)) == 1) {
        const char *t = pl_rows_text(r, 0);
        const char *f[10];
        int i;
        if (strcmp(t, cur) != 0) {
            if (cur[0]) {
                if ((h = check_head(db, cur, n, prev, out)) != 0) {
                    broken = h;
                    break;
                }
                fprintf(out, "ok      %s: %lld entries\n", cur, (long long)n);
            }
            snprintf(cur, sizeof(cur), "%s", t);
            snprintf(prev, sizeof(prev), "%s", ZERO_HASH);
            expect = 1;
            n = 0;
        }
        for (i = 0; i < 10; i++)
            f[i] = pl_rows_text(r, 3 + i);
        chain_hash(prev, pl_rows_int(r, 1), t, pl_rows_int(r, 13), f, hash);
        if (pl_rows_int(r, 1) != expect) {
            fprintf(out, "BROKEN  %s: entry %s (seq %lld): expected seq %lld — an entry is missing\n", t,
                    pl_rows_text(r, 2), (long long)pl_rows_int(r, 1), (long long)expect);
            broken = 1;
        } else if (strcmp(pl_rows_text(r, 14), prev) != 0) {
            fprintf(out, "BROKEN  %s: entry %s (seq %lld): prev_hash does not match the entry before\n", t,
                    pl_rows_text(r, 2), (long long)pl_rows_int(r, 1));
            broken = 1;
        } else if (strcmp(pl_rows_text(r, 15), hash) != 0) {
            fprintf(out, "BROKEN  %s: entry %s (seq %lld): contents changed after it was written\n", t,
                    pl_rows_text(r, 2), (long long)pl_rows_int(r, 1));
            broken = 1;
        }
        if (broken)
            break;
        snprintf(prev, sizeof(prev), "%s", pl_rows_text(r, 15));
        expect++;
        n++;
    }
    pl_rows_close(r);
    if (rc < 0 || broken < 0)
        return PL_EDB;
    if (!broken && cur[0]) {
        if ((h = check_head(db, cur, n, prev, out)) != 0)
            return h;
        fprintf(out, "ok      %s: %lld entries\n", cur, (long long)n);
    }
    if (!broken && (h = orphan_heads(db, tenant_id, out)) != 0)
        return h;
    return broken;
}

/* One read transaction in the control plane's scope: it walks every tenant's chain. */
int pl_audit_verify(pl_db_t *db, const char *tenant_id, FILE *out)
{
    int rc;
    if (pl_db_begin(db, PL_TX_READ, NULL) != 0)
        return PL_EDB;
    rc = verify(db, tenant_id, out);
    pl_db_rollback(db);
    return rc;
}
