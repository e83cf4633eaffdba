/*
 * Diffie-Hellman for the KE payload: MODP groups 14/15/16 (RFC 3526), ECP
 * groups 19/20/21 (RFC 5903) and Curve25519, group 31 (RFC 8031).
 *
 * Wire formats (the KE payload's Key Exchange Data):
 *   MODP:       g^x mod p, big-endian, zero-padded to the modulus length;
 *   ECP:        x | y, each coordinate padded to the field length, no 0x04;
 *   Curve25519: the 32-octet u-coordinate (RFC 7748).
 * The shared secret is likewise padded (MODP), the x coordinate only (ECP),
 * or the 32-octet X25519 output.
 *
 * A peer's public value is validated before use and rejected with
 * IKE_E_DH_PUBLIC and a reason: exact length; MODP 1 < y < p-1; ECP point on
 * the curve; X25519 shared secret not all-zero (a low-order point).
 */
#ifndef IKE_DH_H
#define IKE_DH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/error.h>
#include <ike/secret.h>

struct ike_dh;

IKE_API bool ike_dh_supported(uint16_t group);
/* Length of the public value (KE data) and of the shared secret; 0 when
 * the group is not supported. */
IKE_API size_t ike_dh_public_len(uint16_t group);
IKE_API size_t ike_dh_secret_len(uint16_t group);

/* Generates a fresh private key for group. IKE_E_UNSUPPORTED for an
 * unknown group. */
IKE_API enum ike_status ike_dh_new(uint16_t group, struct ike_dh **out, struct ike_diag *diag);

/* Uses a known private key, as published test vectors need: big-endian
 * exponent/scalar for MODP and ECP (ECP: exactly the field length), the
 * 32-octet little-endian scalar for Curve25519. Not for production use. */
IKE_API enum ike_status ike_dh_new_from_private(uint16_t group, const uint8_t *priv,
                                                size_t priv_len, struct ike_dh **out,
                                                struct ike_diag *diag);
/* Frees the key (OpenSSL wipes the private part). NULL is fine. */
IKE_API void ike_dh_free(struct ike_dh *dh);

IKE_API uint16_t ike_dh_group(const struct ike_dh *dh);
/* Our public value in wire format; valid until ike_dh_free. */
IKE_API const uint8_t *ike_dh_public(const struct ike_dh *dh, size_t *len);

/* *shared = g^ir from our private key and the peer's public value. */
IKE_API enum ike_status ike_dh_derive(struct ike_dh *dh, const uint8_t *peer, size_t peer_len,
                                      struct ike_secret **shared, struct ike_diag *diag);

#endif
