/*
 * The fixed keys of the SK fuzz target and its seed generator, and sealing
 * an SK/SKF payload with a chosen IV (so seeds are reproducible octet for
 * octet; real senders draw IVs with ike_sk_cipher_next_iv()).
 *
 * The keys are the SK_e/SK_a keys strongSwan derived in the captured
 * exchanges of tests/fixtures/strongswan/ (values.txt), so the captured
 * IKE_AUTH, CREATE_CHILD_SA and INFORMATIONAL messages decrypt too.
 */
#ifndef FUZZ_SK_FIXED_H
#define FUZZ_SK_FIXED_H

#include <stddef.h>
#include <stdint.h>

#include <ike/message.h>
#include <ike/sk_cipher.h>

enum sk_fixed_suite {
    SK_FIXED_GCM = 0, /* AES-GCM-16-256 */
    SK_FIXED_CBC = 1, /* AES-CBC-256 + HMAC-SHA2-512-256 */
};
#define SK_FIXED_N_SUITES 2

extern const char *const sk_fixed_suite_name[SK_FIXED_N_SUITES];
/* The SPIs of the capture the suite's keys come from. */
extern const uint8_t sk_fixed_spi_i[SK_FIXED_N_SUITES][8];
extern const uint8_t sk_fixed_spi_r[SK_FIXED_N_SUITES][8];

/* The cipher protecting messages whose sender is the original initiator
 * (from_initiator: SK_ei/SK_ai) or responder (SK_er/SK_ar). Created on
 * first use and kept for the life of the process; aborts if that fails. */
struct ike_sk_cipher *sk_fixed_cipher(enum sk_fixed_suite suite, int from_initiator);

/* Same key choice as a receiver makes it: by the header's Initiator flag. */
struct ike_sk_cipher *sk_fixed_cipher_for(enum sk_fixed_suite suite, const struct ike_hdr *hdr);

/*
 * Writes outer's header and unencrypted payloads and an sk_type payload
 * (frame: first_inner, frag_num, frag_total) whose body is
 * iv | seal(padded) | ICV. padded is the whole plaintext including padding
 * and Pad Length; its length must be a multiple of the cipher block (or
 * the seal is refused). iv has ike_sk_cipher_iv_len(c) octets.
 * *out is malloc()ed; IKE_OK or the codec's / cipher's error.
 */
enum ike_status sk_fixed_seal(const struct ike_msg *outer, uint8_t sk_type,
                              const struct ike_pld_sk *frame, const uint8_t *padded,
                              size_t padded_len, struct ike_sk_cipher *c, const uint8_t *iv,
                              uint8_t **out, size_t *out_len);

/* Appends minimum zero padding and the Pad Length octet to pt (len octets)
 * into out (cap octets) for cipher c; returns the padded length or 0 if
 * cap is too small. */
size_t sk_fixed_pad(struct ike_sk_cipher *c, const uint8_t *pt, size_t len, uint8_t *out,
                    size_t cap);

#endif
