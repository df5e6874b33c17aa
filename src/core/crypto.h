/*
 * crypto.h — the few primitives Plinth uses, all from libsodium: random tokens,
 * SHA-256 for stored secrets, base64url, constant-time compare, argon2id passwords.
 *
 * Secrets shown to users (refresh tokens, API keys, invitation tokens) have 256 bits of
 * entropy, so they are stored as SHA-256 (a slow hash adds nothing); passwords, which
 * people choose, are stored as argon2id.
 */
#ifndef PL_CRYPTO_H
#define PL_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL_SHA256_HEX 65

/* Calls sodium_init(); returns 0 or -1. */
int pl_crypto_init(void);
/* prefix + base64url(nbytes random bytes) into out (outlen bytes). */
void pl_random_token(const char *prefix, size_t nbytes, char *out, size_t outlen);
/* Lowercase hex SHA-256 of data into out (PL_SHA256_HEX bytes). */
void pl_sha256_hex(const void *data, size_t len, char *out);
void pl_sha256(const void *data, size_t len, uint8_t out[32]);
/* base64url without padding; returns the length written (out needs 4*ceil(n/3)+1). */
size_t pl_b64url_encode(const void *data, size_t n, char *out, size_t outlen);
/* Returns the decoded length, or -1 if s is not base64url. */
long pl_b64url_decode(const char *s, size_t n, void *out, size_t outlen);
bool pl_ct_equal(const void *a, const void *b, size_t n);

/* argon2id (OWASP: 19 MiB, t=2); out needs 128 bytes. Returns 0 or -1. */
int pl_password_hash(const char *password, char *out, size_t outlen);
bool pl_password_verify(const char *hash, const char *password);

#endif
