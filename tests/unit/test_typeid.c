/* TypeID encode/decode against the vectors of the TypeID spec (v0.3, valid.yml and invalid.yml),
 * plus UUIDv7 generation properties. */
#include "unit.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/typeid.h"

static void parse_uuid(const char *s, uint8_t u[16])
{
    int i = 0;
    for (; *s && i < 16; s++) {
        unsigned v;
        if (*s == '-')
            continue;
        sscanf(s, "%2x", &v);
        u[i++] = (uint8_t)v;
        s++;
    }
}

static const struct {
    const char *typeid, *prefix, *uuid;
} valid[] = {
    {"00000000000000000000000000", "", "00000000-0000-0000-0000-000000000000"},
    {"00000000000000000000000001", "", "00000000-0000-0000-0000-000000000001"},
    {"0000000000000000000000000a", "", "00000000-0000-0000-0000-00000000000a"},
    {"0000000000000000000000000g", "", "00000000-0000-0000-0000-000000000010"},
    {"00000000000000000000000010", "", "00000000-0000-0000-0000-000000000020"},
    {"7zzzzzzzzzzzzzzzzzzzzzzzzz", "", "ffffffff-ffff-ffff-ffff-ffffffffffff"},
    {"prefix_0123456789abcdefghjkmnpqrs", "prefix", "0110c853-1d09-52d8-d73e-1194e95b5f19"},
    {"prefix_01h455vb4pex5vsknk084sn02q", "prefix", "01890a5d-ac96-774b-bcce-b302099a8057"},
    {"pre_fix_00000000000000000000000000", "pre_fix", "00000000-0000-0000-0000-000000000000"},
};

static void test_valid_vectors(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        uint8_t want[16], got[16];
        char prefix[64], enc[PL_TYPEID_MAX];
        parse_uuid(valid[i].uuid, want);
        assert_int_equal(pl_typeid_decode(valid[i].typeid, strlen(valid[i].typeid), prefix, got), 0);
        assert_memory_equal(got, want, 16);
        assert_string_equal(prefix, valid[i].prefix);
        assert_int_equal(pl_typeid_encode(valid[i].prefix, want, enc), 0);
        assert_string_equal(enc, valid[i].typeid);
    }
}

static void test_invalid_vectors(void **state)
{
    static const char *invalid[] = {
        "PREFIX_00000000000000000000000000",  /* uppercase prefix */
        "12345_00000000000000000000000000",   /* digits in prefix */
        "pre.fix_00000000000000000000000000", /* period */
        "prefix_00000000000000000000000000x", /* suffix too long */
        "prefix_0000000000000000000000000",   /* suffix too short */
        "prefix 00000000000000000000000000",  /* space */
        "_00000000000000000000000000",        /* empty prefix with separator */
        "prefix_",                            /* no suffix */
        "prefix_0123456789ABCDEFGHJKMNPQRS",  /* uppercase suffix */
        "prefix_00000000000000000000000ooo",  /* 'o' not in the alphabet */
        "prefix_8zzzzzzzzzzzzzzzzzzzzzzzzz",  /* overflows 128 bits */
        "_prefix_00000000000000000000000000", /* leading underscore */
        "prefix__00000000000000000000000000", /* trailing underscore */
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl_00000000000000000000000000", /* 64
                                                                                                        */
    };
    size_t i;
    uint8_t u[16];
    char p[64];
    (void)state;
    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        assert_int_not_equal(pl_typeid_decode(invalid[i], strlen(invalid[i]), p, u), 0);
}

static void test_new_ids_are_v7_sorted_and_round_trip(void **state)
{
    char prev[PL_TYPEID_MAX] = "", id[PL_TYPEID_MAX], enc[PL_TYPEID_MAX], p[64];
    uint8_t u[16];
    int i;
    (void)state;
    for (i = 0; i < 5000; i++) {
        pl_typeid_new("mem", id);
        assert_int_equal(strlen(id), 30);
        assert_true(pl_typeid_valid(id, strlen(id), "mem"));
        assert_false(pl_typeid_valid(id, strlen(id), "usr"));
        assert_int_equal(pl_typeid_decode(id, strlen(id), p, u), 0);
        assert_int_equal(u[6] >> 4, 7); /* version 7 */
        assert_int_equal(u[8] >> 6, 2); /* RFC 4122 variant */
        pl_typeid_encode("mem", u, enc);
        assert_string_equal(enc, id);
        assert_true(strcmp(prev, id) < 0); /* strictly increasing within a thread */
        memcpy(prev, id, sizeof(prev));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_vectors),
        cmocka_unit_test(test_invalid_vectors),
        cmocka_unit_test(test_new_ids_are_v7_sorted_and_round_trip),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests_name("typeid", tests, NULL, NULL);
}
