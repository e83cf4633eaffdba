/*
 * MODP groups 14, 15, 16 (RFC 3526), which OpenSSL 3 knows as the named
 * FFC groups "modp_2048", "modp_3072", "modp_4096". Values on the wire are
 * big-endian and zero-padded to the modulus length.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <ike/transform.h>

#include "dh_group.h"

static enum ike_status modp_generate(const struct ike_dh_group *g, EVP_PKEY **key)
{
    return ike_dh_pkey_generate("DH", g->ossl_group, key);
}

static enum ike_status modp_public(const struct ike_dh_group *g, EVP_PKEY *key, uint8_t *out)
{
    BIGNUM *y = NULL;
    int ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY, &y) &&
             BN_bn2binpad(y, out, (int)g->public_len) == (int)g->public_len;
    BN_free(y);
    ERR_clear_error();
    return ok ? IKE_OK : IKE_E_CRYPTO;
}

/* Why y is outside 1 < y < p-1 (RFC 7296 §5, NIST SP 800-56A partial
 * validation), or NULL when it is inside. For the safe primes of RFC 3526
 * that leaves no small subgroup but {1, p-1}, so this check is complete. */
static const char *modp_range_fault(const BIGNUM *y, const BIGNUM *p, const BIGNUM *p_minus_1)
{
    if (BN_is_zero(y))
        return "is 0";
    if (BN_is_one(y))
        return "is 1";
    if (BN_cmp(y, p_minus_1) == 0)
        return "is p-1";
    if (BN_cmp(y, p) >= 0)
        return "is >= p";
    return NULL;
}

static enum ike_status modp_check_peer(const struct ike_dh_group *g, EVP_PKEY *own, const BIGNUM *y,
                                       struct ike_diag *diag)
{
    BIGNUM *p = NULL;
    BIGNUM *p_minus_1 = NULL;
    int ok = EVP_PKEY_get_bn_param(own, OSSL_PKEY_PARAM_FFC_P, &p) &&
             (p_minus_1 = BN_dup(p)) != NULL && BN_sub_word(p_minus_1, 1);
    const char *fault = ok ? modp_range_fault(y, p, p_minus_1) : NULL;
    BN_free(p);
    BN_free(p_minus_1);
    if (!ok) {
        ERR_clear_error();
        return ike_diag_fail(diag, IKE_E_CRYPTO, "%s: cannot read the group prime",
                             ike_dh_name(g->id));
    }
    if (fault)
        return ike_diag_fail(diag, IKE_E_DH_PUBLIC, "%s public value %s (need 1 < y < p-1)",
                             ike_dh_name(g->id), fault);
    return IKE_OK;
}

/* fromdata for the group of g with a public and a private value. */
static enum ike_status modp_keypair(const struct ike_dh_group *g, const BIGNUM *pub,
                                    const BIGNUM *priv, EVP_PKEY **key)
{
    *key = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    int ok = bld &&
             OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, g->ossl_group, 0) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, pub) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) &&
             (params = OSSL_PARAM_BLD_to_param(bld)) != NULL;
    enum ike_status st = IKE_E_CRYPTO;
    if (ok)
        st = ike_dh_pkey_fromdata("DH", EVP_PKEY_KEYPAIR, params, key);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    ERR_clear_error();
    return st;
}

static enum ike_status modp_peer(const struct ike_dh_group *g, EVP_PKEY *own, const uint8_t *pub,
                                 EVP_PKEY **peer, struct ike_diag *diag)
{
    *peer = NULL;
    BIGNUM *y = BN_bin2bn(pub, (int)g->public_len, NULL);
    if (!y)
        return ike_diag_fail(diag, IKE_E_NOMEM, "%s: no memory", ike_dh_name(g->id));
    enum ike_status st = modp_check_peer(g, own, y, diag);
    BN_free(y);
    if (st != IKE_OK)
        return st;
    st = ike_dh_pkey_peer(own, pub, g->public_len, peer);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "%s: cannot import the peer's public value",
                             ike_dh_name(g->id));
    return IKE_OK;
}

/* g^x mod p for the group's p and g, read from a parameters-only key. */
static enum ike_status modp_exp(const struct ike_dh_group *g, const BIGNUM *x, BIGNUM **y,
                                struct ike_diag *diag)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)g->ossl_group, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *group_key = NULL;
    BIGNUM *p = NULL;
    BIGNUM *gen = NULL;
    BN_CTX *bnctx = BN_CTX_new();
    *y = BN_new();
    enum ike_status st = ike_dh_pkey_fromdata("DH", EVP_PKEY_KEY_PARAMETERS, params, &group_key);
    int ok = st == IKE_OK && bnctx && *y &&
             EVP_PKEY_get_bn_param(group_key, OSSL_PKEY_PARAM_FFC_P, &p) &&
             EVP_PKEY_get_bn_param(group_key, OSSL_PKEY_PARAM_FFC_G, &gen);
    if (ok && (BN_cmp(x, BN_value_one()) <= 0 || BN_cmp(x, p) >= 0))
        st = ike_diag_fail(diag, IKE_E_INVALID_ARG, "%s: private value out of range",
                           ike_dh_name(g->id));
    else if (!ok || !BN_mod_exp_mont_consttime(*y, gen, x, p, bnctx, NULL))
        st = ike_diag_fail(diag, IKE_E_CRYPTO, "%s: g^x mod p failed", ike_dh_name(g->id));
    EVP_PKEY_free(group_key);
    BN_free(p);
    BN_free(gen);
    BN_CTX_free(bnctx);
    ERR_clear_error();
    if (st != IKE_OK) {
        BN_free(*y);
        *y = NULL;
    }
    return st;
}

static enum ike_status modp_from_private(const struct ike_dh_group *g, const uint8_t *priv,
                                         size_t priv_len, EVP_PKEY **key, struct ike_diag *diag)
{
    *key = NULL;
    if (priv_len == 0 || priv_len > g->public_len)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "%s: private value length %zu",
                             ike_dh_name(g->id), priv_len);
    BIGNUM *x = BN_secure_new();
    BIGNUM *y = NULL;
    enum ike_status st = IKE_E_NOMEM;
    if (x && BN_bin2bn(priv, (int)priv_len, x))
        st = modp_exp(g, x, &y, diag);
    if (st == IKE_OK) {
        st = modp_keypair(g, y, x, key);
        if (st != IKE_OK)
            ike_diag_fail(diag, st, "%s: cannot import the private value", ike_dh_name(g->id));
    }
    BN_clear_free(x);
    BN_free(y);
    return st;
}

const struct ike_dh_ops ike_dh_modp_ops = {
    .generate = modp_generate,
    .from_private = modp_from_private,
    .public_value = modp_public,
    .peer_key = modp_peer,
    .derive_fail_reason = NULL,
    .pad_secret = true,
};
