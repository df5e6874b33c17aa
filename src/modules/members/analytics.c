/*
 * analytics.c — engagement (daily active members, activity counts, activity segments),
 * retention (monthly join cohorts × months with activity) and revenue (per membership type
 * per month from prices). Aggregation runs in SQL over the tenant's rows; days and months
 * are UTC. Month labels are the one dialect-specific expression here (a pl_sql_t pair).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "modules/members/internal.h"
#include "core/banned.h"

#define DAY_MS 86400000LL

static int h_engagement(pl_ctx_t *c)
{
    static const char *sql_daily =
        "SELECT occurred_at / 86400000 AS day, COUNT(DISTINCT member_id), COUNT(*) "
        "FROM member_activities WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 "
        "GROUP BY day ORDER BY day";
    static const char *sql_segments =
        "SELECT CASE WHEN n >= 20 THEN 'highly_active' WHEN n >= 5 THEN 'moderately_active' ELSE "
        "'low_activity' END, "
        "COUNT(*) FROM (SELECT member_id, COUNT(*) AS n FROM member_activities WHERE tenant_id = $1 "
        "AND occurred_at >= $2 AND occurred_at < $3 GROUP BY member_id) AS per_member GROUP BY 1";
    static const char *sql_members =
        "SELECT COUNT(*) FROM members WHERE tenant_id = $1 AND deleted_at IS NULL";
    const char *tf = pl_query(c, "timeframe");
    int days = 30, i;
    int64_t now = pl_now_ms(), end = (now / DAY_MS + 1) * DAY_MS, start, members = 0, active = 0, acts = 0;
    json_t *daily = json_array(),
           *segments = json_pack("{s:i,s:i,s:i,s:i}", "highly_active", 0, "moderately_active", 0,
                                 "low_activity", 0, "inactive", 0);
    json_t *byday = json_object();
    pl_rows_t *r;
    char date[40];

    if (tf) {
        char *endp;
        long v = strtol(tf, &endp, 10);
        if (endp == tf || strcmp(endp, "d") != 0 || v < 1 || v > 366) {
            json_decref(daily);
            json_decref(segments);
            json_decref(byday);
            pl_err_field(&c->err, "timeframe", "must be a number of days from 1d to 366d, e.g. 30d");
            return PL_EINVAL;
        }
        days = (int)v;
    }
    start = end - (int64_t)days * DAY_MS;
    if (pl_db_query(c->db, &r, sql_daily, PL_ARGS(PL_TEXT(c->tenant_id), PL_INT(start), PL_INT(end))) == 0) {
        while (pl_rows_next(r) == 1) {
            char key[24];
            snprintf(key, sizeof(key), "%lld", (long long)pl_rows_int(r, 0));
            json_object_set_new(
                byday, key, json_pack("[I,I]", (json_int_t)pl_rows_int(r, 1), (json_int_t)pl_rows_int(r, 2)));
            acts += pl_rows_int(r, 2);
        }
        pl_rows_close(r);
    }
    for (i = 0; i < days; i++) {
        int64_t d = start / DAY_MS + i;
        char key[24];
        json_t *v;
        snprintf(key, sizeof(key), "%lld", (long long)d);
        v = json_object_get(byday, key);
        pl_rfc3339(d * DAY_MS, date, sizeof(date));
        date[10] = '\0';
        json_array_append_new(daily, json_pack("{s:s,s:I,s:I}", "date", date, "active_members",
                                               v ? json_integer_value(json_array_get(v, 0)) : 0, "activities",
                                               v ? json_integer_value(json_array_get(v, 1)) : 0));
    }
    json_decref(byday);
    if (pl_db_query(c->db, &r, sql_segments, PL_ARGS(PL_TEXT(c->tenant_id), PL_INT(start), PL_INT(end))) ==
        0) {
        while (pl_rows_next(r) == 1) {
            json_object_set_new(segments, pl_rows_text(r, 0), json_integer(pl_rows_int(r, 1)));
            active += pl_rows_int(r, 1);
        }
        pl_rows_close(r);
    }
    pl_db_int(c->db, &members, sql_members, PL_ARGS(PL_TEXT(c->tenant_id)));
    json_object_set_new(segments, "inactive", json_integer(members > active ? members - active : 0));
    return pl_reply(c, 200,
                    json_pack("{s:s%,s:o,s:o,s:o,s:{s:I,s:I,s:I},s:o}", "timeframe", tf ? tf : "30d",
                              tf ? strlen(tf) : 3, "from", pl_json_time(start), "to", pl_json_time(end),
                              "daily", daily, "totals", "members", (json_int_t)members, "active_members",
                              (json_int_t)active, "activities", (json_int_t)acts, "segments", segments));
}

static int months_param(pl_ctx_t *c, int *months)
{
    const char *v = pl_query(c, "months");
    char *end;
    long n;
    *months = 12;
    if (v == NULL)
        return 0;
    n = strtol(v, &end, 10);
    if (end == v || *end || n < 1 || n > 36) {
        pl_err_field(&c->err, "months", "must be an integer from 1 to 36");
        return PL_EINVAL;
    }
    *months = (int)n;
    return 0;
}

static int month_index(const char *label, int y0, int m0)
{
    int y, m;
    if (label == NULL || sscanf(label, "%d-%d", &y, &m) != 2)
        return -1;
    return (y - y0) * 12 + (m - m0);
}

static int h_retention(pl_ctx_t *c)
{
/* "YYYY-MM" of a millisecond timestamp column, UTC, per dialect */
#define MONTH_SQLITE(col) "strftime('%Y-%m', " col " / 1000, 'unixepoch')"
#define MONTH_PG(col) "to_char(to_timestamp(" col " / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM')"
#define SIZE_SQL(month)                                                                                      \
    "SELECT " month(                                                                                         \
        "joined_at") ", COUNT(*) FROM members "                                                              \
                     "WHERE tenant_id = $1 AND deleted_at IS NULL AND joined_at >= $2 GROUP BY 1"
#define KEPT_SQL(month)                                                                                      \
    "WITH cohort AS (SELECT id, " month(                                                                     \
        "joined_at") " AS c FROM members "                                                                   \
                     "WHERE tenant_id = $1 AND deleted_at IS NULL AND joined_at >= $2), "                    \
                     "act AS (SELECT DISTINCT member_id, " month(                                            \
                         "occurred_at") " AS m "                                                             \
                                        "FROM member_activities WHERE tenant_id = $1 AND occurred_at >= "    \
                                        "$2) "                                                               \
                                        "SELECT cohort.c, act.m, COUNT(*) FROM cohort JOIN act ON "          \
                                        "act.member_id = cohort.id AND act.m >= "                            \
                                        "cohort.c GROUP BY cohort.c, act.m"
    static const pl_sql_t sql_size = {SIZE_SQL(MONTH_SQLITE), SIZE_SQL(MONTH_PG)};
    static const pl_sql_t sql_kept = {KEPT_SQL(MONTH_SQLITE), KEPT_SQL(MONTH_PG)};
    int months, y0, m0, y, m, i, k;
    int64_t start;
    json_t *cohorts;
    long sizes[36] = {0}, kept[36][36];
    pl_rows_t *r;

    if (months_param(c, &months) != 0)
        return c->err.status;
    memset(kept, 0, sizeof(kept));
    pl_utc_month(pl_now_ms(), &y, &m);
    y0 = y;
    m0 = m - months + 1;
    while (m0 < 1) {
        m0 += 12;
        y0--;
    }
    start = pl_utc_ms(y0, m0, 1);
    if (pl_db_query(c->db, &r, pl_db_sql(c->db, &sql_size), PL_ARGS(PL_TEXT(c->tenant_id), PL_INT(start))) ==
        0) {
        while (pl_rows_next(r) == 1)
            if ((i = month_index(pl_rows_text(r, 0), y0, m0)) >= 0 && i < months)
                sizes[i] = (long)pl_rows_int(r, 1);
        pl_rows_close(r);
    }
    if (pl_db_query(c->db, &r, pl_db_sql(c->db, &sql_kept), PL_ARGS(PL_TEXT(c->tenant_id), PL_INT(start))) ==
        0) {
        while (pl_rows_next(r) == 1) {
            i = month_index(pl_rows_text(r, 0), y0, m0);
            k = month_index(pl_rows_text(r, 1), y0, m0) - i;
            if (i >= 0 && i < months && k >= 0 && i + k < months)
                kept[i][k] = (long)pl_rows_int(r, 2);
        }
        pl_rows_close(r);
    }
    cohorts = json_array();
    for (i = 0; i < months; i++) {
        json_t *ret = json_array(), *rates = json_array();
        char label[16];
        snprintf(label, sizeof(label), "%04d-%02d", y0 + (m0 - 1 + i) / 12, (m0 - 1 + i) % 12 + 1);
        for (k = 0; i + k < months; k++) {
            json_array_append_new(ret, json_integer(kept[i][k]));
            json_array_append_new(rates, json_real(sizes[i] ? (double)kept[i][k] / (double)sizes[i] : 0.0));
        }
        json_array_append_new(cohorts, json_pack("{s:s,s:i,s:o,s:o}", "cohort", label, "size", (int)sizes[i],
                                                 "retained", ret, "rates", rates));
    }
    return pl_reply(c, 200,
                    json_pack("{s:i,s:s,s:o}", "months", months, "unit",
                              "members of the cohort with at least one activity in month k after joining",
                              "cohorts", cohorts));
}

static int h_revenue(pl_ctx_t *c)
{
    static const char *sql =
        "SELECT mt.id, mt.name, mt.price_currency, CASE mt.interval WHEN 'year' THEN mt.price_amount / 12 "
        "ELSE mt.price_amount END, COUNT(m.id) FROM membership_types mt LEFT JOIN members m "
        "ON m.membership_type_id = mt.id AND m.tenant_id = mt.tenant_id AND m.status = 'active' "
        "AND m.joined_at < $2 AND (m.deleted_at IS NULL OR m.deleted_at >= $3) "
        "WHERE mt.tenant_id = $1 GROUP BY mt.id ORDER BY mt.name";
    int months, y, m, i;
    json_t *out = json_array();
    pl_rows_t *r;

    if (months_param(c, &months) != 0) {
        json_decref(out);
        return c->err.status;
    }
    pl_utc_month(pl_now_ms(), &y, &m);
    for (i = months - 1; i >= 0; i--) {
        int mm = m - i, yy = y;
        int64_t from, to;
        json_t *tiers = json_array(), *totals = json_object(), *tot_arr = json_array();
        const char *cur;
        json_t *amt;
        char label[16];
        while (mm < 1) {
            mm += 12;
            yy--;
        }
        from = pl_utc_ms(yy, mm, 1);
        to = pl_utc_ms(yy, mm + 1, 1);
        snprintf(label, sizeof(label), "%04d-%02d", yy, mm);
        if (pl_db_query(c->db, &r, sql, PL_ARGS(PL_TEXT(c->tenant_id), PL_INT(to), PL_INT(from))) == 0) {
            while (pl_rows_next(r) == 1) {
                int64_t monthly = pl_rows_int(r, 3), n = pl_rows_int(r, 4);
                const char *currency = pl_rows_text(r, 2);
                json_t *sum = json_object_get(totals, currency);
                json_array_append_new(tiers, json_pack("{s:s,s:s,s:I,s:{s:I,s:s}}", "membership_type_id",
                                                       pl_rows_text(r, 0), "name", pl_rows_text(r, 1),
                                                       "members", (json_int_t)n, "revenue", "amount",
                                                       (json_int_t)(monthly * n), "currency", currency));
                json_object_set_new(totals, currency,
                                    json_integer((sum ? json_integer_value(sum) : 0) + monthly * n));
            }
            pl_rows_close(r);
        }
        json_object_foreach(totals, cur, amt)
        {
            json_array_append_new(tot_arr, json_pack("{s:O,s:s}", "amount", amt, "currency", cur));
        }
        json_decref(totals);
        json_array_append_new(out,
                              json_pack("{s:s,s:o,s:o}", "month", label, "total", tot_arr, "tiers", tiers));
    }
    return pl_reply(c, 200,
                    json_pack("{s:i,s:s,s:o}", "months", months, "basis",
                              "active members per membership type × monthly price (yearly prices / 12)",
                              "data", out));
}

const pl_route_t pl_member_analytics_routes[] = {
    {"GET", "/v1/analytics/engagement", h_engagement, "analytics:read", PL_R_TENANT, NULL, 200,
     "Daily active members, activity counts and segments (timeframe=30d)", NULL, "basic_analytics"},
    {"GET", "/v1/analytics/retention", h_retention, "analytics:read", PL_R_TENANT, NULL, 200,
     "Monthly join cohorts × months retained (months=12)", NULL, "basic_analytics"},
    {"GET", "/v1/analytics/revenue", h_revenue, "analytics:read", PL_R_TENANT, NULL, 200,
     "Revenue per membership type per month (months=12)", NULL, "basic_analytics"},
    PL_ROUTES_END,
};
