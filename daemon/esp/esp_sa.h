/*
 * One ESP SA pair in tunnel mode (RFC 4303): the outbound and inbound
 * directions of a CHILD SA with their keys in OpenSSL contexts prepared once
 * at install, so a packet costs no allocation.
 *
 *   AES-GCM-16 (RFC 4106), ChaCha20-Poly1305 (RFC 7634): nonce = salt | IV,
 *     the salt being the last 4 octets of the key material; AAD = SPI |
 *     sequence number (SPI | high | low with ESN). The IV is the 64-bit
 *     sequence number (unique per key, as RFC 4106 §3.1 allows).
 *   AES-CBC + HMAC (RFC 3602, RFC 2404 SHA-1-96, RFC 4868 SHA-2 -128/-192/-256):
 *     random IV, ICV over SPI | seq | IV | ciphertext (| seq high with ESN,
 *     RFC 4303 §3.3.3 / Appendix A), truncated.
 *
 * Packet layout (what esp_encap() writes and esp_decap() reads):
 *   SPI(4) | seq(4) | IV | inner packet | pad | pad length | next header | ICV
 * Keys come in the layout of struct ike_child_export (libike: KEYMAT split
 * encr then integ, initiator->responder first; AEAD salt at the end of encr).
 */
#ifndef HAIKED_ESP_SA_H
#define HAIKED_ESP_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "esp_replay.h"

#define ESP_HDR_LEN      8
#define ESP_IV_MAX       16
#define ESP_ICV_MAX      32
#define ESP_KEY_MAX      64
/* Worst-case octets added to an inner packet: header, IV, padding to a
 * 16-octet block, pad length, next header, ICV. */
#define ESP_OVERHEAD_MAX (ESP_HDR_LEN + ESP_IV_MAX + 15 + 2 + ESP_ICV_MAX)

enum esp_result {
    ESP_OK = 0,
    ESP_E_MALFORMED, /* too short, not block aligned, bad pad length */
    ESP_E_REPLAY,    /* duplicate or left of the window */
    ESP_E_INTEGRITY, /* ICV / AEAD tag mismatch */
    ESP_E_PADDING,   /* padding octets not 1, 2, 3, ... (RFC 4303 §2.4) */
    ESP_E_SEQ_EXHAUSTED, /* outbound sequence number would cycle (§3.3.3) */
    ESP_E_SPACE,     /* output buffer too small */
    ESP_E_CRYPTO,    /* OpenSSL failed */
};

const char *esp_result_name(enum esp_result r);

/* One direction's keys (as in struct ike_key_export). */
struct esp_keys {
    const uint8_t *encr;
    size_t encr_len; /* incl. the AEAD salt */
    const uint8_t *integ;
    size_t integ_len;
};

struct esp_sa_params {
    uint16_t encr_id, encr_key_bits, integ_id; /* IKE_ENCR_*, IKE_INTEG_* */
    bool esn;
    uint32_t spi_in, spi_out; /* host order */
    struct esp_keys in, out;
    uint32_t replay_window;   /* 0 = off; clamped to ESP_REPLAY_MAX */
};

struct esp_dir {
    uint32_t spi;
    EVP_CIPHER_CTX *cipher;
    EVP_MAC_CTX *mac; /* CBC suites */
    uint8_t salt[4];
    uint64_t seq;     /* out: last sequence number sent */
};

struct esp_counters {
    uint64_t packets_in, bytes_in, packets_out, bytes_out; /* inner octets */
    uint64_t err[ESP_E_CRYPTO + 1]; /* by enum esp_result (both directions) */
};

struct esp_sa {
    bool aead, esn;
    size_t iv_len, icv_len, block_len; /* block_len: padding alignment */
    struct esp_dir in, out;
    struct esp_replay replay;
    struct esp_counters ctr;
};

/* 0, or -1 with err (unsupported algorithm, key length, OpenSSL). On
 * failure sa holds nothing to free. */
int esp_sa_init(struct esp_sa *sa, const struct esp_sa_params *p, char *err, size_t errlen);
/* Frees the contexts (wiping the keys in them). */
void esp_sa_free(struct esp_sa *sa);

/* Octets in front of the inner packet: header and IV. */
static inline size_t esp_sa_hdr_len(const struct esp_sa *sa)
{
    return ESP_HDR_LEN + sa->iv_len;
}

/*
 * Encapsulates in place: the inner packet (inner_len octets, next_header
 * 4 = IPv4, 41 = IPv6) is at buf + esp_sa_hdr_len(sa); header, IV, trailer
 * and ICV are written around it. cap: octets available at buf. *out_len:
 * the ESP packet's length.
 */
enum esp_result esp_encap(struct esp_sa *sa, uint8_t *buf, size_t inner_len, size_t cap,
                          uint8_t next_header, size_t *out_len);

/*
 * Decapsulates in place: pkt is the ESP packet (SPI first) of our inbound
 * SPI. On ESP_OK *inner points into pkt. Counts every failure in sa->ctr.
 * The replay window moves only for authentic packets.
 */
enum esp_result esp_decap(struct esp_sa *sa, uint8_t *pkt, size_t len, uint8_t **inner,
                          size_t *inner_len, uint8_t *next_header);

/* The SPI of an ESP packet (host order); 0 when too short. */
uint32_t esp_packet_spi(const uint8_t *pkt, size_t len);

#endif
