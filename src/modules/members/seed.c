/*
 * seed.c — realistic members for demos and benchmarks: a handful of membership types,
 * members spread over two years with a plausible status mix, and activities over the last
 * year skewed towards a minority of very active members. Deterministic (a fixed-seed
 * generator), written in batches of one transaction each.
 */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/typeid.h"
#include "modules/members/internal.h"
#include "modules/members/members.h"
#include "core/banned.h"

#define BATCH 5000
#define DAY_MS 86400000LL

static const char *const first[] = {
    "Ada",     "Alan",    "Grace",  "Linus",  "Margaret", "Ken",   "Barbara",   "Dennis",
    "Frances", "Edsger",  "Radia",  "Tim",    "Hedy",     "John",  "Katherine", "Guido",
    "Sophie",  "Niklaus", "Joan",   "Bjarne", "Lovelace", "Mary",  "Yukihiro",  "Anita",
    "Donald",  "Shafi",   "Leslie", "Jean",   "Vint",     "Elena", "Ivan",      "Fatima"};
static const char *const last[] = {
    "Lovelace",   "Turing",   "Hopper",  "Torvalds",    "Hamilton", "Thompson",  "Liskov",  "Ritchie",
    "Allen",      "Dijkstra", "Perlman", "Berners-Lee", "Lamarr",   "McCarthy",  "Johnson", "van Rossum",
    "Wilson",     "Wirth",    "Clarke",  "Stroustrup",  "Keller",   "Matsumoto", "Borg",    "Knuth",
    "Goldwasser", "Lamport",  "Bartik",  "Cerf",        "Garcia",   "Petrov",    "Haddad",  "Okafor"};
static const struct {
    const char *name, *desc, *features, *interval;
    long price;
} tiers[] = {
    {"Basic", "Gym floor access", "[\"gym\"]", "month", 1999},
    {"Plus", "Gym and group classes", "[\"gym\",\"classes\"]", "month", 3999},
    {"Premium", "Everything, with a personal trainer session monthly",
     "[\"gym\",\"classes\",\"sauna\",\"personal_training\"]", "month", 6999},
    {"Family", "Two adults and their children, billed yearly", "[\"gym\",\"classes\",\"kids_club\"]", "year",
     99900},
    {"Student", "Off-peak gym access for students", "[\"gym\",\"off_peak\"]", "month", 999},
};
static const char *const activity_types[] = {"check_in",       "check_in", "check_in",  "class.booked",
                                             "class.attended", "purchase", "guest_pass"};

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int batch_end(pl_db_t *db, long done, long total, const pl_members_seed_t *o, pl_err_t *err)
{
    if (pl_db_commit(db) != 0)
        return pl_err_set(err, PL_EDB, NULL, "seeding failed: %s", pl_db_errmsg(db));
    if (o->progress)
        o->progress(done, total, o->arg);
    return 0;
}

int pl_members_seed(pl_op_t *op, const char *tenant_id, const pl_members_seed_t *o)
{
    pl_db_t *db = op->db;
    pl_err_t *err = &op->err;
    static const char *sql_type = "INSERT INTO membership_types (id, tenant_id, name, description, features, "
                                  "price_amount, price_currency, interval, created_at, updated_at) "
                                  "VALUES ($1, $2, $3, $4, $5, $6, 'EUR', $7, $8, $8) ON CONFLICT DO NOTHING";
    static const char *sql_types = "SELECT id FROM membership_types WHERE tenant_id = $1 ORDER BY id";
    static const char *sql_member =
        "INSERT INTO members (id, tenant_id, first_name, last_name, email, email_norm, "
        "phone, status, membership_type_id, joined_at, attributes, created_at, updated_at, seq) "
        "VALUES ($1, $2, $3, $4, $5, lower($5), $6, $7, $8, $9, $10, $11, $11, $12)";
    static const char *sql_pick = "SELECT id FROM members WHERE tenant_id = $1 AND deleted_at IS NULL "
                                  "ORDER BY id DESC LIMIT $2";
    static const char *sql_act =
        "INSERT INTO member_activities (id, tenant_id, member_id, type, occurred_at, "
        "properties, created_at) VALUES ($1, $2, $3, $4, $5, '{}', $6)";
    static const char *sql_last =
        "UPDATE members SET last_activity_at = COALESCE((SELECT MAX(occurred_at) FROM "
        "member_activities a WHERE a.tenant_id = members.tenant_id AND a.member_id = members.id), 0) "
        "WHERE tenant_id = $1 AND id >= $2 AND id <= $3";
    uint64_t rnd = 0x9e3779b97f4a7c15ULL;
    int64_t now = pl_now_ms();
    char type_ids[8][PL_TYPEID_MAX], id[PL_TYPEID_MAX];
    char(*mids)[PL_TYPEID_MAX] = NULL;
    int ntypes = 0, t;
    long i, total = o->members + o->activities, nmids = 0;
    int64_t seq = 0;
    pl_rows_t *r;
    int rc = 0;

    if (pl_db_begin(db, PL_TX_WRITE, tenant_id) != 0)
        return pl_err_set(err, PL_EDB, NULL, "seeding failed: %s", pl_db_errmsg(db));
    for (t = 0; t < o->tiers && t < 5; t++) {
        pl_typeid_new("mt", id);
        if (pl_db_exec(db, sql_type,
                       PL_ARGS(PL_TEXT(id), PL_TEXT(tenant_id), PL_TEXT(tiers[t].name),
                               PL_TEXT(tiers[t].desc), PL_TEXT(tiers[t].features), PL_INT(tiers[t].price),
                               PL_TEXT(tiers[t].interval), PL_INT(now))) < 0)
            goto db_fail;
    }
    if (pl_db_query(db, &r, sql_types, PL_ARGS(PL_TEXT(tenant_id))) != 0)
        goto db_fail;
    while (ntypes < 8 && pl_rows_next(r) == 1)
        snprintf(type_ids[ntypes++], PL_TYPEID_MAX, "%s", pl_rows_text(r, 0));
    pl_rows_close(r);

    if (o->members > 0 && pl_member_take_seqs(op, tenant_id, o->members, &seq) != 0)
        goto db_fail;
    for (i = 0; i < o->members; i++) {
        const char *fn = first[next(&rnd) % 32], *ln = last[next(&rnd) % 32];
        char email[160], phone[32], attrs[96];
        uint64_t s = next(&rnd) % 100;
        const char *status = s < 80 ? "active" : s < 88 ? "inactive" : s < 95 ? "pending" : "suspended";
        int64_t joined = now - (int64_t)(next(&rnd) % (730 * (uint64_t)DAY_MS));
        pl_typeid_new("mem", id);
        snprintf(email, sizeof(email), "%s.%s.%ld@members.example", fn, ln, i);
        snprintf(phone, sizeof(phone), "+49 30 %07ld", (long)(next(&rnd) % 10000000));
        snprintf(attrs, sizeof(attrs), "{\"source\":\"%s\",\"newsletter\":%s}",
                 next(&rnd) % 3 ? "walk-in" : "referral", next(&rnd) % 2 ? "true" : "false");
        if (pl_db_exec(db, sql_member,
                       PL_ARGS(PL_TEXT(id), PL_TEXT(tenant_id), PL_TEXT(fn), PL_TEXT(ln), PL_TEXT(email),
                               PL_TEXT(phone), PL_TEXT(status),
                               PL_TEXT(ntypes ? type_ids[next(&rnd) % (uint64_t)ntypes] : NULL),
                               PL_INT(joined), PL_TEXT(attrs), PL_INT(now), PL_INT(seq++))) < 0)
            goto db_fail;
        if ((i + 1) % BATCH == 0 &&
            (batch_end(db, i + 1, total, o, err) != 0 || pl_db_begin(db, PL_TX_WRITE, tenant_id) != 0))
            goto db_fail;
    }
    if (o->activities > 0) {
        /* activities go to the most recent members (at most 20,000) */
        long want = o->members < 20000 ? o->members : 20000;
        mids = calloc((size_t)(want ? want : 1), sizeof(*mids));
        if (mids == NULL)
            goto db_fail;
        if (pl_db_query(db, &r, sql_pick, PL_ARGS(PL_TEXT(tenant_id), PL_INT(want))) != 0)
            goto db_fail;
        while (nmids < want && pl_rows_next(r) == 1)
            snprintf(mids[nmids++], PL_TYPEID_MAX, "%s", pl_rows_text(r, 0));
        pl_rows_close(r);
    }
    for (i = 0; nmids && i < o->activities; i++) {
        /* half of all activity comes from 2% of the members, most of the rest from the next 18% */
        uint64_t pick = next(&rnd) % 100, r2 = next(&rnd);
        long hot = nmids / 50 + 1, warm = nmids / 5 + 1;
        long who = (long)(r2 % (uint64_t)(pick < 50 ? hot : pick < 80 ? warm : nmids));
        int64_t at = now - (int64_t)(next(&rnd) % (365 * (uint64_t)DAY_MS));
        pl_typeid_new("act", id);
        if (pl_db_exec(db, sql_act,
                       PL_ARGS(PL_TEXT(id), PL_TEXT(tenant_id), PL_TEXT(mids[who]),
                               PL_TEXT(activity_types[next(&rnd) % 7]), PL_INT(at), PL_INT(now))) < 0)
            goto db_fail;
        if ((i + 1) % BATCH == 0 && (batch_end(db, o->members + i + 1, total, o, err) != 0 ||
                                     pl_db_begin(db, PL_TX_WRITE, tenant_id) != 0))
            goto db_fail;
    }
    if (nmids &&
        pl_db_exec(db, sql_last, PL_ARGS(PL_TEXT(tenant_id), PL_TEXT(mids[nmids - 1]), PL_TEXT(mids[0]))) < 0)
        goto db_fail;
    rc = batch_end(db, total, total, o, err);
    free(mids);
    return rc;
db_fail:
    if (err->status == PL_OK)
        pl_err_set(err, PL_EDB, NULL, "seeding failed: %s", pl_db_errmsg(db));
    pl_db_rollback(db);
    free(mids);
    return PL_EDB;
}
