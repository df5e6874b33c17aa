/* The commit step, the job queue, the outbox and the HTTP pipeline on the fault-injecting
 * store: a statement or commit that fails at any point leaves no partial state, and a
 * request whose commit fails answers a problem, never a 2xx. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audit.h"
#include "core/typeid.h"
#include "app/op.h"
#include "app/outbox.h"
#include "app/sequence.h"
#include "http/http.h"
#include "jobs/jobs.h"
#include "modules/members/members.h"
#include "platform/platform.h"

static unit_app_t u;
static pl_db_t *db;

static int setup(void **state)
{
    pl_err_t e;
    (void)state;
    pl_err_clear(&e);
    if (unit_app_open_with(&u, NULL, 0, true, NULL) != 0 || pl_app_connect(u.app, &db, &e) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pl_db_close(db);
    return unit_app_close(&u);
}

static int64_t count(const char *sql)
{
    int64_t n = -1;
    assert_int_equal(pl_db_int(db, &n, sql, PL_NOARGS), 1);
    return n;
}

typedef struct {
    int64_t tenants, audit, events, jobs;
} counts_t;

static counts_t snapshot(void)
{
    counts_t c = {count("SELECT COUNT(*) FROM tenants"), count("SELECT COUNT(*) FROM audit_log"),
                  count("SELECT COUNT(*) FROM events"), count("SELECT COUNT(*) FROM jobs")};
    return c;
}

/* A failed operation left nothing: no tenant, audit entry, event or job. */
static void assert_unchanged(counts_t before, counts_t after)
{
    assert_int_equal(after.tenants, before.tenants);
    assert_int_equal(after.audit, before.audit);
    assert_int_equal(after.events, before.events);
    assert_int_equal(after.jobs, before.jobs);
}

static void plan(const pl_fault_plan_t *p)
{
    assert_int_equal(pl_fault_set(pl_app_store(u.app), p), 0);
}

/* One operation: a tenant, its tenant.created change, and a job enqueued with it. */
static int create_tenant(const char *name)
{
    pl_arena_t a;
    pl_op_t op;
    const char *id = NULL;
    json_t *after;
    int rc;
    pl_arena_init(&a);
    pl_op_init(&op, u.app, db, &a);
    op.actor_type = "cli";
    rc = pl_op_begin(&op, PL_TX_WRITE, NULL);
    if (rc == 0)
        rc = pl_tenant_create(db, &a, name, NULL, &id, &op.err);
    if (rc == 0 && pl_job_enqueue(u.app, db, id, "members.export", NULL, NULL, NULL, 0, 0, NULL) != 0)
        rc = pl_op_fail(&op, PL_EDB, NULL, "the job could not be queued");
    if (rc == 0) {
        after = pl_tenant_json(db, id);
        rc = after ? 0 : pl_op_fail(&op, PL_EDB, NULL, "the tenant could not be read back");
        pl_op_record(
            &op,
            &(pl_change_t){.action = "tenant.created", .tenant_id = id, .resource_id = id, .after = after});
        json_decref(after);
    }
    if (rc == 0)
        rc = pl_op_commit(&op);
    else
        pl_op_abort(&op);
    if (rc != 0)
        assert_int_not_equal(op.err.status, PL_OK); /* a failure always says why */
    pl_op_release(&op);
    pl_arena_release(&a);
    return rc;
}

static void test_commit_writes_all(void **state)
{
    counts_t before, after;
    (void)state;
    plan(&(pl_fault_plan_t){0});
    before = snapshot();
    assert_int_equal(create_tenant("All Or Nothing"), 0);
    after = snapshot();
    assert_int_equal(after.tenants, before.tenants + 1);
    assert_int_equal(after.audit, before.audit + 1);
    assert_int_equal(after.events, before.events + 1);
    assert_int_equal(after.jobs, before.jobs + 1);
}

/* Every statement of the operation, the commit step's included, fails in turn: each time
 * nothing of it is left. */
static void test_any_failed_statement_leaves_nothing(void **state)
{
    counts_t before, after;
    int64_t total, k;
    (void)state;
    plan(&(pl_fault_plan_t){0});
    assert_int_equal(create_tenant("Counting Statements"), 0);
    total = pl_fault_statements(pl_app_store(u.app));
    assert_true(total >= 6); /* domain writes, job, audit head + entry, sequence, event */
    for (k = 1; k <= total; k++) {
        char name[64];
        snprintf(name, sizeof(name), "Failing At %lld", (long long)k);
        before = snapshot();
        plan(&(pl_fault_plan_t){.fail_statement = k});
        assert_int_not_equal(create_tenant(name), 0);
        plan(&(pl_fault_plan_t){0});
        after = snapshot();
        assert_unchanged(before, after);
    }
    /* and the chains still verify: no half-appended entry */
    {
        FILE *devnull = fopen("/dev/null", "w");
        assert_int_equal(pl_audit_verify(db, NULL, devnull), 0);
        fclose(devnull);
    }
}

static void test_failed_commit_leaves_nothing(void **state)
{
    counts_t before, after;
    (void)state;
    before = snapshot();
    plan(&(pl_fault_plan_t){.fail_commit = 1});
    assert_int_not_equal(create_tenant("Commit Fails"), 0);
    plan(&(pl_fault_plan_t){0});
    after = snapshot();
    assert_unchanged(before, after);
    /* the next one commits and takes the next sequence numbers, not a gap left by the failure */
    assert_int_equal(create_tenant("After The Failure"), 0);
}

static void test_undeclared_event_and_changes_outside_tx(void **state)
{
    pl_arena_t a;
    pl_op_t op;
    counts_t before = snapshot(), after;
    (void)state;
    plan(&(pl_fault_plan_t){0});
    pl_arena_init(&a);
    pl_op_init(&op, u.app, db, &a);
    assert_int_equal(pl_op_begin(&op, PL_TX_WRITE, NULL), 0);
    pl_op_record(&op,
                 &(pl_change_t){.action = "thing.changed", .event = "thing.changed", .resource_id = "x"});
    assert_true(pl_op_commit(&op) < 0);
    assert_int_equal(op.err.status, PL_EINTERNAL);
    assert_false(pl_db_in_tx(db));
    pl_err_clear(&op.err);
    /* a change recorded with no transaction open is refused, not committed on its own */
    pl_op_record(&op, &(pl_change_t){.action = "tenant.updated", .resource_id = "x"});
    assert_true(pl_op_commit(&op) < 0);
    assert_int_equal(op.err.status, PL_EINTERNAL);
    pl_op_release(&op);
    pl_arena_release(&a);
    after = snapshot();
    assert_int_equal(after.audit, before.audit);
    assert_int_equal(after.events, before.events);
}

/* The queue keeps a job whose claim failed (busy or broken store), and a later claim gets it. */
static void test_job_claim_survives_store_failures(void **state)
{
    pl_arena_t a;
    pl_job_row_t row;
    char id[PL_TYPEID_MAX];
    (void)state;
    plan(&(pl_fault_plan_t){0});
    assert_true(pl_db_exec(db, "DELETE FROM jobs", PL_NOARGS) >= 0);
    assert_int_equal(pl_db_begin(db, PL_TX_WRITE, NULL), 0);
    assert_int_equal(pl_job_enqueue(u.app, db, "ten_q", "members.export", NULL, NULL, NULL, 0, 0, id), 0);
    assert_int_equal(pl_db_commit(db), 0);
    pl_arena_init(&a);
    /* statement 1 only looks whether anything is due (a failure there just tries the claim);
     * 2 claims, 3 moves the fairness clock */
    for (int64_t k = 2; k <= 3; k++) {
        plan(&(pl_fault_plan_t){.fail_statement = k});
        assert_true(pl_job_claim(db, &a, 60000, &row) <= 0);
        assert_false(pl_db_in_tx(db));
    }
    plan(&(pl_fault_plan_t){.busy_statement = 2});
    assert_true(pl_job_claim(db, &a, 60000, &row) <= 0);
    plan(&(pl_fault_plan_t){.fail_commit = 1});
    assert_true(pl_job_claim(db, &a, 60000, &row) <= 0);
    plan(&(pl_fault_plan_t){0});
    assert_int_equal(pl_job_claim(db, &a, 60000, &row), 1);
    assert_string_equal(row.id, id);
    assert_int_equal(row.attempts, 1); /* the failed claims did not count as attempts */
    pl_arena_release(&a);
}

/* A sequence taken in a transaction that rolls back is given again: per-tenant event
 * sequences have no gaps. */
static void test_outbox_sequence_rolls_back(void **state)
{
    int64_t seq = 0, again = 0;
    json_t *data = json_object();
    (void)state;
    plan(&(pl_fault_plan_t){0});
    assert_int_equal(pl_db_begin(db, PL_TX_WRITE, "ten_seq"), 0);
    assert_int_equal(pl_tenant_seq_next(db, "ten_seq", "events", &seq), 0);
    pl_db_rollback(db);
    assert_int_equal(pl_db_begin(db, PL_TX_WRITE, "ten_seq"), 0);
    plan(&(pl_fault_plan_t){.fail_statement = 2}); /* the sequence moves, the insert fails */
    assert_int_not_equal(pl_outbox_append(u.app, db, "ten_seq", "tenant.updated", data, NULL, NULL), 0);
    pl_db_rollback(db);
    plan(&(pl_fault_plan_t){0});
    assert_int_equal(pl_db_begin(db, PL_TX_WRITE, "ten_seq"), 0);
    assert_int_equal(pl_tenant_seq_next(db, "ten_seq", "events", &again), 0);
    pl_db_rollback(db);
    assert_int_equal(again, seq);
    json_decref(data);
}

/* ---- the pipeline, over HTTP ---- */

/* A server (platform, members, HTTP only: no background writer shares the plan) whose
 * first transaction that writes a membership type fails as the plan says. */
static void pipeline_case(const pl_fault_plan_t *p, const char *what)
{
    static const pl_module_t *const mods[] = {&pl_platform_module, &pl_members_module, &pl_http_module};
    static const char *const extra[] = {"--listen=127.0.0.1:0", "--workers=1", NULL};
    unit_app_t s;
    pl_db_t *c;
    pl_arena_t a;
    pl_err_t e;
    const char *tid;
    json_t *key = NULL;
    char url[512];
    unit_resp_t r;
    long status;
    int64_t n = -1;
    pl_err_clear(&e);
    assert_int_equal(unit_app_open_with(&s, mods, 3, true, extra), 0);
    assert_int_equal(pl_app_connect(s.app, &c, &e), 0);
    pl_arena_init(&a);
    assert_int_equal(pl_db_begin(c, PL_TX_WRITE, NULL), 0);
    assert_int_equal(pl_tenant_create(c, &a, "Pipeline Co", NULL, &tid, &e), 0);
    assert_int_equal(pl_apikey_create(c, &a, tid, "k", "admin", "test", &key, &e), 0);
    assert_int_equal(pl_db_commit(c), 0);
    assert_int_equal(pl_fault_set(pl_app_store(s.app), p), 0);
    assert_int_equal(pl_app_start(s.app, &e), 0);
    snprintf(url, sizeof(url), "%s/v1/membership-types", pl_app_public_url(s.app));

    status = unit_http(
        "POST", url, json_string_value(json_object_get(key, "key")),
        "{\"name\":\"Gold\",\"price\":{\"amount\":100,\"currency\":\"EUR\"},\"interval\":\"month\"}", &r);
    assert_true(status >= 500);
    assert_non_null(strstr(r.body, "\"status\":")); /* a problem document */
    assert_int_equal(pl_db_int(c, &n, "SELECT COUNT(*) FROM membership_types", PL_NOARGS), 1);
    assert_int_equal(n, 0);
    assert_int_equal(
        pl_db_int(c, &n, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'membership_type.%'", PL_NOARGS),
        1);
    assert_int_equal(n, 0);
    assert_int_equal(
        pl_db_int(c, &n, "SELECT COUNT(*) FROM events WHERE type LIKE 'membership_type.%'", PL_NOARGS), 1);
    assert_int_equal(n, 0);
    /* the plan fired once: the same request now succeeds, with its entry and event */
    status = unit_http(
        "POST", url, json_string_value(json_object_get(key, "key")),
        "{\"name\":\"Gold\",\"price\":{\"amount\":100,\"currency\":\"EUR\"},\"interval\":\"month\"}", &r);
    assert_int_equal(status, 201);
    assert_int_equal(
        pl_db_int(c, &n, "SELECT COUNT(*) FROM events WHERE type = 'membership_type.created'", PL_NOARGS), 1);
    assert_int_equal(n, 1);
    (void)what;
    json_decref(key);
    pl_arena_release(&a);
    pl_db_close(c);
    unit_app_close(&s);
}

static void test_pipeline_failed_commit_is_a_problem(void **state)
{
    (void)state;
    pipeline_case(&(pl_fault_plan_t){.fail_commit = 1, .only = "INTO membership_types"}, "commit");
}

static void test_pipeline_failed_statement_is_a_problem(void **state)
{
    (void)state;
    /* the insert itself runs, then the statement after it in the same transaction fails */
    pipeline_case(&(pl_fault_plan_t){.fail_statement = 2, .only = "membership_types"}, "statement");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_writes_all),
        cmocka_unit_test(test_any_failed_statement_leaves_nothing),
        cmocka_unit_test(test_failed_commit_leaves_nothing),
        cmocka_unit_test(test_undeclared_event_and_changes_outside_tx),
        cmocka_unit_test(test_job_claim_survives_store_failures),
        cmocka_unit_test(test_outbox_sequence_rolls_back),
        cmocka_unit_test(test_pipeline_failed_commit_is_a_problem),
        cmocka_unit_test(test_pipeline_failed_statement_is_a_problem),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests_name("commit", tests, setup, teardown);
}
