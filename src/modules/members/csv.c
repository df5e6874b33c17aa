/*
 * csv.c — members out and in: GET /v1/members/export streams every member matching the
 * list filters as CSV (RFC 4180) or JSON, in batches, without holding a transaction open;
 * POST /v1/members/import takes text/csv with a header row, creates or updates (by email)
 * each row, and reports created, updated and rejected rows with line numbers and reasons.
 * ?dry_run=true validates and reports without changing anything.
 */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "notifications/notifications.h"
#include "events/events.h"
#include "jobs/jobs.h"
#include "modules/members/internal.h"
#include "core/banned.h"

#define EXPORT_BATCH 500

static const char *const columns[] = {
    "id",        "first_name",       "last_name",  "email",      "phone",      "status", "membership_type_id",
    "joined_at", "last_activity_at", "attributes", "created_at", "updated_at", NULL};

/* ---- export ---- */

typedef struct {
    pl_member_filter_t f;
    bool csv;
    bool started;
    const char *last_id;
    const char *last_key; /* seq of the last row sent */
    int64_t rows;
} export_t;

static void csv_field(pl_buf_t *b, const char *s)
{
    const char *p;
    if (s == NULL)
        return;
    if (strpbrk(s, ",\"\r\n") == NULL) {
        pl_buf_adds(b, s);
        return;
    }
    pl_buf_addc(b, '"');
    for (p = s; *p; p++) {
        if (*p == '"')
            pl_buf_addc(b, '"');
        pl_buf_addc(b, *p);
    }
    pl_buf_addc(b, '"');
}

static void csv_member(pl_buf_t *b, json_t *m)
{
    int i;
    for (i = 0; columns[i]; i++) {
        json_t *v = json_object_get(m, columns[i]);
        if (i)
            pl_buf_addc(b, ',');
        if (json_is_string(v)) {
            csv_field(b, json_string_value(v));
        } else if (json_is_object(v)) {
            char *s = json_dumps(v, JSON_COMPACT);
            csv_field(b, s);
            free(s);
        }
    }
    pl_buf_adds(b, "\r\n");
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    pl_buf_add(data, buffer, size);
    return 0;
}

/* The next batch of the export into out: 1 (more follows), 0 (done) or <0. Runs on an
 * operation: the request's (streamed, outside its transaction) or the export job's. */
static int export_batch(pl_op_t *c, export_t *e, pl_buf_t *out)
{
    pl_val_t args[16];
    pl_buf_t sql;
    pl_rows_t *r;
    int n, rc, rows = 0;
    if (!e->started) {
        int i;
        e->started = true;
        if (e->csv) {
            for (i = 0; columns[i]; i++) {
                if (i)
                    pl_buf_addc(out, ',');
                pl_buf_adds(out, columns[i]);
            }
            pl_buf_adds(out, "\r\n");
        } else {
            pl_buf_addc(out, '[');
        }
    }
    pl_buf_init(&sql, c->arena);
    n = pl_member_select(c, &e->f, PL_MEMBER_COLS, false, e->last_key, e->last_id, EXPORT_BATCH, &sql, args);
    /* each batch is a read transaction of its own in the tenant's context */
    if (pl_db_begin(c->db, PL_TX_READ, c->tenant_id) != 0)
        return PL_EDB;
    if (pl_db_query(c->db, &r, pl_buf_cstr(&sql), args, n) != 0) {
        pl_db_rollback(c->db);
        return PL_EDB;
    }
    while ((rc = pl_rows_next(r)) == 1) {
        json_t *m = pl_member_json(r, e->f.include_deleted);
        if (e->csv) {
            csv_member(out, m);
        } else {
            if (e->last_id)
                pl_buf_addc(out, ',');
            json_dump_callback(m, dump_cb, out, JSON_COMPACT);
        }
        e->last_id = pl_strdup(c->arena, pl_json_str(m, "id"));
        e->last_key = pl_printf(c->arena, "%lld", (long long)pl_rows_int(r, 13));
        json_decref(m);
        rows++;
        e->rows++;
    }
    pl_rows_close(r);
    pl_db_rollback(c->db);
    if (rc < 0)
        return PL_EDB;
    if (rows == EXPORT_BATCH)
        return 1;
    if (!e->csv)
        pl_buf_adds(out, "]\n");
    return 0;
}

static int export_fill(pl_ctx_t *c, void *state, pl_buf_t *out)
{
    return export_batch(&c->op, state, out);
}

/* The export's format and filters from query parameters (the request's, or the job's). */
static export_t *export_parse(pl_op_t *c, const pl_qparam_t *q, int nq)
{
    export_t *e = pl_zalloc(c->arena, sizeof(*e));
    const char *format = pl_qparam(q, nq, "format");
    if (format && strcmp(format, "csv") && strcmp(format, "json"))
        pl_err_field(&c->err, "format", "must be csv or json");
    if (pl_qparam(q, nq, "sort") || pl_qparam(q, nq, "cursor"))
        pl_err_field(&c->err, pl_qparam(q, nq, "sort") ? "sort" : "cursor",
                     "exports are in creation order, in full");
    if (pl_member_filter_parse(c, q, nq, &e->f) != 0 || c->err.status != PL_OK)
        return NULL;
    e->csv = format == NULL || strcmp(format, "csv") == 0;
    return e;
}

static const char *export_type(const export_t *e)
{
    return e->csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8";
}

static int export_stream(pl_ctx_t *c, export_t *e)
{
    if (e->csv)
        pl_header(c, "content-disposition", "attachment; filename=\"members.csv\"");
    return pl_reply_stream(c, 200, export_type(e), export_fill, e);
}

static int h_export(pl_ctx_t *c)
{
    export_t *e = export_parse(&c->op, c->query, c->nquery);
    return e ? export_stream(c, e) : c->err.status;
}

/* ---- large exports and imports run as jobs ---- */

/* Queues the job (payload taken) and answers 202 with it and a Location header. */
static int reply_job(pl_ctx_t *c, const char *kind, json_t *payload)
{
    char id[PL_TYPEID_MAX];
    json_t *job;
    int rc;
    json_object_set_new(payload, "_role", json_string(c->principal->role));
    rc = pl_job_enqueue(c->app, c->db, c->tenant_id, kind, payload, pl_caller_id(c), NULL, 0, 3, id);
    json_decref(payload);
    if (rc != 0 || (job = pl_job_get(c->db, c->tenant_id, id)) == NULL)
        return pl_fail(c, PL_EDB, NULL, "the job could not be queued");
    pl_header(c, "location", pl_printf(c->arena, "/v1/jobs/%s", id));
    return pl_reply(c, 202, job);
}

static json_t *query_json(pl_ctx_t *c)
{
    json_t *q = json_object();
    int i;
    for (i = 0; i < c->nquery; i++)
        json_object_set_new(q, c->query[i].name, json_string(c->query[i].value));
    return q;
}

/* POST /v1/members/export: up to the threshold the file comes back at once (as GET); above it
 * an export job writes it and GET /v1/jobs/{id}/download serves it. */
static int h_export_post(pl_ctx_t *c)
{
    export_t *e = export_parse(&c->op, c->query, c->nquery);
    pl_buf_t sql;
    pl_val_t args[16];
    int64_t total = 0;
    int n;
    if (e == NULL)
        return c->err.status;
    pl_buf_init(&sql, c->arena);
    n = pl_member_select(&c->op, &e->f, NULL, true, NULL, NULL, 0, &sql, args);
    if (pl_db_int(c->db, &total, pl_buf_cstr(&sql), args, n) < 0)
        return pl_fail(c, PL_EDB, NULL, "the members could not be counted");
    if (total <= pl_members_conf(c->app)->csv_job_threshold) {
        pl_record(c, "members", NULL, NULL);
        return export_stream(c, e);
    }
    pl_record_change(c, (pl_change_t){.action = "member.export_queued", .resource_id = "members"});
    return reply_job(c, "members.export",
                     json_pack("{s:o,s:I}", "query", query_json(c), "total", (json_int_t)total));
}

/* The query parameters an export job recorded in its payload, as a parameter list. */
static int job_query(pl_job_t *j, pl_qparam_t **out)
{
    json_t *query = json_object_get(j->payload, "query"), *v;
    const char *k;
    int n = 0;
    *out = pl_zalloc(j->arena, sizeof(pl_qparam_t) * (json_object_size(query) + 1));
    json_object_foreach(query, k, v)
    {
        if (json_is_string(v)) {
            (*out)[n].name = pl_strdup(j->arena, k);
            (*out)[n].value = pl_strdup(j->arena, json_string_value(v));
            n++;
        }
    }
    return n;
}

/* Tells the user who asked for the job that it is done. */
static void notify_done(pl_job_t *j, const char *title, const char *body)
{
    json_t *data;
    if (j->created_by == NULL || strncmp(j->created_by, "usr_", 4) != 0)
        return;
    data = json_pack("{s:s,s:s}", "job_id", j->id, "kind", j->kind);
    if (pl_db_begin(j->db, PL_TX_WRITE, j->tenant_id) == 0) {
        if (pl_notify(&j->op, j->tenant_id, j->created_by, "job.finished", title, body, data) >= 0)
            pl_db_commit(j->db);
        else
            pl_db_rollback(j->db);
    }
    json_decref(data);
}

#define EXPORT_PART (1024 * 1024) /* bytes of a stored part of an export file */

static int run_export(pl_job_t *j)
{
    pl_qparam_t *q;
    int nq = job_query(j, &q);
    export_t *e;
    pl_buf_t out;
    pl_buf_t sql;
    pl_val_t args[16];
    char fields[256];
    int64_t total = 0, bytes = 0, parts = 0;
    int rc = 1, n;
    e = export_parse(&j->op, q, nq);
    if (e == NULL)
        return pl_job_fail(j, true, "the filters are no longer valid: %s", j->op.err.message);
    pl_buf_init(&sql, j->arena);
    n = pl_member_select(&j->op, &e->f, NULL, true, NULL, NULL, 0, &sql, args);
    pl_db_int_tx(j->db, j->tenant_id, &total, pl_buf_cstr(&sql), args, n);
    /* the file goes to the store in parts: any node serves the download */
    if (pl_job_file_reset(j) != 0)
        return pl_job_fail(j, false, "the export file could not be started");
    pl_buf_init(&out, NULL);
    while (rc == 1) {
        if (pl_job_stopping(j)) {
            rc = pl_job_fail(j, false, "the server stopped; the export starts again");
            break;
        }
        rc = export_batch(&j->op, e, &out);
        if (rc >= 0 && (out.len >= EXPORT_PART || (rc == 0 && out.len > 0))) {
            if (pl_job_file_append(j, parts, out.ptr, out.len) != 0)
                rc = pl_job_fail(j, false, "the export file could not be stored");
            else
                parts++, bytes += (int64_t)out.len, out.len = 0;
        }
        pl_job_progress(j, e->rows, total > e->rows ? total : e->rows, false);
    }
    pl_buf_release(&out);
    if (rc != 0) {
        pl_job_file_reset(j);
        return j->error[0] ? -1 : pl_job_fail(j, false, "the members could not be read");
    }
    pl_job_progress(j, e->rows, e->rows, true);
    j->result = json_pack("{s:I,s:I,s:s,s:s,s:s,s:I}", "rows", (json_int_t)e->rows, "bytes",
                          (json_int_t)bytes, "content_type", export_type(e), "filename",
                          e->csv ? "members.csv" : "members.json", "download_url",
                          pl_printf(j->arena, "/v1/jobs/%s/download", j->id), "_parts", (json_int_t)parts);
    snprintf(fields, sizeof(fields), "%lld members were exported.", (long long)e->rows);
    notify_done(j, "Your member export is ready", fields);
    return 0;
}

/* ---- import ---- */

typedef struct {
    pl_op_t *c; /* the request's operation, or the import job's */
    long line;  /* the line of the record being parsed */
    long next_line;
    int ncols;
    int col;
    int map[32]; /* column index → columns[] index, -1 unknown */
    json_t *row;
    bool bad_utf8; /* a field of the current record is not UTF-8 */
    bool header_done;
    bool dry_run;
    long created, updated, rows;
    json_t *rejected;
    long nrejected;
    pl_err_t header_err;
    pl_job_t *job; /* a background import: commits every IMPORT_BATCH rows */
    int64_t total; /* rows expected (progress) */
    bool failed;   /* a batch could not be committed: the rest is skipped */
} import_t;

#define IMPORT_BATCH 500
#define MAX_REPORTED 1000 /* rejected rows listed in a report; all are counted */

static const char *const importable[] = {"first_name",         "last_name", "email",      "phone", "status",
                                         "membership_type_id", "joined_at", "attributes", NULL};

static void on_field(void *data, size_t len, void *ctx)
{
    import_t *im = ctx;
    const char *s = data ? data : "";
    if (!im->header_done) {
        int i, k = -1;
        for (i = 0; columns[i]; i++)
            if (strlen(columns[i]) == len && memcmp(columns[i], s, len) == 0)
                k = i;
        if (im->ncols < 32)
            im->map[im->ncols] = k;
        if (k < 0)
            pl_err_field(&im->header_err, "header", "unknown column '%.*s'", (int)(len > 40 ? 40 : len), s);
        im->ncols++;
        return;
    }
    if (im->row == NULL)
        im->row = json_object();
    if (!pl_utf8_valid(s, len)) {
        im->bad_utf8 = true;
        im->col++;
        return;
    }
    if (im->col < im->ncols && im->col < 32 && im->map[im->col] >= 0 && len > 0) {
        const char *name = columns[im->map[im->col]];
        const char *const *imp;
        for (imp = importable; *imp && strcmp(*imp, name); imp++)
            ;
        if (*imp) {
            json_t *v = NULL;
            if (!strcmp(name, "attributes"))
                v = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL);
            if (v == NULL)
                v = json_stringn_nocheck(s, len);
            json_object_set_new(im->row, name, v);
        }
    }
    im->col++;
}

static void reject(import_t *im, pl_err_t *e)
{
    json_t *errs;
    int i;
    if (++im->nrejected > MAX_REPORTED)
        return;
    errs = json_array();
    for (i = 0; i < e->nfields; i++)
        json_array_append_new(
            errs, json_pack("{s:s,s:s}", "field", e->fields[i].field, "message", e->fields[i].message));
    if (e->nfields == 0)
        json_array_append_new(errs, json_pack("{s:s,s:s}", "field", "row", "message", e->message));
    json_array_append_new(im->rejected, json_pack("{s:I,s:o}", "line", (json_int_t)im->line, "errors", errs));
}

static void import_row(import_t *im)
{
    static const char *sql_find = "SELECT id FROM members WHERE tenant_id = $1 AND email_norm = lower($2) "
                                  "AND deleted_at IS NULL";
    pl_op_t *c = im->c;
    pl_err_t e;
    json_t *row = im->row;
    const char *email, *id = NULL;
    pl_rows_t *r;

    pl_err_clear(&e);
    im->rows++;
    if (im->col != im->ncols)
        pl_err_set(&e, PL_EINVAL, NULL, "the row has %d fields; the header has %d", im->col, im->ncols);
    else if (im->bad_utf8)
        pl_err_field(&e, "row", "is not valid UTF-8");
    if (e.status == PL_OK)
        pl_schema_validate(&pl_member_create_schema, row, &e);
    if (e.status != PL_OK) {
        reject(im, &e);
        return;
    }
    email = pl_json_str(row, "email");
    if (pl_db_query(c->db, &r, sql_find, PL_ARGS(PL_TEXT(c->tenant_id), PL_TEXT(email))) == 0) {
        if (pl_rows_next(r) == 1)
            id = pl_strdup(c->arena, pl_rows_text(r, 0));
        pl_rows_close(r);
    }
    pl_err_clear(&c->err);
    if (pl_member_write(c, id, row, NULL) != 0) {
        reject(im, &c->err);
        pl_err_clear(&c->err);
        return;
    }
    if (id)
        im->updated++;
    else
        im->created++;
}

static void on_record(int term, void *ctx)
{
    import_t *im = ctx;
    (void)term;
    if (!im->header_done) {
        im->header_done = true;
        if (im->ncols > 32)
            pl_err_field(&im->header_err, "header", "at most 32 columns");
    } else if (im->header_err.status == PL_OK && im->row && !im->failed) {
        import_row(im);
        if (im->job && im->rows % IMPORT_BATCH == 0) {
            /* a background import commits as it goes; a retry imports again by email */
            if (pl_db_commit(im->c->db) != 0 || pl_job_stopping(im->job) ||
                pl_db_begin(im->c->db, PL_TX_WRITE, im->c->tenant_id) != 0)
                im->failed = true;
            pl_job_progress(im->job, im->rows, im->total, false);
        }
    }
    json_decref(im->row);
    im->row = NULL;
    im->bad_utf8 = false;
    im->col = 0;
    im->line = im->next_line;
}

/* Parses data and imports every record in im->c's transaction. Returns 0, or PL_EBADREQ
 * (malformed CSV) / PL_EINVAL (bad header) with err filled. */
static int import_csv(import_t *im, const char *data, size_t len, pl_err_t *err)
{
    struct csv_parser p;
    size_t i, start = 0;
    const char *need[] = {"first_name", "last_name", "email"};
    int k, rc = 0;
    im->rejected = json_array();
    im->line = im->next_line = 1;
    pl_err_clear(&im->header_err);
    csv_init(&p, CSV_STRICT | CSV_APPEND_NULL | CSV_STRICT_FINI);
    /* feed line by line so every record knows the line it starts on */
    for (i = 0; i <= len && rc == 0; i++) {
        if (i == len || data[i] == '\n') {
            size_t end = i < len ? i + 1 : i;
            im->next_line++;
            if (csv_parse(&p, data + start, end - start, on_field, on_record, im) != end - start)
                rc = -1;
            start = end;
        }
    }
    if (rc == 0 && csv_fini(&p, on_field, on_record, im) != 0)
        rc = -1;
    json_decref(im->row);
    im->row = NULL;
    if (rc != 0) {
        pl_err_set(err, PL_EBADREQ, NULL, "malformed CSV near line %ld", im->line);
        pl_err_field(err, "body", "malformed CSV near line %ld: %s", im->line, csv_strerror(csv_error(&p)));
        csv_free(&p);
        return PL_EBADREQ;
    }
    csv_free(&p);
    for (k = 0; k < 3 && im->header_err.status == PL_OK; k++) {
        int j, found = 0;
        for (j = 0; j < im->ncols && j < 32; j++)
            if (im->map[j] >= 0 && !strcmp(columns[im->map[j]], need[k]))
                found = 1;
        if (!found)
            pl_err_field(&im->header_err, "header", "the column '%s' is required", need[k]);
    }
    if (im->header_err.status != PL_OK) {
        *err = im->header_err;
        return PL_EINVAL;
    }
    return 0;
}

static json_t *import_report(import_t *im)
{
    json_t *out = json_pack("{s:b,s:I,s:I,s:I,s:I,s:O}", "dry_run", im->dry_run, "rows", (json_int_t)im->rows,
                            "created", (json_int_t)im->created, "updated", (json_int_t)im->updated,
                            "rejected", (json_int_t)im->nrejected, "errors", im->rejected);
    if (im->nrejected > MAX_REPORTED)
        json_object_set_new(out, "errors_truncated", json_true());
    return out;
}

/* Data rows in a CSV body (lines after the header; a quoted field with line breaks counts
 * more than once, which only matters near the threshold). */
static int64_t count_rows(const char *data, size_t len)
{
    int64_t n = 0;
    size_t i;
    for (i = 0; i < len; i++)
        if (data[i] == '\n' && i + 1 < len)
            n++;
    return n;
}

static int h_import(pl_ctx_t *c)
{
    h2o_iovec_t body = c->req->entity;
    ssize_t ct = h2o_find_header(&c->req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    const char *dry = pl_query(c, "dry_run");
    import_t *im = pl_zalloc(c->arena, sizeof(*im));
    int64_t rows;
    int rc;
    json_t *out;

    if (ct < 0 || c->req->headers.entries[ct].value.len < 8 ||
        !h2o_lcstris(c->req->headers.entries[ct].value.base, 8, H2O_STRLIT("text/csv")))
        return pl_fail(c, PL_EMEDIA, NULL, "send the members as Content-Type: text/csv");
    if (dry && strcmp(dry, "true") && strcmp(dry, "false") && strcmp(dry, "1") && strcmp(dry, "0"))
        pl_err_field(&c->err, "dry_run", "must be true or false");
    if (body.len == 0)
        pl_err_field(&c->err, "body", "the CSV is empty; a header row is required");
    if (c->err.status != PL_OK)
        return c->err.status;
    im->c = &c->op;
    im->dry_run = dry && (!strcmp(dry, "true") || !strcmp(dry, "1"));
    rows = count_rows(body.base, body.len);
    if (!im->dry_run && rows > pl_members_conf(c->app)->csv_job_threshold) {
        /* a large import runs as a job: the upload waits in the store (any node runs the job),
         * written in the transaction that queues it */
        static const char *sql_up =
            "INSERT INTO job_files (job_id, tenant_id, part, data) VALUES ($1, $2, 0, $3)";
        char fid[PL_TYPEID_MAX];
        pl_typeid_new("imp", fid);
        if (pl_db_exec(c->db, sql_up,
                       PL_ARGS(PL_TEXT(fid), PL_TEXT(c->tenant_id), PL_BLOB(body.base, body.len))) != 1)
            return pl_fail(c, PL_EDB, NULL, "the upload could not be stored");
        /* member.imported comes from the job */
        pl_record_change(c, (pl_change_t){.action = "member.import_queued", .resource_id = "members"});
        return reply_job(c, "members.import",
                         json_pack("{s:s,s:I}", "_upload", fid, "rows", (json_int_t)rows));
    }
    rc = import_csv(im, body.base, body.len, &c->err);
    if (rc != 0) {
        json_decref(im->rejected);
        return rc;
    }
    out = import_report(im);
    json_decref(im->rejected);
    if (im->dry_run) {
        pl_tx_rollback(c); /* validated and written, then undone: the report is exact */
        return pl_reply(c, 200, out);
    }
    pl_record_change(c, (pl_change_t){.resource_type = "members", .after = out});
    return pl_reply(c, 200, out);
}

static int run_import(pl_job_t *j)
{
    static const char *sql_up =
        "SELECT data FROM job_files WHERE job_id = $1 AND tenant_id = $2 AND part = 0";
    import_t *im = pl_zalloc(j->arena, sizeof(*im));
    const char *upload = pl_json_str(j->payload, "_upload");
    char *data = NULL;
    size_t len = 0;
    int rc;
    json_t *report;
    pl_rows_t *r;
    if (upload == NULL)
        return pl_job_fail(j, true, "the job names no upload");
    if (pl_db_begin(j->db, PL_TX_READ, j->tenant_id) != 0 ||
        pl_db_query(j->db, &r, sql_up, PL_ARGS(PL_TEXT(upload), PL_TEXT(j->tenant_id))) != 0) {
        pl_db_rollback(j->db);
        return pl_job_fail(j, false, "the uploaded file could not be read");
    }
    if (pl_rows_next(r) == 1) {
        const void *p = pl_rows_blob(r, 0, &len);
        data = pl_alloc(j->arena, len + 1);
        memcpy(data, p ? p : "", len);
        data[len] = '\0';
    }
    pl_rows_close(r);
    pl_db_rollback(j->db);
    if (data == NULL)
        return pl_job_fail(j, true, "the uploaded file is gone");
    im->c = &j->op;
    im->job = j;
    im->total = json_integer_value(json_object_get(j->payload, "rows"));
    if (pl_op_begin(&j->op, PL_TX_WRITE, j->tenant_id) != 0)
        return pl_job_fail(j, false, "the store is busy");
    rc = import_csv(im, data, (size_t)len, &j->op.err);
    if (rc != 0 || im->failed) {
        pl_op_abort(&j->op);
        json_decref(im->rejected);
        if (rc != 0) /* malformed: retrying cannot help; the report says where */
            return pl_job_fail(j, true, "%s",
                               j->op.err.nfields ? j->op.err.fields[0].message : j->op.err.message);
        return pl_job_fail(j, false, "the import was interrupted after %ld rows; it runs again", im->rows);
    }
    report = import_report(im);
    json_decref(im->rejected);
    /* the audit entry, the member.imported event and the upload's removal commit with the
     * last batch */
    pl_op_record(&j->op,
                 &(pl_change_t){.action = "member.imported", .resource_type = "members", .after = report});
    if (pl_db_exec(j->db, "DELETE FROM job_files WHERE job_id = $1 AND tenant_id = $2",
                   PL_ARGS(PL_TEXT(upload), PL_TEXT(j->tenant_id))) < 0 ||
        pl_op_commit(&j->op) != 0) {
        pl_op_abort(&j->op);
        json_decref(report);
        return pl_job_fail(j, false, "the last batch could not be committed");
    }
    pl_job_progress(j, im->rows, im->rows, true);
    notify_done(j, "Your member import is finished",
                pl_printf(j->arena, "%ld rows: %ld created, %ld updated, %ld rejected.", im->rows,
                          im->created, im->updated, im->nrejected));
    j->result = report;
    return 0;
}

static const pl_field_t no_fields[] = {{NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};
static const pl_schema_t csv_body = {"MembersCsv", no_fields, true};

const pl_route_t pl_member_csv_routes[] = {
    {"GET", "/v1/members/export", h_export, "members:read", PL_R_TENANT, NULL, 200,
     "Export members (format=csv|json, with the list filters), streamed"},
    {"POST", "/v1/members/export", h_export_post, "members:read", PL_R_TENANT, NULL, 200,
     "Export members: streamed up to the job threshold, else 202 with an export job to download from",
     "member.exported"},
    {"POST", "/v1/members/import", h_import, "members:write", PL_R_TENANT | PL_R_RAW_BODY, &csv_body, 200,
     "Import members from text/csv (dry_run=true to only validate); above the job threshold 202 with a job",
     "member.imported"},
    PL_ROUTES_END,
};

const pl_job_kind_t pl_member_jobs[] = {
    {"members.export", run_export, 3},
    {"members.import", run_import, 3},
    {NULL, NULL, 0},
};
