/*
 * Properties of the transforms libike implements: key, IV, block and ICV
 * sizes per RFC 7296 §3.3.2, RFC 5282 (AES-GCM in IKEv2), RFC 7634
 * (ChaCha20-Poly1305), RFC 4868 (HMAC-SHA2). Pure data lookups.
 */
#ifndef IKE_TRANSFORM_H
#define IKE_TRANSFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/error.h>

struct ike_encr_info {
    uint16_t id;        /* IKE_ENCR_* */
    uint16_t key_bits;  /* the Key Length attribute value (0: fixed-size cipher) */
    size_t key_len;     /* octets of key material incl. salt (SK_e* length) */
    size_t salt_len;    /* AEAD implicit salt taken from the end of the key material */
    size_t iv_len;      /* explicit IV carried in the SK payload */
    size_t block_len;   /* plaintext alignment (1 for AEAD stream modes) */
    size_t icv_len;     /* AEAD tag length; 0 for non-AEAD */
    bool aead;
};

struct ike_integ_info {
    uint16_t id;      /* IKE_INTEG_* */
    size_t key_len;   /* SK_a* length */
    size_t icv_len;   /* truncated MAC length */
};

struct ike_prf_info {
    uint16_t id;      /* IKE_PRF_* */
    size_t out_len;   /* output and preferred key length */
};

/* Return IKE_OK and fill *info, or IKE_E_UNSUPPORTED for an unknown
 * algorithm or key size. key_bits is the proposal's Key Length attribute
 * (required for AES, must be 0 or 256 for ChaCha20-Poly1305). */
IKE_API enum ike_status ike_encr_lookup(uint16_t id, uint16_t key_bits, struct ike_encr_info *info);
IKE_API enum ike_status ike_integ_lookup(uint16_t id, struct ike_integ_info *info);
IKE_API enum ike_status ike_prf_lookup(uint16_t id, struct ike_prf_info *info);

/* Names as strongSwan/FortiOS print them ("aes256gcm16", "sha512", "prfsha512",
 * "ecp521"); NULL when unknown. For logs and config parsing. */
IKE_API const char *ike_encr_name(uint16_t id, uint16_t key_bits);
IKE_API const char *ike_integ_name(uint16_t id);
IKE_API const char *ike_prf_name(uint16_t id);
IKE_API const char *ike_dh_name(uint16_t id);

#endif
