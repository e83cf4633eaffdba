/*
 * The IKEv2 pseudo-random functions (RFC 7296 §2.13; HMAC-SHA1 RFC 2104,
 * HMAC-SHA2 RFC 4868) and prf+ over them.
 *
 * A struct ike_prf holds the fetched EVP_MAC and one prepared EVP_MAC_CTX,
 * so computing a PRF costs no algorithm lookup. It is meant to be created
 * once per IKE SA (or per thread) and is not safe for concurrent use.
 */
#ifndef IKE_PRF_H
#define IKE_PRF_H

#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/error.h>
#include <ike/secret.h>

/* prf+ counts its blocks in one octet, starting at 0x01 (RFC 7296 §2.13). */
#define IKE_PRF_PLUS_MAX_BLOCKS 255
/* Largest PRF output (HMAC-SHA-512). */
#define IKE_PRF_MAX_LEN 64

struct ike_prf;

/* One piece of a PRF input; the input is the concatenation of the pieces,
 * which saves callers from building Ni | Nr | SPIi | SPIr in a buffer. */
struct ike_prf_chunk {
    const uint8_t *data;
    size_t len;
};

/* IKE_E_UNSUPPORTED for a PRF other than IKE_PRF_HMAC_SHA1/SHA2_256/384/512. */
IKE_API enum ike_status ike_prf_new(uint16_t prf_id, struct ike_prf **out);
IKE_API void ike_prf_free(struct ike_prf *prf);
IKE_API uint16_t ike_prf_id(const struct ike_prf *prf);
/* Output length, which is also the preferred key length (SK_d, SK_pi, SK_pr). */
IKE_API size_t ike_prf_len(const struct ike_prf *prf);

/* out (ike_prf_len octets) = prf(key, in[0] | in[1] | ...). */
IKE_API enum ike_status ike_prf_compute(struct ike_prf *prf, const uint8_t *key, size_t key_len,
                                        const struct ike_prf_chunk *in, size_t n_in, uint8_t *out);

/* *out = the first out_len octets of prf+(key, seed), where seed is the
 * concatenation of the chunks: T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n).
 * IKE_E_TOO_BIG when out_len needs more than 255 blocks. */
IKE_API enum ike_status ike_prf_plus(struct ike_prf *prf, const uint8_t *key, size_t key_len,
                                     const struct ike_prf_chunk *seed, size_t n_seed,
                                     size_t out_len, struct ike_secret **out);

#endif
