/* Fixed keys and deterministic sealing for the SK fuzz target; see
 * sk_fixed.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ike/const.h>
#include <ike/transform.h>

#include "helper_hex.h"
#include "sk_fixed.h"

const char *const sk_fixed_suite_name[SK_FIXED_N_SUITES] = {"aes256gcm16", "aes256-sha512"};

/* spi_i / spi_r of the two captures (values.txt). */
const uint8_t sk_fixed_spi_i[SK_FIXED_N_SUITES][8] = {
    {0x1b, 0x55, 0x40, 0xb8, 0x71, 0xbc, 0xe9, 0x63},
    {0x4d, 0x8d, 0xe0, 0x8f, 0x80, 0x46, 0xfa, 0xd3},
};
const uint8_t sk_fixed_spi_r[SK_FIXED_N_SUITES][8] = {
    {0x37, 0xbb, 0xc7, 0x0e, 0xab, 0x9f, 0xf2, 0xd6},
    {0xd9, 0x3b, 0x93, 0x9b, 0x4a, 0xbf, 0x2f, 0x14},
};

struct sk_fixed_key {
    uint16_t encr, key_bits, integ;
    const char *encr_hex[2];  /* [from_initiator]: SK_er, SK_ei */
    const char *integ_hex[2]; /* SK_ar, SK_ai; NULL for AEAD */
};

/* From tests/fixtures/strongswan/<suite>/values.txt. */
static const struct sk_fixed_key sk_fixed_keys[SK_FIXED_N_SUITES] = {
    {IKE_ENCR_AES_GCM_16,
     256,
     IKE_INTEG_NONE,
     {"d350f8cbf7737a32d215eaef03a10582c15ae2cc6388bac70ce342546363dddc86c9cd5b",
      "9152111926cfcaf40925c3451b2f150bf1af8e47b8fb0fb4802edaab42e3ed34e474eca2"},
     {NULL, NULL}},
    {IKE_ENCR_AES_CBC,
     256,
     IKE_INTEG_HMAC_SHA2_512_256,
     {"cb7acca27d6c69df5d87c82aacc7705a69eb957ad79c5c16e1fc4fd484bc3a26",
      "b22026ac6e8d45afe583db20a6de270f815c3c1be924b0ced1f17f97a06b4928"},
     {"ea5dc50e533a6c6445928821136d83a43544e857e169d2f8bd9dd46a32e88677"
      "c2aef45d8f1c2040e760df7599bbe01059a9f56953d17d4d07eaa1410acaa7c9",
      "dd26c8284d94d3be9e321e5d55a6f8eb9de2381c80f744051b5925cc0efe20f0"
      "8f9919f5f1f9e6138c1957c2f7d5428f6ac316039e6808cf9ffd6a41cb301a27"}},
};

static struct ike_sk_cipher *sk_fixed_ciphers[SK_FIXED_N_SUITES][2];

struct ike_sk_cipher *sk_fixed_cipher(enum sk_fixed_suite suite, int from_initiator)
{
    int dir = from_initiator ? 1 : 0;
    if (sk_fixed_ciphers[suite][dir])
        return sk_fixed_ciphers[suite][dir];
    const struct sk_fixed_key *k = &sk_fixed_keys[suite];
    uint8_t encr[64], integ[64];
    size_t encr_len = helper_unhex(k->encr_hex[dir], encr, sizeof(encr));
    size_t integ_len = k->integ_hex[dir] ? helper_unhex(k->integ_hex[dir], integ, sizeof(integ))
                                         : 0;
    struct ike_diag diag = {0};
    enum ike_status st =
        ike_sk_cipher_new(k->encr, k->key_bits, k->integ, encr, encr_len,
                          integ_len ? integ : NULL, integ_len, &sk_fixed_ciphers[suite][dir], &diag);
    if (st != IKE_OK) {
        fprintf(stderr, "sk_fixed: cipher %s: %s (%s)\n", sk_fixed_suite_name[suite],
                ike_status_str(st), diag.reason);
        abort();
    }
    return sk_fixed_ciphers[suite][dir];
}

struct ike_sk_cipher *sk_fixed_cipher_for(enum sk_fixed_suite suite, const struct ike_hdr *hdr)
{
    return sk_fixed_cipher(suite, (hdr->flags & IKE_FLAG_INITIATOR) != 0);
}

enum ike_status sk_fixed_seal(const struct ike_msg *outer, uint8_t sk_type,
                              const struct ike_pld_sk *frame, const uint8_t *padded,
                              size_t padded_len, struct ike_sk_cipher *c, const uint8_t *iv,
                              uint8_t **out, size_t *out_len)
{
    size_t iv_len = ike_sk_cipher_iv_len(c), icv_len = ike_sk_cipher_icv_len(c);
    size_t block = ike_sk_cipher_block_len(c);
    *out = NULL;
    *out_len = 0;
    if (block == 0 || padded_len % block != 0)
        return IKE_E_INVALID_ARG;
    struct ike_pld_sk sk = *frame;
    sk.body = (struct ike_slice){NULL, iv_len + padded_len + icv_len};
    uint8_t *buf = NULL;
    size_t len = 0, body_off = 0;
    struct ike_diag diag = {0};
    enum ike_status st = ike_msg_encode_outer(outer, sk_type, &sk, &buf, &len, &body_off, &diag);
    if (st != IKE_OK)
        return st;
    uint8_t *ct = buf + body_off + iv_len;
    memcpy(buf + body_off, iv, iv_len);
    if (padded_len)
        memcpy(ct, padded, padded_len);
    st = ike_sk_cipher_seal(c, buf, body_off, iv, ct, padded_len, ct, ct + padded_len);
    if (st != IKE_OK) {
        ike_msg_free_buf(buf, len);
        return st;
    }
    *out = buf;
    *out_len = len;
    return IKE_OK;
}

size_t sk_fixed_pad(struct ike_sk_cipher *c, const uint8_t *pt, size_t len, uint8_t *out,
                    size_t cap)
{
    size_t block = ike_sk_cipher_block_len(c);
    size_t rem = (len + 1) % block;
    size_t pad = rem ? block - rem : 0;
    if (len + pad + 1 > cap)
        return 0;
    if (len)
        memcpy(out, pt, len);
    memset(out + len, 0, pad);
    out[len + pad] = (uint8_t)pad;
    return len + pad + 1;
}
