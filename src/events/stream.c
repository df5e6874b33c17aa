/*
 * stream.c — Server-Sent Events (see stream.h).
 */
#include "events/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/cells.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/ctx.h"
#include "core/banned.h"

#define TICK_MS 250
#define HEARTBEAT_MS 15000
#define BACKLOG_MAX 10000

/* A commit position: events are read in (txid, seq) order, txid being the writing
 * transaction's id on PostgreSQL (0 on SQLite, where seq is commit order), and only below
 * the oldest running transaction: no event can later appear before a position read. Writers
 * on any node are seen in the order they committed. */
typedef struct pos {
    int64_t tx, seq;
} pos_t;

static bool after(pos_t a, pos_t b)
{
    return a.tx > b.tx || (a.tx == b.tx && a.seq > b.seq);
}

typedef struct stream {
    h2o_generator_t super;
    h2o_req_t *req;
    struct pl_streams *owner;
    char tenant[64];
    int cell;          /* the tenant's home cell: positions are that cell's */
    pos_t last;        /* the commit position of the last event written */
    pl_buf_t pending;  /* written but not yet handed to h2o */
    pl_buf_t inflight; /* handed to h2o, waiting for proceed */
    bool sending, closing, ended;
    int64_t last_write_ms;
    struct stream *prev, *next;
} stream_t;

struct pl_streams {
    pl_app_t *app;
    pl_thread_t *t;
    stream_t *head;
    int count;
    int in_cell[PL_MAX_CELLS];  /* streams per cell */
    pos_t cursor[PL_MAX_CELLS]; /* per cell: the commit position this worker has distributed up to */
    uint64_t auth_gen;          /* when it changes, a tenant may have moved: its streams end */
    h2o_timeout_t tick;
    h2o_timeout_entry_t entry;
};

static void flush(stream_t *s)
{
    h2o_iovec_t v;
    pl_buf_t t;
    if (s->sending || s->ended)
        return;
    if (s->pending.len == 0 && !s->closing)
        return;
    t = s->inflight;
    s->inflight = s->pending;
    s->pending = t;
    pl_buf_reset(&s->pending);
    s->sending = true;
    v = h2o_iovec_init(s->inflight.ptr ? s->inflight.ptr : "", s->inflight.len);
    if (s->closing) {
        s->ended = true;
        h2o_send(s->req, &v, v.len ? 1 : 0, H2O_SEND_STATE_FINAL);
    } else {
        h2o_send(s->req, &v, 1, H2O_SEND_STATE_IN_PROGRESS);
    }
}

/* One event as a Server-Sent Events frame, queued on the stream. */
static void frame(stream_t *s, pos_t at, const char *id, const char *type, const char *data)
{
    pl_buf_addf(&s->pending, "id: %s\nevent: %s\ndata: %s\n\n", id, type, data);
    s->last = at;
}

static void write_event(stream_t *s, pos_t at, const char *id, const char *type, const char *data)
{
    frame(s, at, id, type, data);
    s->last_write_ms = pl_mono_ms();
    flush(s);
}

static void unlink_stream(stream_t *s)
{
    struct pl_streams *o = s->owner;
    if (s->prev)
        s->prev->next = s->next;
    else if (o->head == s)
        o->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    o->count--;
    o->in_cell[s->cell]--;
}

static void on_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    stream_t *s = (stream_t *)g;
    (void)req;
    s->sending = false;
    pl_buf_reset(&s->inflight);
    if (!s->ended)
        flush(s);
}

static void on_stop(h2o_generator_t *g, h2o_req_t *req)
{
    stream_t *s = (stream_t *)g;
    (void)req;
    /* the client went away or the request is being disposed */
    s->ended = true;
}

static void release(void *p)
{
    stream_t *s = p;
    if (s->owner)
        unlink_stream(s);
    pl_buf_release(&s->pending);
    pl_buf_release(&s->inflight);
}

static void close_all(struct pl_streams *o)
{
    stream_t *s, *next;
    for (s = o->head; s; s = next) {
        next = s->next;
        if (!s->ended) {
            s->closing = true;
            flush(s);
        }
    }
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    static const pl_sql_t sql = {
        "SELECT seq, id, type, data, tenant_id, 0, imported FROM events WHERE seq > $2 AND $1 = $1 "
        "ORDER BY seq LIMIT 1000",
        "SELECT seq, id, type, data, tenant_id, txid::text::bigint, imported FROM events "
        "WHERE (txid, seq) > ($1::text::xid8, $2) AND txid < pg_snapshot_xmin(pg_current_snapshot()) "
        "ORDER BY txid, seq LIMIT 1000",
    };
    struct pl_streams *o = H2O_STRUCT_FROM_MEMBER(struct pl_streams, entry, entry);
    int64_t now = pl_mono_ms();
    stream_t *s;
    if (pl_app_stopping(o->app)) { /* the server stops: end every stream so connections drain */
        close_all(o);
        return;
    }
    if (o->head && o->auth_gen != pl_app_auth_gen(o->app)) {
        stream_t *next;
        /* the stream of a tenant whose data moved to another cell ends; the client reconnects
         * (EventSource does on its own) and resumes there from its Last-Event-ID */
        o->auth_gen = pl_app_auth_gen(o->app);
        for (s = o->head; s; s = next) {
            const pl_cell_t *home;
            next = s->next;
            if (!s->ended && pl_app_home(o->app, o->t->db, s->tenant, &home) == 0 && home->index != s->cell) {
                s->closing = true;
                flush(s);
            }
        }
    }
    if (o->head) {
        stream_t *next;
        size_t k;
        for (k = 0; k < pl_app_ncells(o->app); k++) {
            pl_rows_t *r;
            pl_db_t *db;
            if (o->in_cell[k] == 0 || pl_app_thread_db(o->app, o->t, pl_app_cell(o->app, k), &db) != 0)
                continue;
            /* one read of every tenant's new events of the cell for all of this thread's
             * streams there (control scope); each stream gets only its own tenant's */
            if (pl_db_begin(db, PL_TX_READ, NULL) == 0 &&
                pl_db_query(db, &r, pl_db_sql(db, &sql),
                            PL_ARGS(PL_INT(o->cursor[k].tx), PL_INT(o->cursor[k].seq))) == 0) {
                while (pl_rows_next(r) == 1) {
                    pos_t at = {pl_rows_int(r, 5), pl_rows_int(r, 0)};
                    const char *tenant = pl_rows_text(r, 4);
                    for (s = o->head; s && pl_rows_int(r, 6) == 0; s = next) {
                        next = s->next; /* a write may end the request and unlink s */
                        if (!s->ended && s->cell == (int)k && after(at, s->last) &&
                            strcmp(s->tenant, tenant) == 0)
                            write_event(s, at, pl_rows_text(r, 1), pl_rows_text(r, 2), pl_rows_text(r, 3));
                    }
                    o->cursor[k] = at;
                }
                pl_rows_close(r);
            }
            pl_db_rollback(db);
        }
        for (s = o->head; s; s = next) {
            next = s->next;
            if (!s->ended && now - s->last_write_ms >= HEARTBEAT_MS) {
                pl_buf_adds(&s->pending, ": heartbeat\n\n");
                s->last_write_ms = now;
                flush(s);
            }
        }
    }
    h2o_timeout_link(o->t->loop, &o->tick, &o->entry);
}

int pl_streams_worker_init(pl_app_t *app, pl_thread_t *t, void **slot)
{
    struct pl_streams *o = calloc(1, sizeof(*o));
    if (o == NULL)
        abort();
    o->app = app;
    o->t = t;
    h2o_timeout_init(t->loop, &o->tick, TICK_MS);
    o->entry.cb = on_tick;
    h2o_timeout_link(t->loop, &o->tick, &o->entry);
    *slot = o;
    return 0;
}

void pl_streams_worker_exit(pl_app_t *app, pl_thread_t *t, void *slot)
{
    struct pl_streams *o = slot;
    stream_t *s;
    (void)app;
    if (o == NULL)
        return;
    for (s = o->head; s; s = s->next)
        s->owner = NULL;
    if (h2o_timeout_is_linked(&o->entry))
        h2o_timeout_unlink(&o->entry);
    h2o_timeout_dispose(t->loop, &o->tick);
    free(o);
}

/* ---- GET /v1/stream ---- */

/* A position from a query of two columns (tx, seq); 1 found, 0 not, <0 error. */
static int read_pos(pl_db_t *db, const char *sql, const char *id, const char *tenant, pos_t *out)
{
    const pl_val_t args[2] = {PL_TEXT(id), PL_TEXT(tenant)};
    pl_rows_t *r;
    int rc;
    if (pl_db_query(db, &r, sql, id ? args : NULL, id ? 2 : 0) != 0)
        return PL_EDB;
    if ((rc = pl_rows_next(r)) == 1)
        *out = (pos_t){pl_rows_int(r, 0), pl_rows_int(r, 1)};
    pl_rows_close(r);
    return rc;
}

static int h_stream(pl_ctx_t *c)
{
    /* where the committed events end now: every event after it is read by the ticks */
    static const pl_sql_t sql_head = {
        "SELECT 0, COALESCE(MAX(seq), 0) FROM events",
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1, 9223372036854775807",
    };
    static const pl_sql_t sql_at = {
        "SELECT 0, seq FROM events WHERE id = $1 AND tenant_id = $2",
        "SELECT txid::text::bigint, seq FROM events WHERE id = $1 AND tenant_id = $2",
    };
    static const pl_sql_t sql_backlog = {
        "SELECT seq, id, type, data, 0 FROM events WHERE tenant_id = $1 AND seq > $3 AND $2 = $2 "
        "AND seq <= $5 AND $4 = $4 AND imported = 0 ORDER BY seq LIMIT $6",
        "SELECT seq, id, type, data, txid::text::bigint FROM events WHERE tenant_id = $1 "
        "AND (txid, seq) > ($2::text::xid8, $3) AND (txid, seq) <= ($4::text::xid8, $5) "
        "AND imported = 0 ORDER BY txid, seq LIMIT $6",
    };
    struct pl_streams *o = pl_app_slot(c->app, c->thread, &pl_events_module);
    ssize_t i = h2o_find_header_by_str(&c->req->headers, H2O_STRLIT("last-event-id"), -1);
    const char *last = i >= 0 ? pl_strndup(c->arena, c->req->headers.entries[i].value.base,
                                           c->req->headers.entries[i].value.len)
                              : pl_query(c, "last_event_id");
    pos_t head, from;
    stream_t *s;
    pl_rows_t *r;
    int cell;
    if (o == NULL)
        return pl_fail(c, PL_EUNAVAIL, NULL, "live streams are served by the HTTP workers only");
    if (read_pos(c->db, pl_db_sql(c->db, &sql_head), NULL, NULL, &head) != 1)
        return pl_fail(c, PL_EDB, NULL, "the event stream could not start");
    from = head;
    if (last && *last) {
        if (!pl_id_ok(last, "evt") ||
            read_pos(c->db, pl_db_sql(c->db, &sql_at), last, c->tenant_id, &from) != 1) {
            pl_err_field(&c->err, "Last-Event-ID", "is not an event of this organization");
            return PL_EINVAL;
        }
    }
    cell = c->cell ? c->cell->index : 0;
    if (o->in_cell[cell] == 0)
        o->cursor[cell] = head;
    s = h2o_mem_alloc_shared(c->arena, sizeof(*s), release);
    memset(s, 0, sizeof(*s));
    s->super.proceed = on_proceed;
    s->super.stop = on_stop;
    s->req = c->req;
    s->owner = o;
    snprintf(s->tenant, sizeof(s->tenant), "%s", c->tenant_id);
    s->cell = cell;
    s->last = from;
    s->last_write_ms = pl_mono_ms();
    pl_buf_init(&s->pending, NULL);
    pl_buf_init(&s->inflight, NULL);
    s->next = o->head;
    if (o->head)
        o->head->prev = s;
    o->head = s;
    o->count++;
    o->in_cell[cell]++;

    c->req->res.status = 200;
    c->req->res.reason = "OK";
    pl_header(c, "content-type", "text/event-stream; charset=utf-8");
    pl_header(c, "cache-control", "no-cache");
    pl_header(c, "x-accel-buffering", "no");
    pl_header(c, "x-request-id", c->request_id);
    h2o_start_response(c->req, &s->super);
    /* the retry hint, then what the client missed (up to the worker's cursor; the ticks send the rest) */
    pl_buf_adds(&s->pending, "retry: 3000\n\n");
    if (after(o->cursor[cell], from) &&
        pl_db_query(c->db, &r, pl_db_sql(c->db, &sql_backlog),
                    PL_ARGS(PL_TEXT(c->tenant_id), PL_INT(from.tx), PL_INT(from.seq),
                            PL_INT(o->cursor[cell].tx), PL_INT(o->cursor[cell].seq), PL_INT(BACKLOG_MAX))) ==
            0) {
        while (pl_rows_next(r) == 1)
            frame(s, (pos_t){pl_rows_int(r, 4), pl_rows_int(r, 0)}, pl_rows_text(r, 1), pl_rows_text(r, 2),
                  pl_rows_text(r, 3));
        pl_rows_close(r);
    }
    if (after(o->cursor[cell], s->last))
        s->last = o->cursor[cell];
    flush(s);
    c->detached = true;
    return 0;
}

const pl_route_t pl_stream_routes[] = {
    {"GET", "/v1/stream", h_stream, "events:read", PL_R_TENANT | PL_R_UNMETERED, NULL, 200,
     "The organization's events as Server-Sent Events (Last-Event-ID resumes)"},
    PL_ROUTES_END,
};
