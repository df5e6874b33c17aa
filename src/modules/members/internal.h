/*
 * internal.h — shared by the files of the members module only.
 */
#ifndef PL_MEMBERS_INTERNAL_H
#define PL_MEMBERS_INTERNAL_H

#include <jansson.h>

#include "core/jsonw.h"
#include "http/ctx.h"
#include "jobs/jobs.h"

#define PL_MEMBER_COLS                                                                                             \
    "id, first_name, last_name, email, phone, status, membership_type_id, joined_at, last_activity_at, "          \
    "attributes, created_at, updated_at, deleted_at, seq"

typedef struct pl_members_conf {
    long csv_job_threshold; /* rows above which POST exports and imports run as jobs */
} pl_members_conf_t;
const pl_members_conf_t *pl_members_conf(const pl_app_t *app);

extern const char *const pl_member_statuses[];
extern const pl_schema_t pl_member_create_schema;
extern const pl_route_t pl_member_routes[];
extern const pl_route_t pl_member_type_routes[];
extern const pl_route_t pl_member_bulk_routes[];
extern const pl_route_t pl_member_activity_routes[];
extern const pl_route_t pl_member_csv_routes[];
extern const pl_route_t pl_member_analytics_routes[];
extern const pl_job_kind_t pl_member_jobs[]; /* members.export, members.import (csv.c) */

/* The tenant's range of member row keys (seq), and the next free one; run inside the write
 * transaction that inserts, so two writers never take the same key. */
int pl_member_seq_range(pl_op_t *op, const char *tenant_id, int64_t *lo, int64_t *hi);
int pl_member_next_seq(pl_op_t *op, const char *tenant_id, int64_t *seq);
/* count consecutive keys at once (bulk inserts); *first is the lowest. */
int pl_member_take_seqs(pl_op_t *op, const char *tenant_id, int64_t count, int64_t *first);
/* A member row (PL_MEMBER_COLS) as the API shows it; deleted_at only when with_deleted.
 * pl_member_render writes the same object straight into a JSON writer (hot paths). */
json_t *pl_member_json(pl_rows_t *r, bool with_deleted);
void pl_member_render(pl_jw_t *w, pl_rows_t *r, bool with_deleted);
/* The domain functions below run on an operation (an HTTP request's &c->op, or a job's
 * j->op), in its tenant and open transaction; errors go to op->err. */

/* The member, or NULL (absent, deleted unless include_deleted, or another tenant's). */
json_t *pl_member_get(pl_op_t *op, const char *id, bool include_deleted);
/* 1 if the membership type exists in the operation's tenant, 0 if not, <0 on error. */
int pl_member_type_exists(pl_op_t *op, const char *id);
/* Validates and writes one member from a JSON object (create when id is NULL, else update).
 * Field errors go to op->err. Returns 0 or <0; *out_id receives the id of a created member. */
int pl_member_write(pl_op_t *op, const char *id, json_t *in, const char **out_id);
/* Filters of list and export, parsed from the query string. */
typedef struct pl_member_filter {
    const char *search;
    const char *status;
    const char *type_id;
    int64_t joined_after, joined_before; /* 0: none */
    bool include_deleted;
    const char *sort_col;                /* seq (creation order), last_name, joined_at, last_activity_at */
    bool desc;
    bool text_key;                       /* the sort column is text */
} pl_member_filter_t;
/* From query parameters (the request's, or those an export job recorded). */
int pl_member_filter_parse(pl_op_t *op, const pl_qparam_t *q, int nq, pl_member_filter_t *f);
/* Builds "SELECT <cols> FROM members WHERE … [AND keyset] ORDER BY … LIMIT $n" into sql and
 * its arguments into args (at most 16); after_key/after_id: the keyset position or NULL. */
int pl_member_select(pl_op_t *op, const pl_member_filter_t *f, const char *cols, bool count, const char *after_key,
                     const char *after_id, int limit, pl_buf_t *sql, pl_val_t *args);
/* Whether the operation's principal is an owner or admin. */
bool pl_is_admin(const pl_op_t *op);

#endif
