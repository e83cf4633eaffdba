/*
 * Curve25519, group 31 (RFC 8031, RFC 7748): raw 32-octet keys. Every
 * 32-octet string is a valid u-coordinate, so a peer's value is checked
 * after the fact: a low-order point yields the all-zero shared secret,
 * which RFC 8031 §2 requires us to reject.
 */
#include <openssl/err.h>
#include <openssl/evp.h>

#include <ike/transform.h>

#include "dh_group.h"

static enum ike_status x25519_generate(const struct ike_dh_group *g, EVP_PKEY **key)
{
    return ike_dh_pkey_generate("X25519", NULL, key);
}

static enum ike_status x25519_public(const struct ike_dh_group *g, EVP_PKEY *key, uint8_t *out)
{
    size_t len = g->public_len;
    int ok = EVP_PKEY_get_raw_public_key(key, out, &len) && len == g->public_len;
    ERR_clear_error();
    return ok ? IKE_OK : IKE_E_CRYPTO;
}

static enum ike_status x25519_peer(const struct ike_dh_group *g, EVP_PKEY *own, const uint8_t *pub,
                                   EVP_PKEY **peer, struct ike_diag *diag)
{
    *peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, pub, g->public_len);
    if (!*peer) {
        ERR_clear_error();
        return ike_diag_fail(diag, IKE_E_CRYPTO, "%s: cannot import the peer's public value",
                             ike_dh_name(g->id));
    }
    return IKE_OK;
}

/* RFC 7748 §5: OpenSSL clamps the scalar and computes the public value. */
static enum ike_status x25519_from_private(const struct ike_dh_group *g, const uint8_t *priv,
                                           size_t priv_len, EVP_PKEY **key, struct ike_diag *diag)
{
    if (priv_len != g->secret_len)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "%s private value length %zu != %zu",
                             ike_dh_name(g->id), priv_len, g->secret_len);
    *key = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, priv_len);
    if (!*key) {
        ERR_clear_error();
        return ike_diag_fail(diag, IKE_E_CRYPTO, "%s: cannot import the private value",
                             ike_dh_name(g->id));
    }
    return IKE_OK;
}

const struct ike_dh_ops ike_dh_x25519_ops = {
    .generate = x25519_generate,
    .from_private = x25519_from_private,
    .public_value = x25519_public,
    .peer_key = x25519_peer,
    .derive_fail_reason = "shared secret is all-zero (low-order peer point)",
    .pad_secret = false,
};
