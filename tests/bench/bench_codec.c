/*
 * Throughput of libike's message codec with the SK layer, for IKE_AUTH-
 * sized messages, next to raw OpenSSL EVP doing only the cryptography of
 * the same message (tests/bench/codec.sh adds `openssl speed -evp`).
 * Prints numbers only; never asserts timing.
 *
 *   bench_codec [--seconds S] [--mr]
 *
 * --mr prints "kind:suite/message:ops_per_second:octets" lines.
 *
 * What one op is, per message (tests/fuzz/seed_msgs.c: the PSK IKE_AUTH
 * request and response: IDi/IDr, AUTH, N, CP, SA, TSi, TSr):
 *   decode_verify   ike_msg_decode + ike_sk_unprotect (ICV check,
 *                   decryption, inner decode) + ike_msg_check_rules
 *   encode_protect  ike_sk_protect (inner encode, padding, fresh IV,
 *                   encryption, ICV, outer encode) of the built message
 *   decode_plain    decode + decode_inner of the same chain unencrypted
 *                   + rules: the codec alone, no crypto
 *   evp_open        raw EVP on the same octets: AES-GCM decrypt + tag
 *                   check, or HMAC-SHA2-512 over AAD|IV|ct + AES-CBC
 *                   decrypt; no parsing, contexts keyed once
 *   evp_seal        the reverse: encrypt + tag / encrypt + HMAC
 * The ratio codec/EVP is what decoding and encoding add over the crypto.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <ike/const.h>
#include <ike/message.h>
#include <ike/sk.h>

#include "seed_msgs.h"
#include "sk_fixed.h"
#include "timing.h"

static void report(const char *kind, const char *variant, double rate, size_t octets)
{
    if (rate < 0) {
        fprintf(stderr, "bench_codec: %s %s failed\n", kind, variant);
        exit(1);
    }
    if (bench_mr)
        printf("%s:%s:%.1f:%zu\n", kind, variant, rate, octets);
    else
        printf("%-15s %-28s %5zu octets %12.1f msgs/s %8.2f MB/s\n", kind, variant, octets, rate,
               rate * (double)octets / 1e6);
    fflush(stdout);
}

/* ---- libike ---------------------------------------------------------- */

struct codec_arg {
    struct ike_msg msg;          /* the built message */
    struct ike_sk_cipher *c;
    uint8_t *dgram, *plain;      /* protected / inner chain in clear */
    size_t dgram_len, plain_len;
    uint8_t *pt;                 /* inner chain */
    size_t pt_len;
    uint8_t first;
};

static int op_decode_verify(void *p)
{
    struct codec_arg *a = p;
    struct ike_msg m = {0};
    int ok = ike_msg_decode(&m, a->dgram, a->dgram_len, NULL) == IKE_OK &&
             ike_sk_unprotect(&m, a->c, NULL) == IKE_OK && ike_msg_check_rules(&m, NULL) == IKE_OK;
    ike_msg_clear(&m);
    return ok;
}

static int op_encode_protect(void *p)
{
    struct codec_arg *a = p;
    uint8_t *out = NULL;
    size_t len = 0;
    int ok = ike_sk_protect(&a->msg, a->c, &out, &len, NULL) == IKE_OK;
    ike_msg_free_buf(out, len);
    return ok;
}

static int op_decode_plain(void *p)
{
    struct codec_arg *a = p;
    struct ike_msg m = {0};
    int ok = ike_msg_decode(&m, a->plain, a->plain_len, NULL) == IKE_OK &&
             ike_msg_decode_inner(&m, a->pt, a->pt_len, a->first, NULL) == IKE_OK &&
             ike_msg_check_rules(&m, NULL) == IKE_OK;
    ike_msg_clear(&m);
    return ok;
}

/* ---- raw EVP on the same octets ---------------------------------------- */

struct evp_arg {
    int aead;
    EVP_CIPHER_CTX *enc, *dec;
    EVP_MAC_CTX *mac;            /* HMAC-SHA2-512 keyed once; NULL for GCM */
    const uint8_t *aad, *iv, *ct, *icv;
    size_t aad_len, iv_len, ct_len, icv_len;
    uint8_t out[IKE_MSG_MAX_LEN], tag[64];
};

static int op_evp_open(void *p)
{
    struct evp_arg *a = p;
    int n = 0, n2 = 0;
    size_t ml = 0;
    if (a->aead) {
        uint8_t nonce[12] = {0}; /* salt | IV, the salt as in op_evp_seal */
        memcpy(nonce + 4, a->iv, 8);
        return EVP_DecryptInit_ex2(a->dec, NULL, NULL, nonce, NULL) &&
               EVP_DecryptUpdate(a->dec, NULL, &n, a->aad, (int)a->aad_len) &&
               EVP_DecryptUpdate(a->dec, a->out, &n, a->ct, (int)a->ct_len) &&
               EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_AEAD_SET_TAG, 16, (void *)a->icv) &&
               EVP_DecryptFinal_ex(a->dec, a->out + n, &n2);
    }
    return EVP_MAC_init(a->mac, NULL, 0, NULL) && EVP_MAC_update(a->mac, a->aad, a->aad_len) &&
           EVP_MAC_update(a->mac, a->iv, a->iv_len) && EVP_MAC_update(a->mac, a->ct, a->ct_len) &&
           EVP_MAC_final(a->mac, a->tag, &ml, sizeof(a->tag)) &&
           CRYPTO_memcmp(a->tag, a->icv, a->icv_len) == 0 &&
           EVP_DecryptInit_ex2(a->dec, NULL, NULL, a->iv, NULL) &&
           EVP_DecryptUpdate(a->dec, a->out, &n, a->ct, (int)a->ct_len) &&
           EVP_DecryptFinal_ex(a->dec, a->out + n, &n2);
}

static int op_evp_seal(void *p)
{
    struct evp_arg *a = p;
    int n = 0, n2 = 0;
    size_t ml = 0;
    if (a->aead) {
        uint8_t nonce[12] = {0};
        memcpy(nonce + 4, a->iv, 8);
        return EVP_EncryptInit_ex2(a->enc, NULL, NULL, nonce, NULL) &&
               EVP_EncryptUpdate(a->enc, NULL, &n, a->aad, (int)a->aad_len) &&
               EVP_EncryptUpdate(a->enc, a->out, &n, a->ct, (int)a->ct_len) &&
               EVP_EncryptFinal_ex(a->enc, a->out + n, &n2) &&
               EVP_CIPHER_CTX_ctrl(a->enc, EVP_CTRL_AEAD_GET_TAG, 16, a->tag);
    }
    return EVP_EncryptInit_ex2(a->enc, NULL, NULL, a->iv, NULL) &&
           EVP_EncryptUpdate(a->enc, a->out, &n, a->ct, (int)a->ct_len) &&
           EVP_EncryptFinal_ex(a->enc, a->out + n, &n2) && EVP_MAC_init(a->mac, NULL, 0, NULL) &&
           EVP_MAC_update(a->mac, a->aad, a->aad_len) &&
           EVP_MAC_update(a->mac, a->iv, a->iv_len) &&
           EVP_MAC_update(a->mac, a->out, a->ct_len) &&
           EVP_MAC_final(a->mac, a->tag, &ml, sizeof(a->tag));
}

/* Keyed contexts for the message in a->dgram (the GCM tag will not verify
 * under this key, so evp_open for GCM decrypts a ciphertext sealed by
 * evp_seal first). */
static void evp_setup(struct evp_arg *e, enum sk_fixed_suite suite, const struct codec_arg *a,
                      size_t body_off)
{
    static const uint8_t key[64] = {7};
    struct ike_sk_cipher *c = a->c;
    e->aead = suite == SK_FIXED_GCM;
    e->iv_len = ike_sk_cipher_iv_len(c);
    e->icv_len = ike_sk_cipher_icv_len(c);
    e->aad = a->dgram;
    e->aad_len = body_off;
    e->iv = a->dgram + body_off;
    e->ct = e->iv + e->iv_len;
    e->ct_len = a->dgram_len - body_off - e->iv_len - e->icv_len;
    e->icv = e->ct + e->ct_len;
    const char *name = e->aead ? "AES-256-GCM" : "AES-256-CBC";
    EVP_CIPHER *ciph = EVP_CIPHER_fetch(NULL, name, NULL);
    if (!ciph || !(e->enc = EVP_CIPHER_CTX_new()) || !(e->dec = EVP_CIPHER_CTX_new()) ||
        !EVP_EncryptInit_ex2(e->enc, ciph, key, NULL, NULL) ||
        !EVP_DecryptInit_ex2(e->dec, ciph, key, NULL, NULL))
        exit(1);
    EVP_CIPHER_free(ciph);
    if (!e->aead) {
        EVP_CIPHER_CTX_set_padding(e->enc, 0);
        EVP_CIPHER_CTX_set_padding(e->dec, 0);
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA512", 0),
                               OSSL_PARAM_construct_end()};
        if (!mac || !(e->mac = EVP_MAC_CTX_new(mac)) || !EVP_MAC_init(e->mac, key, 64, params))
            exit(1);
        EVP_MAC_free(mac);
    }
}

static void bench_message(enum sk_fixed_suite suite, const struct seed_msg *sm)
{
    struct codec_arg *a = calloc(1, sizeof(*a));
    struct evp_arg *e = calloc(1, sizeof(*e));
    struct ike_diag d = {0};
    char variant[96];
    size_t body_off = 0;
    if (!a || !e || !sm->build(&a->msg, sk_fixed_spi_i[suite], sk_fixed_spi_r[suite]))
        exit(1);
    a->c = sk_fixed_cipher_for(suite, &a->msg.hdr);
    struct ike_pld_sk plain = {0};
    if (ike_sk_protect(&a->msg, a->c, &a->dgram, &a->dgram_len, &d) != IKE_OK ||
        ike_msg_encode_inner(&a->msg, &a->pt, &a->pt_len, &a->first, &d) != IKE_OK) {
        fprintf(stderr, "bench_codec: %s: %s\n", sm->name, d.reason);
        exit(1);
    }
    plain.first_inner = a->first;
    plain.body = (struct ike_slice){a->pt, a->pt_len};
    if (ike_msg_encode_outer(&a->msg, IKE_PLD_SK, &plain, &a->plain, &a->plain_len, &body_off,
                             &d) != IKE_OK)
        exit(1);
    snprintf(variant, sizeof(variant), "%s/%s", sk_fixed_suite_name[suite], sm->name);
    report("decode_verify", variant, bench_measure(op_decode_verify, a), a->dgram_len);
    report("encode_protect", variant, bench_measure(op_encode_protect, a), a->dgram_len);
    report("decode_plain", variant, bench_measure(op_decode_plain, a), a->plain_len);

    evp_setup(e, suite, a, body_off);
    report("evp_seal", variant, bench_measure(op_evp_seal, e), a->dgram_len);
    if (e->aead) { /* open what evp_seal produced under its key */
        static uint8_t sealed[IKE_MSG_MAX_LEN];
        memcpy(sealed, e->out, e->ct_len);
        memcpy(sealed + e->ct_len, e->tag, 16);
        e->ct = sealed;
        e->icv = sealed + e->ct_len;
    } else { /* the ICV under evp's key */
        static uint8_t icv[64];
        size_t ml = 0;
        if (!EVP_MAC_init(e->mac, NULL, 0, NULL) || !EVP_MAC_update(e->mac, e->aad, e->aad_len) ||
            !EVP_MAC_update(e->mac, e->iv, e->iv_len) ||
            !EVP_MAC_update(e->mac, e->ct, e->ct_len) || !EVP_MAC_final(e->mac, icv, &ml, 64))
            exit(1);
        e->icv = icv;
    }
    report("evp_open", variant, bench_measure(op_evp_open, e), a->dgram_len);

    EVP_CIPHER_CTX_free(e->enc);
    EVP_CIPHER_CTX_free(e->dec);
    EVP_MAC_CTX_free(e->mac);
    ike_msg_free_buf(a->dgram, a->dgram_len);
    ike_msg_free_buf(a->plain, a->plain_len);
    ike_msg_free_buf(a->pt, a->pt_len);
    ike_msg_clear(&a->msg);
    free(a);
    free(e);
}

int main(int argc, char **argv)
{
    if (bench_parse_args(argc, argv) != 0)
        return 2;
    static const char *const msgs[] = {"ike_auth_req", "ike_auth_resp"};
    for (int s = 0; s < SK_FIXED_N_SUITES; s++)
        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
            bench_message((enum sk_fixed_suite)s, seed_msg_find(msgs[i]));
    return 0;
}
