/* Body parsing (depth, UTF-8, duplicates) and schema validation. */
#include "unit.h"

#include <string.h>

#include "core/json.h"

static void test_depth(void **state)
{
    (void)state;
    assert_int_equal(pl_json_depth("{}", 2), 1);
    assert_int_equal(pl_json_depth("{\"a\":[[{}]]}", 12), 4);
    assert_int_equal(pl_json_depth("{\"a\":\"[[[[\"}", 12), 1); /* brackets in strings do not count */
    assert_int_equal(pl_json_depth("{\"a\":\"\\\"[[\"}", 13), 1);
}

static void test_parse_body(void **state)
{
    json_t *j = NULL;
    pl_err_t e;
    char deep[200];
    (void)state;
    pl_err_clear(&e);
    assert_int_equal(pl_json_parse_body("{\"a\":1}", 7, &j, &e), 0);
    json_decref(j);
    pl_err_clear(&e);
    assert_int_equal(pl_json_parse_body("{\"a\":1,\"a\":2}", 13, &j, &e), PL_EBADREQ);
    pl_err_clear(&e);
    assert_int_equal(pl_json_parse_body("[1]", 3, &j, &e), PL_EBADREQ);
    pl_err_clear(&e);
    assert_int_equal(pl_json_parse_body("{\"a\":\"\xff\"}", 9, &j, &e), PL_EBADREQ);
    assert_string_equal(e.fields[0].field, "body");
    pl_err_clear(&e);
    memset(deep, '[', 70);
    memcpy(deep, "{\"a\":", 5);
    assert_int_equal(pl_json_parse_body(deep, 70, &j, &e), PL_EBADREQ);
    assert_non_null(strstr(e.message, "deeper"));
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(pl_utf8_valid("héllo 🚀", strlen("héllo 🚀")));
    assert_false(pl_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(pl_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(pl_utf8_valid("\xe2\x82", 2));         /* truncated */
    assert_false(pl_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    assert_int_equal(pl_utf8_chars("héllo", strlen("héllo")), 5);
}

static void test_email(void **state)
{
    (void)state;
    assert_true(pl_email_valid("a@b.co"));
    assert_true(pl_email_valid("first.last+tag@sub.example.org"));
    assert_false(pl_email_valid("a@b"));
    assert_false(pl_email_valid("@b.co"));
    assert_false(pl_email_valid("a@@b.co"));
    assert_false(pl_email_valid("a b@c.co"));
    assert_false(pl_email_valid("a@b..co"));
    assert_false(pl_email_valid("a@.b.co"));
}

static const char *no_x(const char *v)
{
    return strchr(v, 'x') ? "must not contain x" : NULL;
}

static const char *const colours[] = {"red", "green", NULL};
static const pl_field_t inner_fields[] = {
    {"n", PL_T_INT, PL_F_REQUIRED, 1, 10, NULL, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
static const pl_schema_t inner = {"Inner", inner_fields, false};
static const pl_field_t fields[] = {
    {"name", PL_T_STRING, PL_F_REQUIRED, 2, 5, NULL, NULL, NULL, no_x},
    {"colour", PL_T_ENUM, 0, 0, 0, colours, NULL, NULL, NULL},
    {"tags", PL_T_ARRAY, 0, 0, 3, NULL, NULL, NULL, NULL},
    {"inner", PL_T_OBJECT, PL_F_NULLABLE, 0, 0, NULL, &inner, NULL, NULL},
    {"ok", PL_T_BOOL, 0, 0, 0, NULL, NULL, NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};
static const pl_schema_t schema = {"Thing", fields, false};

static int validate(const char *text, pl_err_t *e)
{
    json_t *j = json_loads(text, 0, NULL);
    int rc;
    pl_err_clear(e);
    rc = pl_schema_validate(&schema, j, e);
    json_decref(j);
    return rc;
}

static void test_schema(void **state)
{
    pl_err_t e;
    (void)state;
    assert_int_equal(
        validate("{\"name\":\"abc\",\"colour\":\"red\",\"tags\":[\"a\"],\"inner\":{\"n\":3},\"ok\":true}",
                 &e),
        0);
    assert_int_equal(validate("{\"name\":\"abc\",\"inner\":null}", &e), 0);
    assert_int_equal(validate("{}", &e), PL_EINVAL);
    assert_string_equal(e.fields[0].field, "name");
    assert_int_equal(validate("{\"name\":\"abxc\"}", &e), PL_EINVAL);
    assert_string_equal(e.fields[0].message, "must not contain x");
    assert_int_equal(
        validate("{\"name\":\"a\",\"colour\":\"blue\",\"tags\":[1],\"inner\":{\"n\":11,\"m\":1},\"ok\":1,"
                 "\"zzz\":0}",
                 &e),
        PL_EINVAL);
    assert_int_equal(e.nfields, 7);
    assert_string_equal(e.fields[3].field, "inner.n");
    assert_string_equal(e.fields[4].field, "inner.m");
    assert_string_equal(e.fields[6].field, "zzz");
}

static void test_openapi_schema(void **state)
{
    json_t *o = pl_schema_openapi(&schema);
    (void)state;
    assert_string_equal(json_string_value(json_object_get(o, "type")), "object");
    assert_int_equal(json_array_size(json_object_get(o, "required")), 1);
    assert_non_null(json_object_get(json_object_get(o, "properties"), "inner"));
    assert_true(json_is_false(json_object_get(o, "additionalProperties")));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth),  cmocka_unit_test(test_parse_body),
        cmocka_unit_test(test_utf8),   cmocka_unit_test(test_email),
        cmocka_unit_test(test_schema), cmocka_unit_test(test_openapi_schema),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
