/*
 * Shared-key AUTH (RFC 7296 §2.15). The signed octets are never built in
 * one buffer: the PRF consumes the message, the nonce and the MACed ID as
 * three chunks.
 */
#include <string.h>

#include <openssl/crypto.h>

#include <ike/auth.h>

enum ike_status ike_auth_maced_id(struct ike_prf *prf, const struct ike_secret *sk_p,
                                  const uint8_t *id_body, size_t id_body_len, uint8_t *out)
{
    struct ike_prf_chunk in = {id_body, id_body_len};
    return ike_prf_compute(prf, sk_p->data, sk_p->len, &in, 1, out);
}

/* auth = prf(prf(PSK, pad), message | nonce | maced_id); auth holds
 * ike_prf_len octets. */
static enum ike_status psk_auth(struct ike_prf *prf, const struct ike_secret *psk,
                                const struct ike_secret *sk_p, const struct ike_auth_octets *oct,
                                uint8_t *auth)
{
    uint8_t maced_id[IKE_PRF_MAX_LEN];
    uint8_t padded_key[IKE_PRF_MAX_LEN];
    size_t len = ike_prf_len(prf);
    enum ike_status st = ike_auth_maced_id(prf, sk_p, oct->id_body, oct->id_body_len, maced_id);
    if (st == IKE_OK) {
        struct ike_prf_chunk pad = {(const uint8_t *)IKE_AUTH_KEY_PAD, IKE_AUTH_KEY_PAD_LEN};
        st = ike_prf_compute(prf, psk->data, psk->len, &pad, 1, padded_key);
    }
    if (st == IKE_OK) {
        struct ike_prf_chunk signed_octets[] = {
            {oct->message, oct->message_len},
            {oct->nonce, oct->nonce_len},
            {maced_id, len},
        };
        st = ike_prf_compute(prf, padded_key, len, signed_octets, 3, auth);
    }
    /* prf(PSK, pad) is as good as the PSK itself. */
    OPENSSL_cleanse(padded_key, sizeof(padded_key));
    return st;
}

enum ike_status ike_auth_psk_compute(struct ike_prf *prf, const struct ike_secret *psk,
                                     const struct ike_secret *sk_p,
                                     const struct ike_auth_octets *octets, uint8_t *auth,
                                     size_t auth_size, size_t *auth_len)
{
    *auth_len = 0;
    size_t len = ike_prf_len(prf);
    if (auth_size < len)
        return IKE_E_TOO_BIG;
    enum ike_status st = psk_auth(prf, psk, sk_p, octets, auth);
    if (st == IKE_OK)
        *auth_len = len;
    return st;
}

enum ike_status ike_auth_psk_verify(struct ike_prf *prf, const struct ike_secret *psk,
                                    const struct ike_secret *sk_p,
                                    const struct ike_auth_octets *octets, const uint8_t *auth,
                                    size_t auth_len, struct ike_diag *diag)
{
    size_t len = ike_prf_len(prf);
    if (auth_len != len)
        return ike_diag_fail(diag, IKE_E_AUTH, "shared-key AUTH data length %zu != %zu", auth_len,
                             len);
    uint8_t expect[IKE_PRF_MAX_LEN];
    enum ike_status st = psk_auth(prf, psk, sk_p, octets, expect);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "computing shared-key AUTH failed");
    bool match = CRYPTO_memcmp(expect, auth, len) == 0;
    OPENSSL_cleanse(expect, sizeof(expect));
    if (!match)
        return ike_diag_fail(diag, IKE_E_AUTH, "shared-key AUTH data (%zu octets) does not match",
                             len);
    return IKE_OK;
}
