#include <openssl/err.h>
#include <openssl/rand.h>

#include <ike/const.h>
#include <ike/nonce.h>
#include <ike/transform.h>

#define IKE_NONCE_DEFAULT_LEN 32

size_t ike_nonce_len(uint16_t prf_id)
{
    struct ike_prf_info info;
    if (ike_prf_lookup(prf_id, &info) != IKE_OK)
        return 0;
    return info.out_len > IKE_NONCE_DEFAULT_LEN ? info.out_len : IKE_NONCE_DEFAULT_LEN;
}

enum ike_status ike_nonce_generate(uint8_t *out, size_t len)
{
    if (len < IKE_NONCE_MIN || len > IKE_NONCE_MAX)
        return IKE_E_INVALID_ARG;
    /* Nonces are sent in clear, so the public DRBG is the right one. */
    if (RAND_bytes(out, (int)len) != 1) {
        ERR_clear_error();
        return IKE_E_CRYPTO;
    }
    return IKE_OK;
}
