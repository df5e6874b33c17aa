/* The job queue on a real SQLite store: fairness across tenants with 100,000 queued jobs,
 * retries with backoff, the dead letter, permanent failures, lease takeover, dedupe keys. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/typeid.h"
#include "events/events.h"
#include "jobs/jobs.h"
#include "store/store.h"

static unit_app_t u;
static pl_db_t *db;

static int setup(void **state)
{
    pl_err_t e;
    (void)state;
    pl_err_clear(&e);
    if (unit_app_open(&u, NULL) != 0 || pl_app_connect(u.app, &db, &e) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pl_db_close(db);
    return unit_app_close(&u);
}

static void enqueue(const char *tenant, const char *kind, int max_attempts, char *id)
{
    assert_int_equal(pl_job_enqueue(u.app, db, tenant, kind, NULL, NULL, NULL, 0, max_attempts, id), 0);
}

static void empty_queue(void)
{
    assert_int_equal(pl_db_exec(db, "DELETE FROM jobs", PL_NOARGS) >= 0, 1);
}

static const char *claim_tenant(pl_arena_t *a, pl_job_row_t *row)
{
    assert_int_equal(pl_job_claim(db, a, 60000, row), 1);
    return row->tenant_id;
}

static void test_fair_across_tenants(void **state)
{
    pl_arena_t a;
    pl_job_row_t row;
    char b_id[PL_TYPEID_MAX];
    int i, seen_c = 0, claims = 0;
    (void)state;
    empty_queue();
    /* tenant A queues 100,000 jobs, then B queues one */
    assert_int_equal(pl_db_begin(db, PL_TX_WRITE, NULL), 0);
    for (i = 0; i < 100000; i++)
        enqueue("ten_a", "work", 3, NULL);
    assert_int_equal(pl_db_commit(db), 0);
    enqueue("ten_b", "work", 3, b_id);
    pl_arena_init(&a);
    /* B's job is at most the second one claimed */
    for (i = 0; i < 2; i++)
        if (strcmp(claim_tenant(&a, &row), "ten_b") == 0)
            break;
    assert_true(i < 2);
    assert_string_equal(row.id, b_id);
    /* later arrivals too: C's three jobs interleave with A's backlog */
    for (i = 0; i < 10; i++)
        claim_tenant(&a, &row);
    for (i = 0; i < 3; i++)
        enqueue("ten_c", "work", 3, NULL);
    while (seen_c < 3 && claims < 100) {
        claims++;
        if (strcmp(claim_tenant(&a, &row), "ten_c") == 0)
            seen_c++;
    }
    assert_int_equal(seen_c, 3);
    assert_true(claims <= 6);
    pl_arena_release(&a);
}

static void test_retry_backoff_and_dead_letter(void **state)
{
    pl_arena_t a;
    pl_job_row_t row;
    char id[PL_TYPEID_MAX];
    int64_t run_at = 0, now;
    char state_s[16];
    pl_rows_t *r;
    int attempt;
    (void)state;
    empty_queue();
    enqueue(NULL, "flaky", 3, id);
    pl_arena_init(&a);
    for (attempt = 1; attempt <= 3; attempt++) {
        /* the retry is due after its backoff: make it due now */
        pl_db_exec(db, "UPDATE jobs SET run_at = 0 WHERE id = $1 AND state = 'queued'", PL_ARGS(PL_TEXT(id)));
        assert_int_equal(pl_job_claim(db, &a, 60000, &row), 1);
        assert_int_equal(row.attempts, attempt);
        now = pl_now_ms();
        assert_int_equal(pl_job_finish(db, &row, -1, "boom", false, NULL, 1000), 1);
        assert_int_equal(
            pl_db_query(db, &r, "SELECT state, run_at FROM jobs WHERE id = $1", PL_ARGS(PL_TEXT(id))), 0);
        assert_int_equal(pl_rows_next(r), 1);
        snprintf(state_s, sizeof(state_s), "%s", pl_rows_text(r, 0));
        run_at = pl_rows_int(r, 1);
        pl_rows_close(r);
        if (attempt < 3) {
            /* 1 s, then 2 s, each ±25% */
            int64_t base = attempt == 1 ? 1000 : 2000;
            assert_string_equal(state_s, "queued");
            assert_true(run_at >= now + base * 3 / 4 && run_at <= pl_now_ms() + base * 5 / 4 + 1);
            assert_int_equal(pl_job_claim(db, &a, 60000, &row), 0); /* not due yet */
        } else {
            assert_string_equal(state_s, "dead");
        }
    }
    /* a permanent failure is not retried */
    enqueue(NULL, "broken", 5, id);
    assert_int_equal(pl_job_claim(db, &a, 60000, &row), 1);
    assert_int_equal(pl_job_finish(db, &row, -1, "bad input", true, NULL, 1000), 1);
    assert_int_equal(pl_db_int(db, &run_at, "SELECT count(*) FROM jobs WHERE id = $1 AND state = 'failed'",
                               PL_ARGS(PL_TEXT(id))),
                     1);
    assert_int_equal(run_at, 1);
    pl_arena_release(&a);
}

static void test_lease_takeover(void **state)
{
    pl_arena_t a;
    pl_job_row_t first, second;
    int64_t n = 0;
    (void)state;
    empty_queue();
    enqueue("ten_a", "slow", 5, NULL);
    pl_arena_init(&a);
    /* a runner claims it with a lease that has already run out (its process died) */
    assert_int_equal(pl_job_claim(db, &a, -1, &first), 1);
    assert_int_equal(pl_job_claim(db, &a, 60000, &second), 0);
    assert_int_equal(pl_job_reap(db), 1);
    assert_int_equal(pl_job_claim(db, &a, 60000, &second), 1);
    assert_string_equal(second.id, first.id);
    assert_int_equal(second.attempts, 2);
    /* the first runner comes back late: its outcome no longer counts */
    assert_int_equal(pl_job_finish(db, &first, 0, NULL, false, NULL, 1000), 0);
    assert_int_equal(pl_job_finish(db, &second, 0, NULL, false, "{\"ok\":true}", 1000), 1);
    assert_int_equal(pl_db_int(db, &n, "SELECT count(*) FROM jobs WHERE state = 'succeeded' AND result = $1",
                               PL_ARGS(PL_TEXT("{\"ok\":true}"))),
                     1);
    assert_int_equal(n, 1);
    /* a job whose last attempt died is dead, not queued forever */
    enqueue("ten_a", "slow", 1, NULL);
    assert_int_equal(pl_job_claim(db, &a, -1, &first), 1);
    assert_int_equal(pl_job_reap(db), 1);
    assert_int_equal(pl_db_int(db, &n, "SELECT count(*) FROM jobs WHERE state = 'dead'", PL_NOARGS), 1);
    assert_int_equal(n, 1);
    pl_arena_release(&a);
}

static void test_dedupe_key(void **state)
{
    char id1[PL_TYPEID_MAX], id2[PL_TYPEID_MAX];
    int64_t n = 0;
    (void)state;
    empty_queue();
    assert_int_equal(pl_job_enqueue(u.app, db, "ten_a", "subscriber", NULL, NULL, "sub:x:evt_1", 0, 3, id1),
                     0);
    assert_int_equal(pl_job_enqueue(u.app, db, "ten_a", "subscriber", NULL, NULL, "sub:x:evt_1", 0, 3, id2),
                     0);
    assert_true(id1[0] != '\0');
    assert_int_equal(id2[0], '\0');
    assert_int_equal(pl_db_int(db, &n, "SELECT count(*) FROM jobs", PL_NOARGS), 1);
    assert_int_equal(n, 1);
}

static void test_event_patterns(void **state)
{
    static const char *const p[] = {"member.*", "tenant.suspended", NULL};
    static const char *const all[] = {"*", NULL};
    (void)state;
    assert_true(pl_event_matches(p, "member.created"));
    assert_true(pl_event_matches(p, "tenant.suspended"));
    assert_false(pl_event_matches(p, "tenant.updated"));
    assert_false(pl_event_matches(p, "membership_type.created"));
    assert_true(pl_event_matches(all, "anything.at_all"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fair_across_tenants), cmocka_unit_test(test_retry_backoff_and_dead_letter),
        cmocka_unit_test(test_lease_takeover),      cmocka_unit_test(test_dedupe_key),
        cmocka_unit_test(test_event_patterns),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
