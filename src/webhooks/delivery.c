/*
 * delivery.c — the fan-out consumer (committed events → deliveries) and the sender
 * (deliveries → signed HTTP POSTs with libcurl, retried on a schedule). See webhooks.h.
 *
 * Standard Webhooks: webhook-id is the event id (the same on every retry, so receivers can
 * drop duplicates), webhook-timestamp the send time in seconds, and webhook-signature
 * "v1,<base64 HMAC-SHA256 of "id.timestamp.body" keyed with the secret's bytes>".
 */
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/typeid.h"
#include "app/cells.h"
#include "app/op.h"
#include "events/events.h"
#include "jobs/jobs.h"
#include "webhooks/internal.h"
#include "webhooks/webhooks.h"
#include "core/banned.h"

#define MAX_RETRIES 32

typedef struct sender {
    struct pl_webhooks *w;
    const pl_cell_t *cell; /* each cell's deliveries are its own */
    pthread_t thread;
} sender_t;

struct pl_webhooks {
    pl_app_t *app;
    const pl_webhooks_conf_t *conf;
    pthread_mutex_t lock;
    sender_t senders[PL_MAX_CELLS];
    int nsenders;
    int64_t schedule[MAX_RETRIES]; /* seconds before attempt 2, 3, … */
    int nschedule;
    char disable_reason[64]; /* "failing for 5 days", from --webhook-disable-after */
};

/* An endpoint's event patterns (a JSON array) against an event type. */
static bool matches(json_t *patterns, const char *type)
{
    const char *list[65];
    size_t i, n = 0;
    for (i = 0; i < json_array_size(patterns) && n < 64; i++)
        if (json_is_string(json_array_get(patterns, i)))
            list[n++] = json_string_value(json_array_get(patterns, i));
    list[n] = NULL;
    return pl_event_matches(list, type);
}

typedef struct {
    int64_t seq, occurred;
    char id[PL_TYPEID_MAX], type[128], tenant[64];
} event_ref_t;

#define EVENT_REF_COLS "seq, id, type, tenant_id, occurred_at"

static void read_ref(pl_rows_t *r, event_ref_t *ev)
{
    ev->seq = pl_rows_int(r, 0);
    snprintf(ev->id, sizeof(ev->id), "%s", pl_rows_text(r, 1));
    snprintf(ev->type, sizeof(ev->type), "%s", pl_rows_text(r, 2));
    snprintf(ev->tenant, sizeof(ev->tenant), "%s", pl_rows_text(r, 3));
    ev->occurred = pl_rows_int(r, 4);
}

/* Records a delivery of ev to each matching enabled endpoint of its tenant. An endpoint gets
 * the events that occur after it was created; a replay goes to every matching endpoint. */
static int fan_out_event(pl_db_t *db, const event_ref_t *ev, bool replay)
{
    static const char *sql_eps =
        "SELECT id, events FROM webhook_endpoints WHERE tenant_id = $1 AND status = 'enabled' "
        "AND ($2 IS NULL OR created_at <= $2)";
    static const char *sql_ins =
        "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_seq, state, "
        "next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6, $6)";
    pl_rows_t *r;
    json_t *eps = json_array();
    size_t i;
    int n = 0;
    int64_t now = pl_now_ms();
    if (pl_db_query(db, &r, sql_eps,
                    PL_ARGS(PL_TEXT(ev->tenant), replay ? PL_NULL_INT : PL_INT(ev->occurred))) != 0) {
        json_decref(eps);
        return PL_EDB;
    }
    while (pl_rows_next(r) == 1) {
        json_t *patterns = json_loads(pl_rows_text(r, 1), 0, NULL);
        if (matches(patterns, ev->type))
            json_array_append_new(eps, json_string(pl_rows_text(r, 0)));
        json_decref(patterns);
    }
    pl_rows_close(r);
    for (i = 0; i < json_array_size(eps); i++) {
        char did[PL_TYPEID_MAX];
        pl_typeid_new("whd", did);
        if (pl_db_exec(db, sql_ins,
                       PL_ARGS(PL_TEXT(did), PL_TEXT(ev->tenant),
                               PL_TEXT(json_string_value(json_array_get(eps, i))), PL_TEXT(ev->id),
                               PL_INT(ev->seq), PL_INT(now))) < 0) {
            json_decref(eps);
            return PL_EDB;
        }
        n++;
    }
    json_decref(eps);
    return n;
}

int pl_webhook_fan_out(pl_db_t *db, int64_t seq, const char *tenant_id)
{
    static const char *sql = "SELECT " EVENT_REF_COLS " FROM events WHERE seq = $1 AND tenant_id = $2";
    event_ref_t ev;
    pl_rows_t *r;
    int rc;
    if (pl_db_query(db, &r, sql, PL_ARGS(PL_INT(seq), PL_TEXT(tenant_id))) != 0)
        return PL_EDB;
    if ((rc = pl_rows_next(r)) == 1)
        read_ref(r, &ev);
    pl_rows_close(r);
    if (rc != 1)
        return rc < 0 ? PL_EDB : 0;
    return fan_out_event(db, &ev, true);
}

/* The consumer the dispatcher hands every committed event to (events/events.h). */
static int consume(pl_app_t *app, pl_db_t *db, const pl_event_ref_t *ref)
{
    event_ref_t ev;
    (void)app;
    ev.seq = ref->seq;
    ev.occurred = ref->occurred_ms;
    snprintf(ev.id, sizeof(ev.id), "%s", ref->id);
    snprintf(ev.type, sizeof(ev.type), "%s", ref->type);
    snprintf(ev.tenant, sizeof(ev.tenant), "%s", ref->tenant_id);
    return fan_out_event(db, &ev, false) < 0 ? PL_EDB : 0;
}

const pl_consumer_t pl_webhook_consumers[] = {
    {"webhooks", consume},
    {NULL, NULL},
};

/* Finished deliveries stay in the delivery log for --event-retention-days. */
static int64_t cleanup(pl_app_t *a, pl_db_t *db)
{
    static const char *const sql[] = {
        "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND updated_at < $1", NULL};
    return pl_db_exec_list(db, sql, pl_now_ms() - pl_events_retention_ms(a));
}

const pl_task_t pl_webhook_tasks[] = {
    {"webhooks.cleanup", 3600000, cleanup},
    {NULL, 0, NULL},
};

/* ---- sender ----
 *
 * One thread per cell drives its deliveries through a libcurl multi handle: up to
 * MAX_INFLIGHT transfers at once, and one at a time to an endpoint, on any node (a delivery
 * in flight holds a lease; the claim passes over an endpoint that has one), taken in the
 * order of the events: an endpoint receives a tenant's events in order. A failed attempt
 * waits for its retry and does not hold back the next event. An endpoint that hangs (up to the
 * 15 s request timeout) holds only itself: another endpoint's delivery is claimed and sent
 * within the next turn of the loop (~100 ms), never queued behind it. */

#define MAX_INFLIGHT 64
#define PER_ENDPOINT 1

typedef struct {
    char id[PL_TYPEID_MAX], tenant[64], endpoint[PL_TYPEID_MAX], event[PL_TYPEID_MAX];
    char *url, *secret, *body;
    int64_t attempts;
    /* while in flight */
    CURL *h;
    struct curl_slist *hdr;
    int64_t t0;
    int64_t lease_until; /* wall ms: held until then, renewed while the transfer runs */
} job_t;

static size_t discard(char *p, size_t size, size_t n, void *u)
{
    (void)p;
    (void)u;
    return size * n;
}

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct pl_webhooks *w = clientp;
    (void)purpose;
    /* checked again at connect time: the name may resolve differently than when it was saved */
    if (!w->conf->allow_private && pl_webhook_addr_private(&a->addr))
        return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype, a->protocol);
}

static void job_free(job_t *j)
{
    if (j->h)
        curl_easy_cleanup(j->h);
    curl_slist_free_all(j->hdr);
    free(j->url);
    free(j->secret);
    free(j->body);
    memset(j, 0, sizeof(*j));
}

/* Signs the delivery and prepares its transfer. Returns 0, or -1 with why filled (the secret
 * cannot be read: it is never sent unsigned — a receiver could not tell it from a forgery). */
static int prepare(struct pl_webhooks *w, job_t *j, char *why, size_t whylen)
{
    char line[600], ts[24], *msg;
    uint8_t key[64], mac[crypto_auth_hmacsha256_BYTES];
    size_t keylen = 0, mlen;
    char sig[crypto_auth_hmacsha256_BYTES * 2];
    crypto_auth_hmacsha256_state st;
    snprintf(ts, sizeof(ts), "%lld", (long long)(pl_now_ms() / 1000));
    if (strncmp(j->secret, "whsec_", 6) != 0 ||
        sodium_base642bin(key, sizeof(key), j->secret + 6, strlen(j->secret + 6), NULL, &keylen, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        keylen < 16) {
        snprintf(why, whylen, "the endpoint's signing secret is unreadable; rotate it");
        return -1;
    }
    if ((j->h = curl_easy_init()) == NULL) {
        snprintf(why, whylen, "no curl handle");
        return -1;
    }
    mlen = strlen(j->event) + strlen(ts) + strlen(j->body) + 3;
    msg = malloc(mlen);
    if (msg == NULL)
        abort();
    snprintf(msg, mlen, "%s.%s.%s", j->event, ts, j->body);
    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
    crypto_auth_hmacsha256_final(&st, mac);
    free(msg);
    sodium_memzero(key, sizeof(key));
    sodium_bin2base64(sig, sizeof(sig), mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
    j->hdr = curl_slist_append(j->hdr, "content-type: application/json");
    j->hdr = curl_slist_append(j->hdr, "user-agent: Plinth-Webhooks/1");
    snprintf(line, sizeof(line), "webhook-id: %s", j->event);
    j->hdr = curl_slist_append(j->hdr, line);
    snprintf(line, sizeof(line), "webhook-timestamp: %s", ts);
    j->hdr = curl_slist_append(j->hdr, line);
    snprintf(line, sizeof(line), "webhook-signature: v1,%s", sig);
    j->hdr = curl_slist_append(j->hdr, line);
    curl_easy_setopt(j->h, CURLOPT_URL, j->url);
    curl_easy_setopt(j->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(j->h, CURLOPT_HTTPHEADER, j->hdr);
    curl_easy_setopt(j->h, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(j->h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(j->h, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(j->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(j->h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(j->h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(j->h, CURLOPT_OPENSOCKETDATA, w);
    curl_easy_setopt(j->h, CURLOPT_PRIVATE, j);
    j->t0 = pl_mono_ms();
    return 0;
}

/* Leases up to room due deliveries, the first due one (in event order) of each endpoint that
 * has none in flight — here (busy: ",id,id,") or on another node (a lease). Fills jobs from
 * the first free slot on; returns how many, or -1. */
static int claim(pl_db_t *db, job_t *slots, int room, const char *busy, int64_t lease_ms)
{
#define CLAIM_SQL(notbusy)                                                                                   \
    "SELECT id, tenant_id, endpoint_id, event_id, attempts, url, secret, type, data, occurred_at FROM ("     \
    "SELECT d.id, d.tenant_id, d.endpoint_id, d.event_id, d.attempts, w.url, w.secret, e.type, e.data, "     \
    "e.occurred_at, d.next_attempt_at, d.event_seq, ROW_NUMBER() OVER (PARTITION BY d.endpoint_id "          \
    "ORDER BY d.event_seq) AS rn FROM webhook_deliveries d "                                                 \
    "JOIN webhook_endpoints w ON w.id = d.endpoint_id JOIN events e ON e.id = d.event_id "                   \
    "WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR "                   \
    "d.lease_until < $1) AND w.status = 'enabled' AND " notbusy " AND NOT EXISTS (SELECT 1 FROM "            \
    "webhook_deliveries x WHERE x.endpoint_id = d.endpoint_id AND x.lease_until IS NOT NULL AND "            \
    "x.lease_until >= $1)) AS due WHERE rn <= $4 "                                                           \
    "ORDER BY next_attempt_at, event_seq LIMIT $2"
    /* "not one of the busy endpoints": the one dialect difference is the substring function */
    static const pl_sql_t sql = {
        CLAIM_SQL("instr($3, ',' || d.endpoint_id || ',') = 0"),
        CLAIM_SQL("strpos($3, ',' || d.endpoint_id || ',') = 0"),
    };
    /* Another node may have read the same rows: its lease, taken first, makes this one touch
     * no row (PostgreSQL re-reads the row it waited for), and that delivery is left to it. */
    static const char *sql_lease = "UPDATE webhook_deliveries SET lease_until = $1 WHERE id = $2 "
                                   "AND (lease_until IS NULL OR lease_until < $3)";
    int64_t now = pl_now_ms();
    pl_rows_t *r;
    job_t *claimed[MAX_INFLIGHT];
    int n = 0, i, k = 0, rc = 0, lost = 0;
    if (pl_db_begin(db, PL_TX_WRITE, NULL) != 0)
        return -1;
    if (pl_db_query(db, &r, pl_db_sql(db, &sql),
                    PL_ARGS(PL_INT(now), PL_INT(room), PL_TEXT(busy), PL_INT(PER_ENDPOINT))) != 0) {
        pl_db_rollback(db);
        return -1;
    }
    while (n < room && pl_rows_next(r) == 1) {
        job_t *j;
        pl_buf_t b;
        char t[40];
        while (slots[k].url)
            k++;
        j = claimed[n++] = &slots[k++];
        snprintf(j->id, sizeof(j->id), "%s", pl_rows_text(r, 0));
        snprintf(j->tenant, sizeof(j->tenant), "%s", pl_rows_text(r, 1));
        snprintf(j->endpoint, sizeof(j->endpoint), "%s", pl_rows_text(r, 2));
        snprintf(j->event, sizeof(j->event), "%s", pl_rows_text(r, 3));
        j->attempts = pl_rows_int(r, 4);
        j->url = strdup(pl_rows_text(r, 5));
        j->secret = strdup(pl_rows_text(r, 6));
        pl_buf_init(&b, NULL);
        pl_buf_adds(&b, "{\"id\":\"");
        pl_buf_adds(&b, j->event);
        pl_buf_adds(&b, "\",\"type\":\"");
        pl_buf_add_json_escaped(&b, pl_rows_text(r, 7), strlen(pl_rows_text(r, 7)));
        pl_buf_adds(&b, "\",\"timestamp\":\"");
        pl_buf_adds(&b, pl_rfc3339(pl_rows_int(r, 9), t, sizeof(t)));
        pl_buf_adds(&b, "\",\"data\":");
        pl_buf_adds(&b, pl_rows_text(r, 8));
        pl_buf_addc(&b, '}');
        j->body = b.ptr;
    }
    pl_rows_close(r);
    for (i = 0; i < n && rc == 0; i++) {
        int got =
            pl_db_exec(db, sql_lease, PL_ARGS(PL_INT(now + lease_ms), PL_TEXT(claimed[i]->id), PL_INT(now)));
        if (got < 0)
            rc = -1;
        else if (got == 0) {
            job_free(claimed[i]);
            lost++;
        } else
            claimed[i]->lease_until = now + lease_ms;
    }
    if (rc == 0 && pl_db_commit(db) != 0)
        rc = -1;
    if (rc != 0) { /* not leased: not sent now; the next claim finds them again */
        pl_db_rollback(db);
        for (i = 0; i < n; i++)
            job_free(claimed[i]);
        return -1;
    }
    return n - lost;
}
/* The endpoint was switched off: webhook_endpoint.disabled is recorded by the commit step in
 * the same transaction (the notifications subscriber tells the tenant's admins). */
static int disabled(pl_op_t *op, job_t *j, const char *reason)
{
    json_t *ep = pl_webhook_endpoint_get(op->db, j->tenant, j->endpoint);
    pl_logf(PL_LOG_WARN, "webhook endpoint disabled", "%s (tenant %s): %s", j->endpoint, j->tenant, reason);
    if (ep == NULL)
        return PL_EDB;
    pl_op_record(
        op, &(pl_change_t){.action = "webhook_endpoint.disabled", .resource_id = j->endpoint, .after = ep});
    json_decref(ep);
    return 0;
}

/* The outcome of an attempt, on the system's behalf. When it cannot be written the delivery
 * stays leased and is sent again after the lease: at least once, never silently dropped. */
static void record(struct pl_webhooks *w, pl_db_t *db, job_t *j, long status, const char *why, int64_t ms)
{
    static const char *sql_ok =
        "UPDATE webhook_deliveries SET state = 'succeeded', attempts = attempts + 1, "
        "last_status = $2, last_duration_ms = $3, last_error = NULL, next_attempt_at = NULL, "
        "lease_until = NULL, updated_at = $4 WHERE id = $1";
    static const char *sql_ok_ep = "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1";
    static const char *sql_fail =
        "UPDATE webhook_deliveries SET state = $5, attempts = attempts + 1, last_status = $2, "
        "last_duration_ms = $3, last_error = $6, next_attempt_at = $7, lease_until = NULL, "
        "updated_at = $4 WHERE id = $1";
    static const char *sql_fail_ep =
        "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) "
        "WHERE id = $1 RETURNING failing_since";
    static const char *sql_disable =
        "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $2, "
        "updated_at = $3 WHERE id = $1 AND status = 'enabled'";
    int64_t now = pl_now_ms(), since = now, next = 0;
    bool ok = status >= 200 && status <= 299, last;
    pl_arena_t arena;
    pl_op_t op;
    int rc = 0;
    pl_arena_init(&arena);
    pl_op_init(&op, w->app, db, &arena);
    op.tenant_id = j->tenant;
    op.actor_type = "system";
    if (pl_op_begin(&op, PL_TX_WRITE, j->tenant) != 0) {
        pl_arena_release(&arena);
        pl_logf(PL_LOG_WARN, "a webhook outcome could not be recorded; it is retried after its lease", "%s",
                j->id);
        return;
    }
    if (ok) {
        if (pl_db_exec(db, sql_ok, PL_ARGS(PL_TEXT(j->id), PL_INT(status), PL_INT(ms), PL_INT(now))) != 1 ||
            pl_db_exec(db, sql_ok_ep, PL_ARGS(PL_TEXT(j->endpoint))) < 0)
            rc = PL_EDB;
    } else {
        last = j->attempts >= w->nschedule;
        if (!last) {
            int64_t base = w->schedule[j->attempts] * 1000;
            next =
                now + base + (int64_t)randombytes_uniform((uint32_t)(base / 10 + 1)); /* jitter up to 10% */
        }
        if (pl_db_exec(db, sql_fail,
                       PL_ARGS(PL_TEXT(j->id), status ? PL_INT(status) : PL_NULL_INT, PL_INT(ms), PL_INT(now),
                               PL_TEXT(last ? "failed" : "pending"), PL_TEXT(why),
                               last ? PL_NULL_INT : PL_INT(next))) != 1 ||
            pl_db_int(db, &since, sql_fail_ep, PL_ARGS(PL_TEXT(j->endpoint), PL_INT(now))) != 1)
            rc = PL_EDB;
        if (rc == 0 && now - since >= w->conf->disable_after * 1000) {
            int n = pl_db_exec(db, sql_disable,
                               PL_ARGS(PL_TEXT(j->endpoint), PL_TEXT(w->disable_reason), PL_INT(now)));
            rc = n < 0 ? PL_EDB : n == 1 ? disabled(&op, j, w->disable_reason) : 0;
        }
    }
    if (rc != 0)
        pl_op_abort(&op);
    else
        rc = pl_op_commit(&op);
    if (rc != 0)
        pl_logf(PL_LOG_WARN, "a webhook outcome could not be recorded; it is retried after its lease", "%s",
                j->id);
    pl_op_release(&op);
    pl_arena_release(&arena);
}

/* Renews the leases of the transfers in flight, in one transaction; a transfer whose lease
 * could not be renewed before it ran out is dropped unrecorded (another node may have taken
 * the delivery over; it is sent again, at least once). A node killed mid-transfer stops
 * renewing, so its deliveries are taken over one lease later, however long a request lasts. */
static void renew(pl_db_t *db, CURLM *multi, job_t *slots, int *inflight, int64_t lease_ms)
{
    static const char *sql =
        "UPDATE webhook_deliveries SET lease_until = $1 WHERE id = $2 AND lease_until = $3";
    int64_t now = pl_now_ms(), until = now + lease_ms;
    bool held[MAX_INFLIGHT] = {false};
    int i, rc = pl_db_begin(db, PL_TX_WRITE, NULL);
    for (i = 0; i < MAX_INFLIGHT && rc == 0; i++)
        if (slots[i].h) {
            int got = pl_db_exec(db, sql,
                                 PL_ARGS(PL_INT(until), PL_TEXT(slots[i].id), PL_INT(slots[i].lease_until)));
            rc = got < 0 ? -1 : 0;
            held[i] = got == 1;
        }
    if (rc == 0 && pl_db_commit(db) == 0) {
        for (i = 0; i < MAX_INFLIGHT; i++)
            if (slots[i].h)
                slots[i].lease_until = held[i] ? until : 0;
    } else {
        pl_db_rollback(db);
        pl_log(PL_LOG_WARN, "webhook sender: leases could not be renewed", NULL);
    }
    for (i = 0; i < MAX_INFLIGHT; i++)
        if (slots[i].h && slots[i].lease_until <= now) {
            pl_logf(PL_LOG_WARN, "webhook delivery dropped: its lease ran out", "%s", slots[i].id);
            curl_multi_remove_handle(multi, slots[i].h);
            job_free(&slots[i]);
            (*inflight)--;
        }
}

static void *sender_main(void *arg)
{
    sender_t *s = arg;
    struct pl_webhooks *w = s->w;
    pl_db_t *db;
    pl_err_t err;
    job_t *slots = calloc(MAX_INFLIGHT, sizeof(job_t));
    CURLM *multi = NULL;
    int inflight = 0, i;
    int64_t next_claim = 0, next_renew = 0, lease_ms = w->conf->lease * 1000;
    pl_err_clear(&err);
    if (slots == NULL)
        abort();
    if (pl_app_connect_cell(w->app, s->cell, &db, &err) != 0) {
        pl_logf(PL_LOG_ERROR, "webhook sender: no store connection", "cell %s", s->cell->name);
        free(slots);
        return NULL;
    }
    while (!pl_app_stopping(w->app)) {
        CURLMsg *msg;
        int left, running = 0;
        if (inflight < MAX_INFLIGHT && pl_mono_ms() >= next_claim) {
            pl_buf_t busy;
            int n;
            pl_buf_init(&busy, NULL);
            pl_buf_addc(&busy, ',');
            for (i = 0; i < MAX_INFLIGHT; i++)
                if (slots[i].h) {
                    pl_buf_adds(&busy, slots[i].endpoint);
                    pl_buf_addc(&busy, ',');
                }
            n = claim(db, slots, MAX_INFLIGHT - inflight, pl_buf_cstr(&busy), lease_ms);
            pl_buf_release(&busy);
            if (n > 0 && multi == NULL) {
                /* TLS libraries are initialised on the first delivery, not at start: a server
                 * without webhooks does not pay their memory */
                curl_global_init(CURL_GLOBAL_DEFAULT);
                multi = curl_multi_init();
            }
            for (i = 0; n > 0 && i < MAX_INFLIGHT; i++) {
                job_t *j = &slots[i];
                char why[256] = "";
                if (j->url == NULL || j->h)
                    continue;
                n--;
                if (prepare(w, j, why, sizeof(why)) != 0 || curl_multi_add_handle(multi, j->h) != CURLM_OK) {
                    record(w, db, j, 0, why[0] ? why : "the transfer could not be started", 0);
                    job_free(j);
                    continue;
                }
                inflight++;
            }
            if (inflight == 0)
                next_claim = pl_mono_ms() + 100; /* idle: look again in 100 ms */
        }
        if (multi == NULL) {
            usleep(100000);
            continue;
        }
        if (inflight > 0 && pl_mono_ms() >= next_renew) {
            renew(db, multi, slots, &inflight, lease_ms);
            next_renew = pl_mono_ms() + lease_ms / 3;
        } else if (inflight == 0)
            next_renew = pl_mono_ms() + lease_ms / 3;
        curl_multi_perform(multi, &running);
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            job_t *j = NULL;
            long status = 0;
            char why[256] = "";
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            if (msg->data.result == CURLE_OK) {
                curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &status);
                if (status < 200 || status > 299)
                    snprintf(why, sizeof(why), "the endpoint answered %ld", status);
            } else {
                snprintf(why, sizeof(why), "%s", curl_easy_strerror(msg->data.result));
            }
            curl_multi_remove_handle(multi, j->h);
            record(w, db, j, status, why, pl_mono_ms() - j->t0);
            job_free(j);
            inflight--;
        }
        /* wake on socket activity, or after 100 ms to claim new deliveries */
        curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    /* stopping: transfers in flight are dropped unrecorded; their leases expire and they are
     * sent again (at least once) */
    for (i = 0; i < MAX_INFLIGHT; i++) {
        if (slots[i].h && multi)
            curl_multi_remove_handle(multi, slots[i].h);
        job_free(&slots[i]);
    }
    free(slots);
    pl_db_close(db);
    if (multi) {
        curl_multi_cleanup(multi);
        curl_global_cleanup();
    }
    return NULL;
}

pl_webhooks_t *pl_webhook_sender_start(pl_app_t *app, const pl_webhooks_conf_t *conf, pl_err_t *err)
{
    struct pl_webhooks *w = calloc(1, sizeof(*w));
    const char *p;
    long d;
    if (w == NULL)
        abort();
    w->app = app;
    w->conf = conf;
    for (p = w->conf->retries; *p && w->nschedule < MAX_RETRIES;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || (*end && *end != ',')) {
            pl_err_set(err, PL_EINVAL, NULL, "--webhook-retries: '%s' is not a list of seconds",
                       w->conf->retries);
            free(w);
            return NULL;
        }
        w->schedule[w->nschedule++] = v;
        p = *end ? end + 1 : end;
    }
    d = w->conf->disable_after;
    if (d % 86400 == 0)
        snprintf(w->disable_reason, sizeof(w->disable_reason), "failing for %ld day%s", d / 86400,
                 d == 86400 ? "" : "s");
    else
        snprintf(w->disable_reason, sizeof(w->disable_reason), "failing for %ld second%s", d,
                 d == 1 ? "" : "s");
    pthread_mutex_init(&w->lock, NULL);
    return w;
}

int pl_webhook_sender_cell(pl_webhooks_t *w, const pl_cell_t *cell, pl_err_t *err)
{
    int rc = 0;
    pthread_mutex_lock(&w->lock);
    if (w->nsenders >= PL_MAX_CELLS) {
        rc = pl_err_set(err, PL_EINTERNAL, NULL, "too many cells");
    } else {
        sender_t *s = &w->senders[w->nsenders];
        s->w = w;
        s->cell = cell;
        if ((rc = pl_app_thread(&s->thread, sender_main, s, "webhook sender", err)) == 0)
            w->nsenders++;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void pl_webhook_sender_stop(pl_webhooks_t *w)
{
    int i;
    if (w == NULL)
        return;
    for (i = 0; i < w->nsenders; i++)
        pthread_join(w->senders[i].thread, NULL);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
