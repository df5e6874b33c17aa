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

static int export_fill(pl_ctx_t *c, void *state, pl_buf_t *out)
{
    export_t *e = state;
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
    if (pl_db_query(c->db, &r, pl_buf_cstr(&sql), args, n) != 0)
        return PL_EDB;
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
    }
    pl_rows_close(r);
    if (rc < 0)
        return PL_EDB;
    if (rows == EXPORT_BATCH)
        return 1;
    if (!e->csv)
        pl_buf_adds(out, "]\n");
    return 0;
}

static int h_export(pl_ctx_t *c)
{
    export_t *e = pl_zalloc(c->arena, sizeof(*e));
    const char *format = pl_query(c, "format");
    if (format && strcmp(format, "csv") && strcmp(format, "json"))
        pl_err_field(&c->err, "format", "must be csv or json");
    if (pl_query(c, "sort") || pl_query(c, "cursor"))
        pl_err_field(&c->err, pl_query(c, "sort") ? "sort" : "cursor",
                     "exports are in creation order, in full");
    if (pl_member_filter_parse(c, &e->f) != 0)
        return c->err.status;
    e->csv = format == NULL || strcmp(format, "csv") == 0;
    if (e->csv)
        pl_header(c, "content-disposition", "attachment; filename=\"members.csv\"");
    return pl_reply_stream(c, 200, e->csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
                           export_fill, e);
}

/* ---- import ---- */

typedef struct {
    pl_ctx_t *c;
    long line; /* the line of the record being parsed */
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
    pl_err_t header_err;
} import_t;

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
    json_t *errs = json_array();
    int i;
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
    pl_ctx_t *c = im->c;
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
    } else if (im->header_err.status == PL_OK && im->row) {
        import_row(im);
    }
    json_decref(im->row);
    im->row = NULL;
    im->bad_utf8 = false;
    im->col = 0;
    im->line = im->next_line;
}

static int h_import(pl_ctx_t *c)
{
    h2o_iovec_t body = c->req->entity;
    ssize_t ct = h2o_find_header(&c->req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    const char *dry = pl_query(c, "dry_run");
    import_t *im = pl_zalloc(c->arena, sizeof(*im));
    struct csv_parser p;
    size_t i, start = 0;
    const char *need[] = {"first_name", "last_name", "email"};
    int k, rc = 0;
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
    im->c = c;
    im->dry_run = dry && (!strcmp(dry, "true") || !strcmp(dry, "1"));
    im->rejected = json_array();
    im->line = im->next_line = 1;
    pl_err_clear(&im->header_err);
    csv_init(&p, CSV_STRICT | CSV_APPEND_NULL | CSV_STRICT_FINI);
    /* feed line by line so every record knows the line it starts on */
    for (i = 0; i <= body.len && rc == 0; i++) {
        if (i == body.len || body.base[i] == '\n') {
            size_t end = i < body.len ? i + 1 : i;
            im->next_line++;
            if (csv_parse(&p, body.base + start, end - start, on_field, on_record, im) != end - start)
                rc = -1;
            start = end;
        }
    }
    if (rc == 0 && csv_fini(&p, on_field, on_record, im) != 0)
        rc = -1;
    if (rc != 0) {
        pl_err_set(&c->err, PL_EBADREQ, NULL, "malformed CSV near line %ld", im->line);
        pl_err_field(&c->err, "body", "malformed CSV near line %ld: %s", im->line,
                     csv_strerror(csv_error(&p)));
        csv_free(&p);
        json_decref(im->rejected);
        json_decref(im->row);
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
        json_decref(im->rejected);
        c->err = im->header_err;
        return PL_EINVAL;
    }
    out = json_pack("{s:b,s:I,s:I,s:I,s:I,s:o}", "dry_run", im->dry_run, "rows", (json_int_t)im->rows,
                    "created", (json_int_t)im->created, "updated", (json_int_t)im->updated, "rejected",
                    (json_int_t)json_array_size(im->rejected), "errors", im->rejected);
    if (im->dry_run)
        pl_tx_rollback(c); /* validated and written, then undone: the report is exact */
    return pl_reply(c, 200, out);
}

static const pl_field_t no_fields[] = {{NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};
static const pl_schema_t csv_body = {"MembersCsv", no_fields, true};

const pl_route_t pl_member_csv_routes[] = {
    {"GET", "/v1/members/export", h_export, "members:read", PL_R_TENANT, NULL, 200,
     "Export members (format=csv|json, with the list filters), streamed"},
    {"POST", "/v1/members/import", h_import, "members:write", PL_R_TENANT | PL_R_RAW_BODY, &csv_body, 200,
     "Import members from text/csv (dry_run=true to only validate)", "member.imported"},
    PL_ROUTES_END,
};
