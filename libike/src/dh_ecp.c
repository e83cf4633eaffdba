/*
 * ECP groups 19, 20, 21 (RFC 5903): NIST P-256, P-384, P-521. The KE data
 * is x | y without the SEC1 0x04 prefix (RFC 5903 §7); the shared secret
 * is the x coordinate of the product point.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <ike/transform.h>

#include "dh_group.h"

/* SEC1 uncompressed point: 0x04 | x | y. */
#define SEC1_UNCOMPRESSED 0x04
#define ECP_POINT_MAX     (1 + 2 * 66)

static enum ike_status ecp_generate(const struct ike_dh_group *g, EVP_PKEY **key)
{
    return ike_dh_pkey_generate("EC", g->ossl_group, key);
}

static enum ike_status ecp_public(const struct ike_dh_group *g, EVP_PKEY *key, uint8_t *out)
{
    uint8_t point[ECP_POINT_MAX];
    size_t len = 0;
    int ok =
        EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &len);
    ERR_clear_error();
    if (!ok || len != 1 + g->public_len || point[0] != SEC1_UNCOMPRESSED)
        return IKE_E_CRYPTO;
    memcpy(out, point + 1, g->public_len);
    return IKE_OK;
}

static enum ike_status ecp_peer(const struct ike_dh_group *g, EVP_PKEY *own, const uint8_t *pub,
                                EVP_PKEY **peer, struct ike_diag *diag)
{
    uint8_t point[ECP_POINT_MAX];
    point[0] = SEC1_UNCOMPRESSED;
    memcpy(point + 1, pub, g->public_len);
    /* Decoding an uncompressed point rejects coordinates >= p and points
     * off the curve; infinity has no uncompressed encoding. As the curves
     * have cofactor 1, nothing else is left to check (SP 800-56A 5.6.2.3.4
     * partial validation is then full validation). */
    enum ike_status st = ike_dh_pkey_peer(own, point, 1 + g->public_len, peer);
    if (st == IKE_E_DH_PUBLIC)
        return ike_diag_fail(diag, st, "%s public value is not a point on the curve",
                             ike_dh_name(g->id));
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "%s: cannot import the peer's public value",
                             ike_dh_name(g->id));
    return IKE_OK;
}

/* Q = d*G as an uncompressed point; d must satisfy 0 < d < n. */
static enum ike_status ecp_multiply(const struct ike_dh_group *g, const BIGNUM *d, uint8_t *point,
                                    struct ike_diag *diag)
{
    EC_GROUP *grp = EC_GROUP_new_by_curve_name_ex(NULL, NULL, EC_curve_nist2nid(g->ossl_group));
    EC_POINT *q = grp ? EC_POINT_new(grp) : NULL;
    BN_CTX *bnctx = BN_CTX_new();
    enum ike_status st = IKE_OK;
    if (!q || !bnctx)
        st = ike_diag_fail(diag, IKE_E_CRYPTO, "%s: cannot set up the curve", ike_dh_name(g->id));
    else if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(grp)) >= 0)
        st = ike_diag_fail(diag, IKE_E_INVALID_ARG, "%s: private value out of range",
                           ike_dh_name(g->id));
    else if (!EC_POINT_mul(grp, q, d, NULL, NULL, bnctx) ||
             EC_POINT_point2oct(grp, q, POINT_CONVERSION_UNCOMPRESSED, point, ECP_POINT_MAX,
                                bnctx) != 1 + g->public_len)
        st = ike_diag_fail(diag, IKE_E_CRYPTO, "%s: d*G failed", ike_dh_name(g->id));
    EC_POINT_free(q);
    EC_GROUP_free(grp);
    BN_CTX_free(bnctx);
    ERR_clear_error();
    return st;
}

static enum ike_status ecp_keypair(const struct ike_dh_group *g, const BIGNUM *d,
                                   const uint8_t *point, EVP_PKEY **key)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    int ok =
        bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, g->ossl_group, 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + g->public_len) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL;
    enum ike_status st =
        ok ? ike_dh_pkey_fromdata("EC", EVP_PKEY_KEYPAIR, params, key) : IKE_E_CRYPTO;
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    ERR_clear_error();
    return st;
}

/* OpenSSL 3.0 does not compute the public point when a private scalar is
 * imported alone, so it is computed here with the (non-deprecated) EC_POINT
 * arithmetic and imported along with the scalar. */
static enum ike_status ecp_from_private(const struct ike_dh_group *g, const uint8_t *priv,
                                        size_t priv_len, EVP_PKEY **key, struct ike_diag *diag)
{
    *key = NULL;
    if (priv_len != g->secret_len)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "%s private value length %zu != %zu",
                             ike_dh_name(g->id), priv_len, g->secret_len);
    BIGNUM *d = BN_secure_new();
    if (!d || !BN_bin2bn(priv, (int)priv_len, d)) {
        BN_free(d);
        return ike_diag_fail(diag, IKE_E_NOMEM, "%s: no memory", ike_dh_name(g->id));
    }
    uint8_t point[ECP_POINT_MAX];
    enum ike_status st = ecp_multiply(g, d, point, diag);
    if (st == IKE_OK) {
        st = ecp_keypair(g, d, point, key);
        if (st != IKE_OK)
            ike_diag_fail(diag, st, "%s: cannot import the private value", ike_dh_name(g->id));
    }
    BN_clear_free(d);
    return st;
}

const struct ike_dh_ops ike_dh_ecp_ops = {
    .generate = ecp_generate,
    .from_private = ecp_from_private,
    .public_value = ecp_public,
    .peer_key = ecp_peer,
    .derive_fail_reason = NULL,
    .pad_secret = false,
};
