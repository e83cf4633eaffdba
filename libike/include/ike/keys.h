/*
 * Key derivation for IKE and CHILD SAs (RFC 7296 §2.14, §2.17, §2.18).
 *
 * Key lengths come from the transform tables (<ike/transform.h>): SK_d,
 * SK_pi and SK_pr are the PRF's output length, SK_a* the integrity key
 * length (0 for AEAD), SK_e* the cipher key length including the AEAD salt.
 */
#ifndef IKE_KEYS_H
#define IKE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/const.h>
#include <ike/error.h>
#include <ike/prf.h>
#include <ike/secret.h>

/* Encryption and integrity of an IKE or ESP SA. AEAD ciphers take
 * integ_id IKE_INTEG_NONE; the others require an integrity algorithm. */
struct ike_keys_suite {
    uint16_t encr_id;
    uint16_t encr_key_bits; /* Key Length attribute; 0 for fixed-size ciphers */
    uint16_t integ_id;
};

/* The nonce data (payload body) of Ni and Nr, as exchanged. */
struct ike_keys_nonces {
    const uint8_t *ni;
    size_t ni_len;
    const uint8_t *nr;
    size_t nr_len;
};

/* All seven IKE SA keys; every pointer is set on success (SK_ai/SK_ar have
 * length 0 for an AEAD suite). Owned: release with ike_keys_sa_clear. */
struct ike_keys_sa {
    struct ike_secret *sk_d;
    struct ike_secret *sk_ai;
    struct ike_secret *sk_ar;
    struct ike_secret *sk_ei;
    struct ike_secret *sk_er;
    struct ike_secret *sk_pi;
    struct ike_secret *sk_pr;
};

/* The four keys of a CHILD SA pair: initiator-to-responder first (RFC 7296
 * §2.17). encr_* include the salt for AEAD; integ_* have length 0 then. */
struct ike_keys_child {
    struct ike_secret *encr_i;
    struct ike_secret *integ_i;
    struct ike_secret *encr_r;
    struct ike_secret *integ_r;
};

/* Octets of SK_e* / SK_a* for a suite; IKE_E_UNSUPPORTED for an unknown
 * transform, IKE_E_INVALID_ARG for AEAD with integrity or non-AEAD without. */
IKE_API enum ike_status ike_keys_suite_lengths(const struct ike_keys_suite *suite, size_t *encr_len,
                                               size_t *integ_len);

/* SKEYSEED = prf(Ni | Nr, g^ir)  (IKE_SA_INIT). */
IKE_API enum ike_status ike_keys_skeyseed(struct ike_prf *prf, const struct ike_keys_nonces *n,
                                          const struct ike_secret *g_ir,
                                          struct ike_secret **skeyseed);

/* SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)  (IKE SA rekey, §2.18).
 * prf must be the OLD IKE SA's PRF; the new SA's keys are then derived with
 * ike_keys_sa_derive using the NEW SA's PRF and SPIs. */
IKE_API enum ike_status ike_keys_skeyseed_rekey(struct ike_prf *old_prf,
                                                const struct ike_secret *old_sk_d,
                                                const struct ike_secret *g_ir,
                                                const struct ike_keys_nonces *n,
                                                struct ike_secret **skeyseed);

/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *     = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr). */
IKE_API enum ike_status ike_keys_sa_derive(struct ike_prf *prf, const struct ike_keys_suite *suite,
                                           const struct ike_secret *skeyseed,
                                           const struct ike_keys_nonces *n,
                                           const uint8_t spi_i[IKE_SPI_LEN],
                                           const uint8_t spi_r[IKE_SPI_LEN],
                                           struct ike_keys_sa *out);
IKE_API void ike_keys_sa_clear(struct ike_keys_sa *keys);

/* KEYMAT = prf+(SK_d, Ni | Nr), or prf+(SK_d, g^ir (new) | Ni | Nr) with PFS
 * (g_ir non-NULL), split into encr_i | integ_i | encr_r | integ_r. prf is
 * the PRF of the IKE SA that owns SK_d. */
IKE_API enum ike_status ike_keys_child_derive(struct ike_prf *prf, const struct ike_keys_suite *esp,
                                              const struct ike_secret *sk_d,
                                              const struct ike_secret *g_ir,
                                              const struct ike_keys_nonces *n,
                                              struct ike_keys_child *out);
IKE_API void ike_keys_child_clear(struct ike_keys_child *keys);

#endif
