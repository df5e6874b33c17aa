/* clock (RFC 3339), buf, err, config and crypto helpers. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/err.h"

static void test_rfc3339(void **state)
{
    char buf[40];
    int64_t ms;
    (void)state;
    assert_string_equal(pl_rfc3339(0, buf, sizeof(buf)), "1970-01-01T00:00:00.000Z");
    assert_string_equal(pl_rfc3339(1795219200123LL, buf, sizeof(buf)), "2026-11-21T00:00:00.123Z");
    assert_int_equal(pl_rfc3339_parse("2026-11-21T00:00:00.123Z", &ms), 0);
    assert_int_equal(ms, 1795219200123LL);
    assert_int_equal(pl_rfc3339_parse("2026-11-21T01:30:00+01:30", &ms), 0);
    assert_int_equal(ms, 1795219200000LL);
    assert_int_equal(pl_rfc3339_parse("2024-02-29T12:00:00Z", &ms), 0);
    assert_int_equal(pl_rfc3339_parse("2023-02-29T12:00:00Z", &ms), -1);
    assert_int_equal(pl_rfc3339_parse("2026-13-01T00:00:00Z", &ms), -1);
    assert_int_equal(pl_rfc3339_parse("2026-11-21 00:00:00Z", &ms), -1);
    assert_int_equal(pl_rfc3339_parse("2026-11-21T00:00:00", &ms), -1);
    assert_int_equal(pl_rfc3339_parse("2026-11-21T00:00:00Zjunk", &ms), -1);
    assert_int_equal(pl_rfc3339_parse("1969-12-31T23:59:59.999Z", &ms), 0);
    assert_int_equal(ms, -1);
}

static void test_buf(void **state)
{
    pl_buf_t b;
    pl_arena_t a;
    int i;
    (void)state;
    pl_buf_init(&b, NULL);
    for (i = 0; i < 1000; i++)
        pl_buf_addf(&b, "%d,", i);
    assert_int_equal(b.len, strlen(b.ptr));
    pl_buf_reset(&b);
    pl_buf_add_json_escaped(&b, "a\"b\\c\n\x01", 7);
    assert_string_equal(pl_buf_cstr(&b), "a\\\"b\\\\c\\n\\u0001");
    pl_buf_release(&b);
    pl_arena_init(&a);
    pl_buf_init(&b, &a);
    for (i = 0; i < 100; i++)
        pl_buf_adds(&b, "0123456789");
    assert_int_equal(b.len, 1000);
    assert_string_equal(pl_printf(&a, "%s-%d", "x", 7), "x-7");
    pl_arena_release(&a);
}

static void test_err(void **state)
{
    pl_err_t e;
    char longmsg[400];
    (void)state;
    pl_err_clear(&e);
    assert_false(pl_err_is_set(&e));
    pl_err_field(&e, "email", "is required");
    assert_int_equal(e.status, PL_EINVAL);
    assert_int_equal(pl_status_http(e.status), 422);
    assert_string_equal(pl_err_code(&e), "validation_failed");
    pl_err_set(&e, PL_ECONFLICT, "email_taken", "taken");
    assert_string_equal(pl_err_code(&e), "email_taken");
    assert_int_equal(pl_status_http(PL_ENOTFOUND), 404);
    assert_int_equal(pl_status_http(PL_ETOOBIG), 413);
    /* a message cut inside a multi-byte character stays valid UTF-8 */
    memset(longmsg, 'a', sizeof(longmsg));
    memcpy(longmsg + 254, "\xc3\xa9\xc3\xa9", 4);
    longmsg[sizeof(longmsg) - 1] = '\0';
    pl_err_set(&e, PL_EINVAL, NULL, "%s", longmsg);
    assert_int_equal(strlen(e.message), 254);
}

typedef struct {
    char listen[64];
    long workers;
    bool signup;
} test_conf_t;

static const pl_option_t test_options[] = {
    PL_OPTION_STR(test_conf_t, listen, "--listen", "PLINTH_TEST_LISTEN", "127.0.0.1:8080", "address"),
    PL_OPTION_LONG(test_conf_t, workers, "--workers", "PLINTH_TEST_WORKERS", 0, 64, "0", "threads"),
    PL_OPTION_BOOL(test_conf_t, signup, "--signup", "PLINTH_TEST_SIGNUP", "on", "signup"),
    PL_OPTIONS_END,
};

static void test_config(void **state)
{
    pl_config_t k;
    test_conf_t c;
    char err[256], host[64];
    char *argv[] = {"plinth", "serve", "--listen", "0.0.0.0:9000", "--workers=3", "--signup",
                    "no",     "--x",   NULL};
    char *bad[] = {"plinth", "--workers", "65", NULL}, *none[] = {"plinth", NULL};
    pl_optset_t sets[] = {{"plinth", pl_config_options, &k}, {"test", test_options, &c}};
    int argc = 8, port;
    (void)state;
    setenv("PLINTH_TEST_WORKERS", "7", 1);
    setenv("PLINTH_DATA_DIR", "/tmp/x", 1);
    assert_int_equal(pl_options_load(sets, 2, 1, none, err, sizeof(err)), 1);
    assert_string_equal(c.listen, "127.0.0.1:8080"); /* default */
    assert_int_equal(c.workers, 7);                  /* environment beats default */
    assert_true(c.signup);
    argc = pl_options_load(sets, 2, argc, argv, err, sizeof(err));
    assert_int_equal(argc, 3); /* plinth serve --x */
    assert_string_equal(argv[2], "--x");
    assert_true(pl_options_known(sets, 2, "--workers=9"));
    assert_false(pl_options_known(sets, 2, "--x"));
    assert_int_equal(c.workers, 3); /* flag beats environment */
    assert_string_equal(k.data_dir, "/tmp/x");
    assert_false(c.signup); /* "no" is a boolean word */
    assert_int_equal(pl_config_hostport(c.listen, host, sizeof(host), &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 9000);
    assert_int_equal(pl_options_load(sets, 2, 3, bad, err, sizeof(err)), -1); /* out of range */
    setenv("PLINTH_TEST_WORKERS", "lots", 1);
    assert_int_equal(pl_options_load(sets, 2, 1, none, err, sizeof(err)), -1);
    unsetenv("PLINTH_TEST_WORKERS");
    unsetenv("PLINTH_DATA_DIR");
}

static void test_crypto(void **state)
{
    char tok[80], hex[PL_SHA256_HEX], hash[128];
    unsigned char raw[32];
    (void)state;
    assert_int_equal(pl_crypto_init(), 0);
    pl_random_token("rt_", 32, tok, sizeof(tok));
    assert_int_equal(strlen(tok), 3 + 43);
    assert_int_equal(pl_b64url_decode(tok + 3, 43, raw, sizeof(raw)), 32);
    assert_int_equal(pl_b64url_decode("not base64!", 11, raw, sizeof(raw)), -1);
    pl_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(pl_password_hash("correct horse battery", hash, sizeof(hash)), 0);
    assert_non_null(strstr(hash, "$argon2id$"));
    assert_true(pl_password_verify(hash, "correct horse battery"));
    assert_false(pl_password_verify(hash, "wrong"));
    assert_false(pl_password_verify("", "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339), cmocka_unit_test(test_buf),    cmocka_unit_test(test_err),
        cmocka_unit_test(test_config),  cmocka_unit_test(test_crypto),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
