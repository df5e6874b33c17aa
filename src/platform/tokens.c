/*
 * tokens.c — JWT issuance and verification with rhonabwy (see tokens.h).
 */
#include "platform/tokens.h"

#include <pthread.h>
#include <rhonabwy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/typeid.h"
#include "core/banned.h"

#define AUDIENCE "plinth"

struct pl_tokens {
    pthread_mutex_t lock;
    jwk_t *priv;
    jwk_t *pub;
    char kid[64];
    char issuer[256];
    json_t *jwks;
};

static int generate(pl_db_t *db, pl_err_t *err)
{
    static const char *sql = "INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at) "
                             "VALUES ($1, 'EdDSA', $2, $3, $4)";
    jwk_t *priv = NULL, *pub = NULL;
    char kid[64], *sp = NULL, *pp = NULL;
    int rc = -1;
    pl_typeid_new("kid", kid);
    if (r_jwk_init(&priv) != RHN_OK || r_jwk_init(&pub) != RHN_OK ||
        r_jwk_generate_key_pair(priv, pub, R_KEY_TYPE_EDDSA, 256, kid) != RHN_OK) {
        pl_err_set(err, PL_EINTERNAL, NULL, "cannot generate the Ed25519 signing key");
        goto out;
    }
    r_jwk_set_property_str(priv, "alg", "EdDSA");
    r_jwk_set_property_str(pub, "alg", "EdDSA");
    r_jwk_set_property_str(pub, "use", "sig");
    sp = r_jwk_export_to_json_str(priv, 0);
    pp = r_jwk_export_to_json_str(pub, 0);
    if (sp == NULL || pp == NULL ||
        pl_db_exec(db, sql, PL_ARGS(PL_TEXT(kid), PL_TEXT(sp), PL_TEXT(pp), PL_INT(pl_now_ms()))) < 0) {
        pl_err_set(err, PL_EDB, NULL, "cannot store the signing key");
        goto out;
    }
    pl_log(PL_LOG_INFO, "generated a new JWT signing key", NULL);
    rc = 0;
out:
    r_free(sp);
    r_free(pp);
    r_jwk_free(priv);
    r_jwk_free(pub);
    return rc;
}

pl_tokens_t *pl_tokens_load(pl_db_t *db, const char *issuer, pl_err_t *err)
{
    static const char *sql = "SELECT kid, private_jwk, public_jwk FROM signing_keys WHERE retired_at IS NULL "
                             "ORDER BY created_at DESC LIMIT 1";
    pl_tokens_t *t = calloc(1, sizeof(*t));
    pl_rows_t *r = NULL;
    int found;
    if (t == NULL)
        abort();
    pthread_mutex_init(&t->lock, NULL);
    snprintf(t->issuer, sizeof(t->issuer), "%s", issuer);
    if (pl_db_query(db, &r, sql, PL_NOARGS) != 0 || (found = pl_rows_next(r)) < 0)
        goto fail_db;
    if (found == 0) {
        pl_rows_close(r);
        r = NULL;
        if (pl_db_begin(db, PL_TX_WRITE, NULL) != 0 || generate(db, err) != 0 || pl_db_commit(db) != 0) {
            pl_db_rollback(db);
            if (err->status == PL_OK)
                pl_err_set(err, PL_EDB, NULL, "cannot create the signing key");
            goto fail;
        }
        if (pl_db_query(db, &r, sql, PL_NOARGS) != 0 || pl_rows_next(r) != 1)
            goto fail_db;
    }
    snprintf(t->kid, sizeof(t->kid), "%s", pl_rows_text(r, 0));
    if (r_jwk_init(&t->priv) != RHN_OK || r_jwk_init(&t->pub) != RHN_OK ||
        r_jwk_import_from_json_str(t->priv, pl_rows_text(r, 1)) != RHN_OK ||
        r_jwk_import_from_json_str(t->pub, pl_rows_text(r, 2)) != RHN_OK) {
        pl_err_set(err, PL_EINTERNAL, NULL, "the stored signing key is unreadable");
        goto fail;
    }
    pl_rows_close(r);
    t->jwks = json_pack("{s:[o]}", "keys", r_jwk_export_to_json_t(t->pub));
    return t;
fail_db:
    pl_err_set(err, PL_EDB, NULL, "cannot read signing keys: %s", pl_db_errmsg(db));
fail:
    pl_rows_close(r);
    pl_tokens_destroy(t);
    return NULL;
}

void pl_tokens_destroy(pl_tokens_t *t)
{
    if (t == NULL)
        return;
    r_jwk_free(t->priv);
    r_jwk_free(t->pub);
    json_decref(t->jwks);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

char *pl_tokens_issue(pl_tokens_t *t, const char *user_id, const char *tenant_id, const char *sid, long ttl_s)
{
    jwt_t *jwt = NULL;
    char *out = NULL, *copy = NULL, jti[PL_TYPEID_MAX];
    int64_t now = pl_now_ms() / 1000;
    pl_typeid_new("jti", jti);
    pthread_mutex_lock(&t->lock);
    if (r_jwt_init(&jwt) == RHN_OK && r_jwt_set_sign_alg(jwt, R_JWA_ALG_EDDSA) == RHN_OK &&
        r_jwt_set_header_str_value(jwt, "kid", t->kid) == RHN_OK &&
        r_jwt_set_header_str_value(jwt, "typ", "JWT") == RHN_OK &&
        r_jwt_set_claim_str_value(jwt, "iss", t->issuer) == RHN_OK &&
        r_jwt_set_claim_str_value(jwt, "aud", AUDIENCE) == RHN_OK &&
        r_jwt_set_claim_str_value(jwt, "sub", user_id) == RHN_OK &&
        r_jwt_set_claim_str_value(jwt, "tid", tenant_id) == RHN_OK &&
        r_jwt_set_claim_str_value(jwt, "sid", sid) == RHN_OK &&
        r_jwt_set_claim_str_value(jwt, "jti", jti) == RHN_OK &&
        r_jwt_set_claim_int_value(jwt, "iat", now) == RHN_OK &&
        r_jwt_set_claim_int_value(jwt, "exp", now + ttl_s) == RHN_OK)
        out = r_jwt_serialize_signed(jwt, t->priv, 0);
    r_jwt_free(jwt);
    pthread_mutex_unlock(&t->lock);
    if (out) {
        copy = strdup(out);
        r_free(out);
    }
    return copy;
}

static void copy_claim(jwt_t *jwt, const char *name, char *dst, size_t n)
{
    const char *v = r_jwt_get_claim_str_value(jwt, name);
    snprintf(dst, n, "%s", v ? v : "");
}

int pl_tokens_verify(pl_tokens_t *t, const char *token, size_t len, int64_t now_s, pl_claims_t *out,
                     const char **why)
{
    jwt_t *jwt = NULL;
    const char *kid, *iss, *aud;
    int rc = -1;
    *why = "the token is malformed";
    if (len < 16 || len > 4096)
        return -1;
    pthread_mutex_lock(&t->lock);
    if (r_jwt_init(&jwt) != RHN_OK)
        goto out;
    /* R_PARSE_NONE: unsigned tokens (alg none) and keys embedded in headers are refused */
    if (r_jwt_advanced_parsen(jwt, token, len, R_PARSE_NONE, 0) != RHN_OK)
        goto out;
    *why = "the token is not signed by this server";
    if (r_jwt_get_sign_alg(jwt) != R_JWA_ALG_EDDSA)
        goto out;
    kid = r_jwt_get_header_str_value(jwt, "kid");
    if (kid == NULL || strcmp(kid, t->kid) != 0)
        goto out;
    if (r_jwt_verify_signature(jwt, t->pub, 0) != RHN_OK)
        goto out;
    iss = r_jwt_get_claim_str_value(jwt, "iss");
    aud = r_jwt_get_claim_str_value(jwt, "aud");
    if (iss == NULL || strcmp(iss, t->issuer) != 0 || aud == NULL || strcmp(aud, AUDIENCE) != 0)
        goto out;
    out->exp = r_jwt_get_claim_int_value(jwt, "exp");
    *why = "the token has expired";
    if (out->exp <= now_s)
        goto out;
    copy_claim(jwt, "sub", out->sub, sizeof(out->sub));
    copy_claim(jwt, "tid", out->tid, sizeof(out->tid));
    copy_claim(jwt, "sid", out->sid, sizeof(out->sid));
    *why = "the token lacks required claims";
    if (!out->sub[0] || !out->tid[0] || !out->sid[0])
        goto out;
    rc = 0;
out:
    r_jwt_free(jwt);
    pthread_mutex_unlock(&t->lock);
    return rc;
}

json_t *pl_tokens_jwks(pl_tokens_t *t)
{
    return json_deep_copy(t->jwks);
}
