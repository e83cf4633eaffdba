/* Shared helpers for the IKE message codec tests: hex vectors, datagram
 * framing, and decode-failure / round-trip assertions. */
#ifndef HELPER_MSG_H
#define HELPER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/message.h>

/* Hex to bytes, whitespace ignored; fails the test on bad input. */
size_t helper_msg_hex(const char *hex, uint8_t *out, size_t cap);

/* A generic payload header (next, flags, length = 4 + len) + body. */
size_t helper_msg_pld(uint8_t *out, uint8_t next, uint8_t flags, const uint8_t *body, size_t len);

/* An IKE header (SPI i = 01..08, SPI r zero or 11..18 when spi_r) with the
 * correct total length, followed by the given payload bytes. */
size_t helper_msg_frame(uint8_t *out, size_t cap, uint8_t exchange, uint8_t flags, bool spi_r,
                        uint8_t first, const uint8_t *plds, size_t plds_len);

/* Decodes and asserts the status and that the reason contains substr.
 * Returns nothing; the message is cleared. */
void helper_msg_expect_fail(const uint8_t *data, size_t len, enum ike_status want,
                            const char *substr);

/* Decodes one payload of `type` wrapped in an IKE_SA_INIT request (or a
 * response if response) and asserts failure as above. */
void helper_msg_pld_fail(uint8_t type, bool response, const uint8_t *body, size_t len,
                         enum ike_status want, const char *substr);

/* Decodes one payload; asserts success; the caller clears msg. */
const struct ike_pld *helper_msg_pld_ok(struct ike_msg *msg, uint8_t type, bool response,
                                        const uint8_t *body, size_t len);

/* decode(data) must succeed and encode() must give the same bytes. */
void helper_msg_roundtrip(const uint8_t *data, size_t len);

/* Encodes msg (all payloads outside SK), decodes the result, re-encodes
 * it, and asserts both encodings are equal. Returns the decoded message in
 * out (caller clears). */
void helper_msg_reencode(const struct ike_msg *msg, struct ike_msg *out);

/* A byte-vector builder for hand-made test vectors. */
struct helper_bytes {
    uint8_t b[16384];
    size_t n;
};
void helper_bytes_u8(struct helper_bytes *v, uint8_t x);
void helper_bytes_u16(struct helper_bytes *v, uint16_t x);
void helper_bytes_u32(struct helper_bytes *v, uint32_t x);
void helper_bytes_raw(struct helper_bytes *v, const void *p, size_t n);
void helper_bytes_hex(struct helper_bytes *v, const char *hex);
/* Patches a big-endian 16-bit value at off. */
void helper_bytes_put16(struct helper_bytes *v, size_t off, uint16_t x);

#endif
