/*
 * Throughput of libike's crypto, for comparison with `openssl speed`
 * (tests/bench/crypto.sh runs both). Prints numbers only; never asserts
 * timing.
 *
 *   bench_crypto [--seconds S] [--mr]
 *
 * --mr prints "kind:variant:ops_per_second" lines for scripts.
 *
 * What one "op" is:
 *   dh_derive      validate the peer's public value + derive g^ir
 *   dh_keygen_derive  a fresh key pair + the above (a responder's cost
 *                  per IKE_SA_INIT)
 *   ike_keyset     SKEYSEED + the seven SK_* keys (prf created once per SA)
 *   sk_seal/open   one ~300-octet IKE_AUTH-sized SK payload (304 octets
 *                  of plaintext, 32 of AAD)
 *   sk_next_iv     one IV (CSPRNG for CBC, a counter for AEAD)
 *   evp_seal       sk_seal's work done with raw EVP calls, no libike
 *   evp_keyset     ike_keyset's HMACs done with raw EVP_MAC calls
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <ike/const.h>
#include <ike/dh.h>
#include <ike/keys.h>
#include <ike/prf.h>
#include <ike/sk_cipher.h>
#include <ike/transform.h>

#include "timing.h"

#define SK_MSG_LEN 304 /* 19 AES blocks: a typical PSK IKE_AUTH payload chain */
#define SK_AAD_LEN 32  /* IKE header + SK generic payload header */

static void report(const char *kind, const char *variant, double rate)
{
    if (rate < 0) {
        fprintf(stderr, "bench_crypto: %s %s failed\n", kind, variant);
        exit(1);
    }
    if (bench_mr)
        printf("%s:%s:%.1f\n", kind, variant, rate);
    else
        printf("%-18s %-22s %14.1f ops/s\n", kind, variant, rate);
    fflush(stdout);
}

/* ---- DH ---- */

struct dh_arg {
    uint16_t group;
    struct ike_dh *own;
    uint8_t peer[600];
    size_t peer_len;
};

static int op_dh_derive(void *p)
{
    struct dh_arg *a = p;
    struct ike_secret *s = NULL;
    int ok = ike_dh_derive(a->own, a->peer, a->peer_len, &s, NULL) == IKE_OK;
    ike_secret_free(s);
    return ok;
}

static int op_dh_keygen_derive(void *p)
{
    struct dh_arg *a = p;
    struct ike_dh *dh = NULL;
    struct ike_secret *s = NULL;
    int ok = ike_dh_new(a->group, &dh, NULL) == IKE_OK &&
             ike_dh_derive(dh, a->peer, a->peer_len, &s, NULL) == IKE_OK;
    ike_secret_free(s);
    ike_dh_free(dh);
    return ok;
}

static void bench_dh(uint16_t group)
{
    struct dh_arg a = {.group = group};
    struct ike_dh *peer = NULL;
    if (ike_dh_new(group, &a.own, NULL) != IKE_OK || ike_dh_new(group, &peer, NULL) != IKE_OK) {
        fprintf(stderr, "bench_crypto: DH group %u unavailable\n", group);
        exit(1);
    }
    const uint8_t *pub = ike_dh_public(peer, &a.peer_len);
    memcpy(a.peer, pub, a.peer_len);
    report("dh_derive", ike_dh_name(group), bench_measure(op_dh_derive, &a));
    report("dh_keygen_derive", ike_dh_name(group), bench_measure(op_dh_keygen_derive, &a));
    ike_dh_free(peer);
    ike_dh_free(a.own);
}

/* ---- IKE key set ---- */

struct keyset_arg {
    struct ike_prf *prf;
    struct ike_keys_suite suite;
    struct ike_keys_nonces nonces;
    struct ike_secret *g_ir;
    uint8_t ni[32], nr[32], spi_i[8], spi_r[8];
};

static int op_keyset(void *p)
{
    struct keyset_arg *a = p;
    struct ike_secret *seed = NULL;
    struct ike_keys_sa keys;
    int ok = ike_keys_skeyseed(a->prf, &a->nonces, a->g_ir, &seed) == IKE_OK &&
             ike_keys_sa_derive(a->prf, &a->suite, seed, &a->nonces, a->spi_i, a->spi_r, &keys) ==
                 IKE_OK;
    if (ok)
        ike_keys_sa_clear(&keys);
    ike_secret_free(seed);
    return ok;
}

/* HMAC invocations per key set: SKEYSEED plus the prf+ blocks. */
static size_t keyset_hmacs(const struct keyset_arg *a)
{
    size_t encr, integ, p = ike_prf_len(a->prf);
    ike_keys_suite_lengths(&a->suite, &encr, &integ);
    size_t total = 3 * p + 2 * integ + 2 * encr;
    return 1 + (total + p - 1) / p;
}

/* The key set's HMACs with raw EVP_MAC calls and no libike: SKEYSEED, then
 * prf+ blocks keyed once. */
struct evp_keyset_arg {
    EVP_MAC_CTX *mac;
    size_t blocks, out_len;
    uint8_t ni_nr[64], g_ir[32], seed[80], t[64], keymat[512];
};

static int op_evp_keyset(void *p)
{
    struct evp_keyset_arg *a = p;
    uint8_t skeyseed[64];
    size_t n = 0;
    if (!EVP_MAC_init(a->mac, a->ni_nr, sizeof(a->ni_nr), NULL) ||
        !EVP_MAC_update(a->mac, a->g_ir, sizeof(a->g_ir)) ||
        !EVP_MAC_final(a->mac, skeyseed, &n, sizeof(skeyseed)))
        return 0;
    for (size_t i = 1; i <= a->blocks; i++) {
        uint8_t ctr = (uint8_t)i;
        if (!EVP_MAC_init(a->mac, i == 1 ? skeyseed : NULL, i == 1 ? n : 0, NULL) ||
            (i > 1 && !EVP_MAC_update(a->mac, a->t, n)) ||
            !EVP_MAC_update(a->mac, a->seed, sizeof(a->seed)) || !EVP_MAC_update(a->mac, &ctr, 1) ||
            !EVP_MAC_final(a->mac, a->t, &n, sizeof(a->t)))
            return 0;
        memcpy(a->keymat + (i - 1) * n, a->t, n);
    }
    return 1;
}

static void bench_evp_keyset(const char *digest, size_t hmacs, const char *variant)
{
    struct evp_keyset_arg a = {.blocks = hmacs - 1};
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", (char *)digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!mac || !(a.mac = EVP_MAC_CTX_new(mac)) || !EVP_MAC_CTX_set_params(a.mac, params))
        exit(1);
    report("evp_keyset", variant, bench_measure(op_evp_keyset, &a));
    EVP_MAC_CTX_free(a.mac);
    EVP_MAC_free(mac);
}

static void bench_keyset(uint16_t prf_id, struct ike_keys_suite suite, size_t g_ir_len)
{
    struct keyset_arg a = {.suite = suite};
    if (ike_prf_new(prf_id, &a.prf) != IKE_OK || ike_secret_new(g_ir_len, &a.g_ir) != IKE_OK)
        exit(1);
    RAND_bytes(a.g_ir->data, (int)g_ir_len);
    RAND_bytes(a.ni, sizeof(a.ni));
    RAND_bytes(a.nr, sizeof(a.nr));
    a.nonces = (struct ike_keys_nonces){a.ni, sizeof(a.ni), a.nr, sizeof(a.nr)};
    char variant[64];
    snprintf(variant, sizeof(variant), "%s-%s/%zu",
             ike_encr_name(suite.encr_id, suite.encr_key_bits), ike_prf_name(prf_id),
             keyset_hmacs(&a));
    report("ike_keyset", variant, bench_measure(op_keyset, &a));
    bench_evp_keyset(ike_prf_len(a.prf) == 32 ? "SHA256" : "SHA512", keyset_hmacs(&a), variant);
    ike_secret_free(a.g_ir);
    ike_prf_free(a.prf);
}

/* ---- SK payload ---- */

struct sk_arg {
    struct ike_sk_cipher *c;
    uint8_t aad[SK_AAD_LEN], iv[16], pt[SK_MSG_LEN], ct[SK_MSG_LEN], icv[32], out[SK_MSG_LEN];
};

/* The IV is produced separately (op_next_iv): openssl speed has no
 * counterpart for it, and for CBC it is a call to the CSPRNG. */
static int op_seal(void *p)
{
    struct sk_arg *a = p;
    return ike_sk_cipher_seal(a->c, a->aad, SK_AAD_LEN, a->iv, a->pt, SK_MSG_LEN, a->ct, a->icv) ==
           IKE_OK;
}

static int op_next_iv(void *p)
{
    struct sk_arg *a = p;
    return ike_sk_cipher_next_iv(a->c, a->iv) == IKE_OK;
}

static int op_open(void *p)
{
    struct sk_arg *a = p;
    return ike_sk_cipher_open(a->c, a->aad, SK_AAD_LEN, a->iv, a->ct, SK_MSG_LEN, a->icv, a->out,
                              NULL) == IKE_OK;
}

/* The same seal done with raw EVP calls and no libike in between, to tell
 * libike's overhead apart from OpenSSL's per-call cost (openssl speed's
 * loops differ from what an IKE message needs). */
struct evp_arg {
    EVP_CIPHER_CTX *ctx;
    EVP_MAC_CTX *mac; /* NULL for AEAD */
    uint8_t aad[SK_AAD_LEN], iv[16], buf[SK_MSG_LEN], tag[64];
};

static int op_evp_seal(void *p)
{
    struct evp_arg *a = p;
    int n = 0, n2 = 0;
    size_t ml = 0;
    if (!EVP_CipherInit_ex2(a->ctx, NULL, NULL, a->iv, -1, NULL))
        return 0;
    if (!a->mac) {
        return EVP_CipherUpdate(a->ctx, NULL, &n, a->aad, SK_AAD_LEN) &&
               EVP_CipherUpdate(a->ctx, a->buf, &n, a->buf, SK_MSG_LEN) &&
               EVP_CipherFinal_ex(a->ctx, a->buf + n, &n2) &&
               EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, 16, a->tag);
    }
    return EVP_CipherUpdate(a->ctx, a->buf, &n, a->buf, SK_MSG_LEN) &&
           EVP_CipherFinal_ex(a->ctx, a->buf + n, &n2) && EVP_MAC_init(a->mac, NULL, 0, NULL) &&
           EVP_MAC_update(a->mac, a->aad, SK_AAD_LEN) && EVP_MAC_update(a->mac, a->iv, 16) &&
           EVP_MAC_update(a->mac, a->buf, SK_MSG_LEN) &&
           EVP_MAC_final(a->mac, a->tag, &ml, sizeof(a->tag));
}

static void bench_evp_seal(const char *cipher, const char *digest, const char *variant)
{
    static const uint8_t key[32] = {1};
    struct evp_arg *a = calloc(1, sizeof(*a));
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, cipher, NULL);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!a || !c || !mac || !(a->ctx = EVP_CIPHER_CTX_new()) ||
        !EVP_CipherInit_ex2(a->ctx, c, key, NULL, 1, NULL))
        exit(1);
    if (digest) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string("digest", (char *)digest, 0),
            OSSL_PARAM_construct_end(),
        };
        EVP_CIPHER_CTX_set_padding(a->ctx, 0);
        if (!(a->mac = EVP_MAC_CTX_new(mac)) || !EVP_MAC_init(a->mac, key, 32, params))
            exit(1);
    }
    report("evp_seal", variant, bench_measure(op_evp_seal, a));
    EVP_MAC_CTX_free(a->mac);
    EVP_CIPHER_CTX_free(a->ctx);
    EVP_MAC_free(mac);
    EVP_CIPHER_free(c);
    free(a);
}

static void bench_sk(uint16_t encr, uint16_t bits, uint16_t integ, const char *variant)
{
    struct ike_encr_info ei;
    struct ike_integ_info ii = {0};
    if (ike_encr_lookup(encr, bits, &ei) != IKE_OK ||
        (integ != IKE_INTEG_NONE && ike_integ_lookup(integ, &ii) != IKE_OK))
        exit(1);
    uint8_t ek[64], ik[64];
    RAND_bytes(ek, sizeof(ek));
    RAND_bytes(ik, sizeof(ik));
    struct sk_arg *a = calloc(1, sizeof(*a));
    if (!a || ike_sk_cipher_new(encr, bits, integ, ek, ei.key_len, ii.key_len ? ik : NULL,
                                ii.key_len, &a->c, NULL) != IKE_OK)
        exit(1);
    RAND_bytes(a->aad, sizeof(a->aad));
    RAND_bytes(a->pt, sizeof(a->pt));
    report("sk_next_iv", variant, bench_measure(op_next_iv, a));
    report("sk_seal", variant, bench_measure(op_seal, a));
    report("sk_open", variant, bench_measure(op_open, a));
    ike_sk_cipher_free(a->c);
    free(a);
}

int main(int argc, char **argv)
{
    if (bench_parse_args(argc, argv) != 0)
        return 2;

    static const uint16_t groups[] = {IKE_DH_MODP_2048, IKE_DH_MODP_3072, IKE_DH_MODP_4096,
                                      IKE_DH_ECP_256,   IKE_DH_ECP_384,   IKE_DH_ECP_521,
                                      IKE_DH_CURVE25519};
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        bench_dh(groups[i]);

    bench_keyset(IKE_PRF_HMAC_SHA2_256, (struct ike_keys_suite){IKE_ENCR_AES_GCM_16, 256, 0}, 32);
    bench_keyset(IKE_PRF_HMAC_SHA2_256,
                 (struct ike_keys_suite){IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_256_128}, 32);

    bench_sk(IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE, "aes256gcm16");
    bench_evp_seal("AES-256-GCM", NULL, "aes256gcm16");
    bench_sk(IKE_ENCR_CHACHA20_POLY1305, 0, IKE_INTEG_NONE, "chacha20poly1305");
    bench_evp_seal("ChaCha20-Poly1305", NULL, "chacha20poly1305");
    bench_sk(IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_256_128, "aes256-sha256");
    bench_evp_seal("AES-256-CBC", "SHA256", "aes256-sha256");
    return 0;
}
