/*
 * typeid.c — TypeID encode/decode and UUIDv7 generation.
 *
 * The 128-bit UUID is written as 26 base32 characters: the first one carries the top two
 * bits (so it is at most '7'), each following one five bits, most significant first.
 */
#include "core/typeid.h"

#include <sodium.h>
#include <string.h>

#include "core/clock.h"
#include "core/banned.h"

static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

static int decode_char(char c)
{
    const char *p;
    if (c == '\0')
        return -1;
    p = strchr(alphabet, c);
    return p ? (int)(p - alphabet) : -1;
}

static bool prefix_ok(const char *p, size_t n)
{
    size_t i;
    if (n == 0)
        return true;
    if (n > 63 || p[0] == '_' || p[n - 1] == '_')
        return false;
    for (i = 0; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || p[i] == '_'))
            return false;
    return true;
}

static void encode_suffix(const uint8_t u[16], char *out)
{
    /* bit i of the 130-bit big-endian number with two leading zero bits */
    int c, b;
    for (c = 0; c < 26; c++) {
        int v = 0;
        for (b = 0; b < 5; b++) {
            int bit = c * 5 + b - 2; /* index into the 128 uuid bits */
            int set = bit >= 0 ? (u[bit / 8] >> (7 - bit % 8)) & 1 : 0;
            v = (v << 1) | set;
        }
        out[c] = alphabet[v];
    }
    out[26] = '\0';
}

int pl_typeid_encode(const char *prefix, const uint8_t uuid[16], char *out)
{
    size_t n = strlen(prefix);
    if (!prefix_ok(prefix, n))
        return -1;
    memcpy(out, prefix, n);
    if (n)
        out[n++] = '_';
    encode_suffix(uuid, out + n);
    return 0;
}

int pl_typeid_decode(const char *s, size_t len, char *prefix_out, uint8_t uuid_out[16])
{
    size_t plen = 0;
    const char *suf;
    int c, b;
    if (len < 26)
        return -1;
    if (len > 26) {
        plen = len - 27;
        if (s[plen] != '_' || plen == 0 || !prefix_ok(s, plen))
            return -1;
    }
    suf = s + len - 26;
    if (decode_char(suf[0]) < 0 || decode_char(suf[0]) > 7)
        return -1;
    memset(uuid_out, 0, 16);
    for (c = 0; c < 26; c++) {
        int v = decode_char(suf[c]);
        if (v < 0)
            return -1;
        for (b = 0; b < 5; b++) {
            int bit = c * 5 + b - 2;
            if (bit >= 0 && ((v >> (4 - b)) & 1))
                uuid_out[bit / 8] |= (uint8_t)(1 << (7 - bit % 8));
        }
    }
    if (prefix_out) {
        memcpy(prefix_out, s, plen);
        prefix_out[plen] = '\0';
    }
    return 0;
}

/* Random bytes come from libsodium in blocks, so that an id does not cost a getrandom(2)
 * system call (each thread refills its own block). */
static void random_bytes(uint8_t *out, size_t n)
{
    static __thread uint8_t pool[4096];
    static __thread size_t left;
    if (n > sizeof(pool)) {
        randombytes_buf(out, n);
        return;
    }
    if (left < n) {
        randombytes_buf(pool, sizeof(pool));
        left = sizeof(pool);
    }
    memcpy(out, pool + sizeof(pool) - left, n);
    sodium_memzero(pool + sizeof(pool) - left, n);
    left -= n;
}

void pl_uuid_v7(uint8_t u[16])
{
    /* Per-thread monotonic state: within one millisecond the 12-bit rand_a field counts up,
     * so IDs made by one thread are strictly increasing. */
    static __thread int64_t last_ms;
    static __thread uint16_t seq;
    int64_t ms = pl_now_ms();
    if (ms <= last_ms) {
        ms = last_ms;
        if (++seq > 0x0fff) {
            ms = ++last_ms;
            seq = 0;
        }
    } else {
        last_ms = ms;
        uint8_t r[2];
        random_bytes(r, sizeof(r));
        seq = (uint16_t)(((r[0] << 8) | r[1]) & 0x07ff);
    }
    random_bytes(u + 8, 8);
    u[0] = (uint8_t)(ms >> 40);
    u[1] = (uint8_t)(ms >> 32);
    u[2] = (uint8_t)(ms >> 24);
    u[3] = (uint8_t)(ms >> 16);
    u[4] = (uint8_t)(ms >> 8);
    u[5] = (uint8_t)ms;
    u[6] = (uint8_t)(0x70 | ((seq >> 8) & 0x0f));
    u[7] = (uint8_t)(seq & 0xff);
    u[8] = (uint8_t)(0x80 | (u[8] & 0x3f));
}

void pl_typeid_new(const char *prefix, char *out)
{
    uint8_t u[16];
    pl_uuid_v7(u);
    if (pl_typeid_encode(prefix, u, out) != 0)
        out[0] = '\0';
}

bool pl_typeid_valid(const char *s, size_t len, const char *prefix)
{
    char p[64];
    uint8_t u[16];
    if (s == NULL || len > PL_TYPEID_MAX - 1 || pl_typeid_decode(s, len, p, u) != 0)
        return false;
    return strcmp(p, prefix) == 0;
}
