/*
 * tokens.h — access tokens (JWT, EdDSA/Ed25519 via rhonabwy) and the signing key set.
 * Internal to the platform module.
 *
 * The server generates an Ed25519 key pair on first start and keeps it in the
 * control-plane table signing_keys; the public half is published as a JWKS. Access tokens
 * carry: iss, aud ("plinth"), sub (user id), tid (tenant id), sid (session family id),
 * iat, exp, jti. Verification accepts only EdDSA with our kid — never "none", never a
 * symmetric algorithm. Thread-safe (rhonabwy calls are serialised by a mutex; the
 * per-worker cache in principal.c keeps them off the hot path).
 */
#ifndef PL_TOKENS_H
#define PL_TOKENS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

typedef struct pl_tokens pl_tokens_t;

typedef struct pl_claims {
    char sub[64];
    char tid[64];
    char sid[64];
    int64_t exp; /* seconds */
} pl_claims_t;

/* Loads the current signing key from the store, creating one if there is none. */
pl_tokens_t *pl_tokens_load(pl_db_t *db, const char *issuer, pl_err_t *err);
void pl_tokens_destroy(pl_tokens_t *t);
/* Returns a malloc'd compact JWS, or NULL. */
char *pl_tokens_issue(pl_tokens_t *t, const char *user_id, const char *tenant_id, const char *sid,
                      long ttl_s);
/* 0 if the token is ours, well-signed and unexpired at now_s; -1 otherwise (reason in why). */
int pl_tokens_verify(pl_tokens_t *t, const char *token, size_t len, int64_t now_s, pl_claims_t *out,
                     const char **why);
/* The public JWKS (new reference). */
json_t *pl_tokens_jwks(pl_tokens_t *t);

#endif
