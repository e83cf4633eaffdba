/*
 * The cryptographic core of the SK (Encrypted) payload, RFC 7296 §3.14,
 * for one direction of one IKE SA: encryption key + (for non-AEAD) integrity
 * key, prepared once (OpenSSL contexts kept) and reused for every message.
 *
 * The caller (the SK payload layer) owns the layout: it builds the padded
 * plaintext (payloads | padding | pad length) and places IV, ciphertext and
 * ICV in the message. This module only transforms bytes:
 *
 *   AEAD (AES-GCM-16, ChaCha20-Poly1305): nonce = salt | iv;
 *       aad = IKE header .. end of the SK generic payload header;
 *       icv = the 16-octet tag.
 *   Encrypt-then-MAC (AES-CBC + HMAC): ciphertext = CBC(key, iv, plaintext);
 *       icv = truncated HMAC(integ key, aad | iv | ciphertext).
 *
 * open() verifies the ICV (constant time) BEFORE decrypting and returns
 * IKE_E_INTEGRITY on mismatch, writing no plaintext.
 */
#ifndef IKE_SK_CIPHER_H
#define IKE_SK_CIPHER_H

#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/error.h>
#include <ike/transform.h>

struct ike_sk_cipher;

/* encr_key is SK_ei or SK_er (with the salt at its end for AEAD);
 * integ_id is IKE_INTEG_NONE (and integ_key NULL) for AEAD. Copies the keys. */
IKE_API enum ike_status ike_sk_cipher_new(uint16_t encr_id, uint16_t key_bits, uint16_t integ_id,
                                          const uint8_t *encr_key, size_t encr_key_len,
                                          const uint8_t *integ_key, size_t integ_key_len,
                                          struct ike_sk_cipher **out, struct ike_diag *diag);
IKE_API void ike_sk_cipher_free(struct ike_sk_cipher *c);

IKE_API size_t ike_sk_cipher_iv_len(const struct ike_sk_cipher *c);
IKE_API size_t ike_sk_cipher_block_len(const struct ike_sk_cipher *c);
IKE_API size_t ike_sk_cipher_icv_len(const struct ike_sk_cipher *c);

/* Fresh IV for the next message (random from the OpenSSL CSPRNG for CBC;
 * a per-key counter is fine for AEAD as long as it never repeats). */
IKE_API enum ike_status ike_sk_cipher_next_iv(struct ike_sk_cipher *c, uint8_t *iv);

/* plaintext length must be a multiple of block_len. ct may equal pt.
 * Writes pt_len octets to ct and icv_len octets to icv. */
IKE_API enum ike_status ike_sk_cipher_seal(struct ike_sk_cipher *c, const uint8_t *aad,
                                           size_t aad_len, const uint8_t *iv, const uint8_t *pt,
                                           size_t pt_len, uint8_t *ct, uint8_t *icv);

/* Verifies icv, then decrypts ct_len octets into pt (pt may equal ct). */
IKE_API enum ike_status ike_sk_cipher_open(struct ike_sk_cipher *c, const uint8_t *aad,
                                           size_t aad_len, const uint8_t *iv, const uint8_t *ct,
                                           size_t ct_len, const uint8_t *icv, uint8_t *pt,
                                           struct ike_diag *diag);

#endif
