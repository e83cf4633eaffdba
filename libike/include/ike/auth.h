/*
 * AUTH payload data for shared-key authentication (RFC 7296 §2.15):
 *
 *   AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
 *   SignedOctets = RealMessage | NonceData | prf(SK_p, RestOfIDPayload)
 *
 * For the initiator's AUTH: RealMessage is the IKE_SA_INIT request as sent,
 * NonceData is Nr, SK_p is SK_pi and the ID is IDi; for the responder's:
 * the IKE_SA_INIT response, Ni, SK_pr and IDr. The same pieces serve
 * whichever side computes or verifies.
 */
#ifndef IKE_AUTH_H
#define IKE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/error.h>
#include <ike/prf.h>
#include <ike/secret.h>

/* The literal pad of §2.15, 17 octets, no terminating NUL. */
#define IKE_AUTH_KEY_PAD     "Key Pad for IKEv2"
#define IKE_AUTH_KEY_PAD_LEN 17

struct ike_auth_octets {
    /* the signer's first message (IKE_SA_INIT request or response), whole
     * and exactly as sent, from the IKE header on */
    const uint8_t *message;
    size_t message_len;
    /* the other party's nonce data (Nonce payload body) */
    const uint8_t *nonce;
    size_t nonce_len;
    /* the signer's ID payload body: ID Type | 3 reserved octets | data */
    const uint8_t *id_body;
    size_t id_body_len;
};

/* out (ike_prf_len octets) = prf(SK_p, RestOfIDPayload): the MACedIDFor*
 * part of the signed octets, shared with signature authentication. */
IKE_API enum ike_status ike_auth_maced_id(struct ike_prf *prf, const struct ike_secret *sk_p,
                                          const uint8_t *id_body, size_t id_body_len, uint8_t *out);

/* Writes the AUTH data (ike_prf_len(prf) octets) to auth, which has room for
 * auth_size octets; *auth_len receives the length. */
IKE_API enum ike_status ike_auth_psk_compute(struct ike_prf *prf, const struct ike_secret *psk,
                                             const struct ike_secret *sk_p,
                                             const struct ike_auth_octets *octets, uint8_t *auth,
                                             size_t auth_size, size_t *auth_len);

/* IKE_OK when auth matches (compared in constant time), IKE_E_AUTH with a
 * reason otherwise. */
IKE_API enum ike_status ike_auth_psk_verify(struct ike_prf *prf, const struct ike_secret *psk,
                                            const struct ike_secret *sk_p,
                                            const struct ike_auth_octets *octets,
                                            const uint8_t *auth, size_t auth_len,
                                            struct ike_diag *diag);

#endif
