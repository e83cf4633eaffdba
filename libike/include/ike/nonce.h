/*
 * Nonces (RFC 7296 §2.10): random octets from the OpenSSL CSPRNG, between
 * 16 and 256 octets, and at least half the PRF key size.
 */
#ifndef IKE_NONCE_H
#define IKE_NONCE_H

#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/error.h>

/* Length we send for a PRF: 32 octets, or the PRF output if longer (so the
 * nonces contribute full PRF strength to SKEYSEED). 0 for an unknown PRF. */
IKE_API size_t ike_nonce_len(uint16_t prf_id);

/* Fills out with len random octets; IKE_E_INVALID_ARG unless
 * IKE_NONCE_MIN <= len <= IKE_NONCE_MAX, IKE_E_CRYPTO if the RNG fails. */
IKE_API enum ike_status ike_nonce_generate(uint8_t *out, size_t len);

#endif
