/* Shared helpers for the SK / SKF layer tests and the wire check: cipher
 * suites with deterministic keys, a representative IKE_AUTH request, and
 * comparison of inner payload chains. */
#ifndef HELPER_SK_H
#define HELPER_SK_H

#include <stddef.h>
#include <stdint.h>

#include <ike/message.h>
#include <ike/sk_cipher.h>

struct helper_sk_suite {
    const char *name;
    uint16_t encr, key_bits, integ;
};

/* AES-CBC-128/256 with each HMAC, AES-GCM-16-128/256, ChaCha20-Poly1305. */
extern const struct helper_sk_suite helper_sk_suites[];
extern const size_t helper_sk_n_suites;
/* The suite called name; fails the test if there is none. */
const struct helper_sk_suite *helper_sk_suite(const char *name);

/* Key material of the right lengths for s, octet i = seed + i. */
struct helper_sk_keys {
    uint8_t encr[64], integ[64];
    size_t encr_len, integ_len;
};
void helper_sk_keys(const struct helper_sk_suite *s, uint8_t seed, struct helper_sk_keys *k);

/* A cipher for s keyed with helper_sk_keys(s, seed); fails the test on error. */
struct ike_sk_cipher *helper_sk_cipher(const struct helper_sk_suite *s, uint8_t seed);

/* Builds an IKE_AUTH request (IDi, CERT of cert_len pattern octets if
 * cert_len > 0, AUTH, N(INITIAL_CONTACT), SA, TSi, TSr) into msg. */
void helper_sk_auth_request(struct ike_msg *msg, uint32_t message_id, size_t cert_len);

/* Asserts that the inner payload chains of a and b encode identically. */
void helper_sk_assert_same_inner(const struct ike_msg *a, const struct ike_msg *b);

#endif
