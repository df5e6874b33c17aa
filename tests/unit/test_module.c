/* A worked example of a module (docs/architecture.md, "Adding a module"): "notes" brings a
 * table (its own migrations), an option, an event type, a route and a usage meter, and plugs
 * in through its descriptor alone. The test runs it in a real server next to the platform and
 * shows what the kernel does for it: the option is parsed, the table migrated, the route
 * served with authentication, permission and body validation, the change committed with its
 * audit entry and its event, and the plan limit metered. */
#include "unit.h"

#include <string.h>

#include "http/ctx.h"
#include "http/http.h"
#include "platform/platform.h"

/* ---- the module (in the product: src/notes/notes.c, one line in src/module_list.c) ---- */

typedef struct {
    long max_length;
} notes_conf_t;

static const pl_option_t notes_options[] = {
    PL_OPTION_LONG(notes_conf_t, max_length, "--notes-max-length", "PLINTH_NOTES_MAX_LENGTH", 1, 100000,
                   "500", "longest note in characters (default 500)"),
    PL_OPTIONS_END,
};

/* In the product these live in src/notes/migrations/sqlite/0001_notes.sql (embedded by the
 * build, named with PL_MIGRATIONS_OF(notes)). */
static const pl_migration_t notes_sqlite[] = {
    {1, "0001_notes",
     "CREATE TABLE notes (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, body TEXT NOT NULL, created_at "
     "INTEGER "
     "NOT NULL);"},
    {0, NULL, NULL},
};
static const pl_migrations_t notes_migrations = {notes_sqlite, NULL};

static const pl_event_type_t notes_events[] = {
    {"note.created", "a note was written"},
    {NULL, NULL},
};

extern const pl_module_t notes_module;

static const pl_field_t note_fields[] = {
    {"body", PL_T_STRING, PL_F_REQUIRED, 1, 100000, NULL, NULL, "the text"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
static const pl_schema_t note_schema = {"NoteCreate", note_fields, false};

static json_t *note_json(pl_rows_t *r)
{
    return json_pack("{s:s,s:s,s:o}", "id", pl_rows_text(r, 0), "body", pl_rows_text(r, 1), "created_at",
                     pl_json_time(pl_rows_int(r, 2)));
}

/* The handler runs in the request's write transaction; it records its change and the
 * pipeline's commit step writes the audit entry and the note.created event with it. */
static int h_create(pl_ctx_t *c)
{
    static const char *sql = "INSERT INTO notes (id, tenant_id, body, created_at) VALUES ($1, $2, $3, $4) "
                             "RETURNING id, body, created_at";
    const notes_conf_t *conf = pl_conf(c, &notes_module);
    const char *body = pl_json_str(c->body, "body");
    if ((long)strlen(body) > conf->max_length) {
        pl_err_field(&c->err, "body", "is longer than %ld characters", conf->max_length);
        return PL_EINVAL;
    }
    if (pl_limit_check(&c->op, "notes", 1) != 0)
        return c->err.status;
    json_t *note = pl_query_one(
        c->db, note_json, sql,
        PL_ARGS(PL_TEXT(pl_new_id(c, "note")), PL_TEXT(c->tenant_id), PL_TEXT(body), PL_INT(1700000000000)));
    return pl_reply_change(c, 201, note ? pl_json_str(note, "id") : NULL, NULL, note);
}

static const pl_route_t note_routes[] = {
    {"POST", "/v1/notes", h_create, "members:write", PL_R_TENANT, &note_schema, 201, "Write a note",
     "note.created"},
    PL_ROUTES_END,
};
static const pl_route_t *const notes_tables[] = {note_routes, NULL};

static int64_t count_notes(pl_app_t *app, pl_db_t *db, const char *tenant_id)
{
    int64_t n = 0;
    (void)app;
    return pl_db_int(db, &n, "SELECT COUNT(*) FROM notes WHERE tenant_id = $1",
                     PL_ARGS(PL_TEXT(tenant_id))) == 1
               ? n
               : -1;
}

static const pl_usage_t notes_usage[] = {
    {"notes", count_notes},
    {NULL, NULL},
};

const pl_module_t notes_module = {
    .name = "notes",
    .routes = notes_tables,
    .options = notes_options,
    .conf_size = sizeof(notes_conf_t),
    .migrations = &notes_migrations,
    .events = notes_events,
    .usage = notes_usage,
};

/* ---- the test ---- */

static int64_t count(pl_db_t *db, const char *sql)
{
    int64_t n = -1;
    assert_int_equal(pl_db_int(db, &n, sql, PL_NOARGS), 1);
    return n;
}

static void test_notes_module(void **state)
{
    static const pl_module_t *const mods[] = {&pl_platform_module, &notes_module, &pl_http_module};
    static const char *const extra[] = {"--listen=127.0.0.1:0", "--workers=1", "--notes-max-length=10", NULL};
    unit_app_t s;
    pl_db_t *db;
    pl_arena_t a;
    pl_err_t e;
    const char *tid;
    json_t *key = NULL;
    const char *k;
    char url[512];
    unit_resp_t r;
    (void)state;
    pl_err_clear(&e);
    assert_int_equal(unit_app_open_with(&s, mods, 3, false, extra), 0);
    assert_int_equal(pl_app_connect(s.app, &db, &e), 0);
    /* its migration ran, under its own name */
    assert_int_equal(
        count(db, "SELECT COUNT(*) FROM schema_migrations WHERE owner = 'notes' AND version = 1"), 1);
    pl_arena_init(&a);
    assert_int_equal(pl_db_begin(db, PL_TX_WRITE, NULL), 0);
    assert_int_equal(pl_tenant_create(db, &a, "Notes Co", NULL, &tid, &e), 0);
    assert_int_equal(pl_apikey_create(db, &a, tid, "k", "editor", "test", &key, &e), 0);
    /* a plan limit of 1 note for this tenant */
    assert_true(pl_db_exec(db, "UPDATE tenants SET overrides = '{\"limits\":{\"notes\":1}}' WHERE id = $1",
                           PL_ARGS(PL_TEXT(tid))) == 1);
    assert_int_equal(pl_db_commit(db), 0);
    k = json_string_value(json_object_get(key, "key"));
    assert_int_equal(pl_app_start(s.app, &e), 0);
    snprintf(url, sizeof(url), "%s/v1/notes", pl_app_public_url(s.app));

    assert_int_equal(unit_http("POST", url, k, "{\"body\":\"hello\"}", &r), 201);
    assert_non_null(strstr(r.body, "\"body\":\"hello\""));
    /* the commit step wrote the audit entry and the event with the row */
    assert_int_equal(count(db, "SELECT COUNT(*) FROM notes"), 1);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'note.created'"), 1);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM events WHERE type = 'note.created'"), 1);
    /* its option (10 characters), the schema (unknown member), the meter (limit 1) */
    assert_int_equal(unit_http("POST", url, k, "{\"body\":\"far too long for it\"}", &r), 422);
    assert_int_equal(unit_http("POST", url, k, "{\"body\":\"x\",\"colour\":\"red\"}", &r), 422);
    assert_int_equal(unit_http("POST", url, k, "{\"body\":\"second\"}", &r), 403);
    assert_non_null(strstr(r.body, "limit_exceeded"));
    assert_int_equal(unit_http("POST", url, "pk_live_wrong", "{\"body\":\"x\"}", &r), 401);
    /* none of the refusals wrote anything */
    assert_int_equal(count(db, "SELECT COUNT(*) FROM notes"), 1);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM events WHERE type = 'note.created'"), 1);
    json_decref(key);
    pl_arena_release(&a);
    pl_db_close(db);
    unit_app_close(&s);
}

/* ---- start and stop: a failed start stops what had started, in reverse ---- */

typedef struct {
    char log[64];
} order_t;

static order_t order;

static int a_start(pl_app_t *app, pl_err_t *err)
{
    (void)app;
    (void)err;
    strcat(order.log, "+a");
    return 0;
}

static void a_stop(pl_app_t *app)
{
    (void)app;
    strcat(order.log, "-a");
}

static int b_start(pl_app_t *app, pl_err_t *err)
{
    (void)app;
    strcat(order.log, "+b");
    return 0;
}

static void b_stop(pl_app_t *app)
{
    (void)app;
    strcat(order.log, "-b");
}

static int c_start(pl_app_t *app, pl_err_t *err)
{
    (void)app;
    strcat(order.log, "+c!");
    return pl_err_set(err, PL_EINTERNAL, NULL, "c cannot start");
}

static void c_stop(pl_app_t *app)
{
    (void)app;
    strcat(order.log, "-c"); /* never: it did not start */
}

static const pl_module_t mod_a = {.name = "a", .start = a_start, .stop = a_stop};
static const pl_module_t mod_b = {.name = "b", .start = b_start, .stop = b_stop};
static const pl_module_t mod_c = {.name = "c", .start = c_start, .stop = c_stop};

static void test_failed_start_stops_the_started(void **state)
{
    static const pl_module_t *const ok[] = {&mod_a, &mod_b};
    static const pl_module_t *const bad[] = {&mod_a, &mod_b, &mod_c};
    unit_app_t s;
    pl_err_t e;
    (void)state;
    pl_err_clear(&e);
    memset(&order, 0, sizeof(order));
    assert_int_equal(unit_app_open_with(&s, bad, 3, false, NULL), 0);
    assert_int_not_equal(pl_app_start(s.app, &e), 0);
    assert_non_null(strstr(e.message, "c cannot start"));
    assert_string_equal(order.log, "+a+b+c!-b-a");
    unit_app_close(&s);
    assert_string_equal(order.log, "+a+b+c!-b-a"); /* nothing is stopped twice */

    memset(&order, 0, sizeof(order));
    pl_err_clear(&e);
    assert_int_equal(unit_app_open_with(&s, ok, 2, false, NULL), 0);
    assert_int_equal(pl_app_start(s.app, &e), 0);
    unit_app_close(&s); /* stops in reverse */
    assert_string_equal(order.log, "+a+b-b-a");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_notes_module),
                                       cmocka_unit_test(test_failed_start_stops_the_started)};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests_name("module", tests, NULL, NULL);
}
