/* The SQLite driver: migrations, placeholders, transactions, conflicts, statement cache. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

static unit_app_t u;
static pl_store_t *store;

static int setup(void **state)
{
    (void)state;
    if (unit_app_open(&u, NULL) != 0)
        return -1;
    store = pl_app_store(u.app);
    return pl_app_migrations_applied(u.app) > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return unit_app_close(&u);
}

static void test_migrations_idempotent(void **state)
{
    pl_err_t e;
    int applied = -1;
    pl_db_t *db;
    (void)state;
    pl_err_clear(&e);
    assert_int_equal(pl_app_migrate(u.app, &applied, &e), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(pl_db_connect(store, &db, &e), 0);
    assert_int_equal(pl_app_pending_migrations(u.app, db), 0);
    pl_db_close(db);
}

static void test_exec_query_tx(void **state)
{
    static const char *ins = "INSERT INTO tenants (id, num, name, slug, created_at, updated_at) VALUES ($1, "
                             "(SELECT COALESCE(MAX(num), 0) + 1 FROM tenants), $2, $3, $4, $4)";
    static const char *sel = "SELECT name, created_at, suspended_at FROM tenants WHERE slug = $2 AND id = $1";
    static const char *cnt = "SELECT COUNT(*) FROM tenants WHERE name = $1";
    pl_err_t e;
    pl_db_t *db;
    pl_rows_t *r;
    int64_t n = -1;
    int i;
    (void)state;
    pl_err_clear(&e);
    assert_int_equal(pl_db_connect(store, &db, &e), 0);
    assert_int_equal(pl_db_begin(db, PL_TX_WRITE, NULL), 0);
    assert_int_equal(
        pl_db_exec(db, ins, PL_ARGS(PL_TEXT("ten_a"), PL_TEXT("A'; --"), PL_TEXT("a"), PL_INT(5))), 1);
    assert_int_equal(pl_db_commit(db), 0);
    /* placeholders out of order, NULL columns */
    assert_int_equal(pl_db_query(db, &r, sel, PL_ARGS(PL_TEXT("ten_a"), PL_TEXT("a"))), 0);
    assert_int_equal(pl_rows_next(r), 1);
    assert_string_equal(pl_rows_text(r, 0), "A'; --");
    assert_int_equal(pl_rows_int(r, 1), 5);
    assert_true(pl_rows_null(r, 2));
    assert_null(pl_rows_text(r, 2));
    assert_int_equal(pl_rows_next(r), 0);
    pl_rows_close(r);
    /* a uniqueness violation is a conflict, not a crash */
    assert_int_equal(pl_db_begin(db, PL_TX_WRITE, NULL), 0);
    assert_int_equal(pl_db_exec(db, ins, PL_ARGS(PL_TEXT("ten_b"), PL_TEXT("B"), PL_TEXT("a"), PL_INT(6))),
                     PL_ECONFLICT);
    pl_db_rollback(db);
    /* rollback discards */
    assert_int_equal(pl_db_begin(db, PL_TX_WRITE, NULL), 0);
    assert_int_equal(pl_db_exec(db, ins, PL_ARGS(PL_TEXT("ten_c"), PL_TEXT("C"), PL_TEXT("c"), PL_INT(7))),
                     1);
    pl_db_rollback(db);
    assert_int_equal(pl_db_int(db, &n, cnt, PL_ARGS(PL_TEXT("C"))), 1);
    assert_int_equal(n, 0);
    /* nested use of the same cached statement works */
    assert_int_equal(pl_db_query(db, &r, cnt, PL_ARGS(PL_TEXT("A'; --"))), 0);
    assert_int_equal(pl_db_int(db, &n, cnt, PL_ARGS(PL_TEXT("A'; --"))), 1);
    assert_int_equal(n, 1);
    assert_int_equal(pl_rows_next(r), 1);
    assert_int_equal(pl_rows_int(r, 0), 1);
    pl_rows_close(r);
    /* the cache serves repeated statements */
    for (i = 0; i < 1000; i++)
        assert_int_equal(pl_db_int(db, &n, cnt, PL_ARGS(PL_TEXT("A'; --"))), 1);
    /* nested transactions are refused */
    assert_int_equal(pl_db_begin(db, PL_TX_READ, NULL), 0);
    assert_int_not_equal(pl_db_begin(db, PL_TX_READ, NULL), 0);
    pl_db_rollback(db);
    /* a broken statement is an error, not a crash */
    assert_int_equal(pl_db_exec(db, "SELECT FROM nowhere", PL_NOARGS), PL_EDB);
    pl_db_close(db);
}

static void test_two_connections_see_commits(void **state)
{
    static const char *ins =
        "INSERT INTO tenants (id, num, name, slug, created_at, updated_at) VALUES ($1, 99, $1, $1, 1, 1)";
    static const char *cnt = "SELECT COUNT(*) FROM tenants WHERE id = $1";
    pl_err_t e;
    pl_db_t *w, *r;
    int64_t n = -1;
    (void)state;
    pl_err_clear(&e);
    assert_int_equal(pl_db_connect(store, &w, &e), 0);
    assert_int_equal(pl_db_connect(store, &r, &e), 0);
    assert_int_equal(pl_db_begin(w, PL_TX_WRITE, NULL), 0);
    assert_int_equal(pl_db_exec(w, ins, PL_ARGS(PL_TEXT("ten_z"))), 1);
    assert_int_equal(pl_db_int(r, &n, cnt, PL_ARGS(PL_TEXT("ten_z"))), 1);
    assert_int_equal(n, 0); /* not visible before commit */
    assert_int_equal(pl_db_commit(w), 0);
    assert_int_equal(pl_db_int(r, &n, cnt, PL_ARGS(PL_TEXT("ten_z"))), 1);
    assert_int_equal(n, 1);
    pl_db_close(w);
    pl_db_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_idempotent),
        cmocka_unit_test(test_exec_query_tx),
        cmocka_unit_test(test_two_connections_see_commits),
    };
    return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
