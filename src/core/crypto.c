/*
 * crypto.c — libsodium wrappers (see crypto.h).
 */
#include "core/crypto.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/banned.h"

#define PW_OPS 2
#define PW_MEM (19u * 1024u * 1024u)

int pl_crypto_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

void pl_random_token(const char *prefix, size_t nbytes, char *out, size_t outlen)
{
    uint8_t raw[64];
    size_t plen = strlen(prefix);
    if (nbytes > sizeof(raw))
        nbytes = sizeof(raw);
    randombytes_buf(raw, nbytes);
    snprintf(out, outlen, "%s", prefix);
    if (plen < outlen)
        pl_b64url_encode(raw, nbytes, out + plen, outlen - plen);
    sodium_memzero(raw, sizeof(raw));
}

void pl_sha256(const void *data, size_t len, uint8_t out[32])
{
    crypto_hash_sha256(out, data, len);
}

void pl_sha256_hex(const void *data, size_t len, char *out)
{
    uint8_t h[32];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(out, PL_SHA256_HEX, h, 32);
}

size_t pl_b64url_encode(const void *data, size_t n, char *out, size_t outlen)
{
    if (outlen < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING)) {
        if (outlen)
            out[0] = '\0';
        return 0;
    }
    sodium_bin2base64(out, outlen, data, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return strlen(out);
}

long pl_b64url_decode(const char *s, size_t n, void *out, size_t outlen)
{
    size_t got = 0;
    const char *end = NULL;
    if (sodium_base642bin(out, outlen, s, n, NULL, &got, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    if (end != s + n)
        return -1;
    return (long)got;
}

bool pl_ct_equal(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}

int pl_password_hash(const char *password, char *out, size_t outlen)
{
    if (outlen < crypto_pwhash_STRBYTES)
        return -1;
    return crypto_pwhash_str_alg(out, password, strlen(password), PW_OPS, PW_MEM,
                                 crypto_pwhash_ALG_ARGON2ID13);
}

bool pl_password_verify(const char *hash, const char *password)
{
    if (hash == NULL || *hash == '\0')
        return false;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}
