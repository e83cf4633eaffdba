/*
 * Private: the OpenSSL 3 algorithm names behind libike's transforms, kept
 * next to the transform tables so a new transform is added in one place.
 */
#ifndef IKE_TRANSFORM_OSSL_H
#define IKE_TRANSFORM_OSSL_H

#include <stdint.h>

#include <openssl/evp.h>

#include <ike/error.h>

/* EVP_CIPHER name ("AES-256-GCM"), NULL when unsupported. */
const char *ike_encr_ossl_cipher(uint16_t id, uint16_t key_bits);
/* Digest name for HMAC ("SHA256"), NULL when unsupported. */
const char *ike_integ_ossl_digest(uint16_t id);
const char *ike_prf_ossl_digest(uint16_t id);

/* Fetches HMAC once and returns a context bound to digest (not yet keyed).
 * Both are the caller's to free. Implemented in prf.c. */
enum ike_status ike_hmac_ctx_new(const char *digest, EVP_MAC **mac, EVP_MAC_CTX **ctx);

#endif
