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
 *   sk_seal/open   one ~300-octet IKE_AUTH-sized SK payload
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include <ike/const.h>
#include <ike/dh.h>
#include <ike/keys.h>
#include <ike/prf.h>
#include <ike/sk_cipher.h>
#include <ike/transform.h>

#define SK_MSG_LEN 304 /* 19 AES blocks: a typical PSK IKE_AUTH payload chain */
#define SK_AAD_LEN 32  /* IKE header + SK generic payload header */

static double opt_seconds = 1.0;
static int opt_mr;

typedef int (*bench_op)(void *arg);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs op until opt_seconds have passed; returns ops per second. */
static double measure(bench_op op, void *arg)
{
    if (!op(arg)) /* warm-up, and a sanity check */
        return -1;
    unsigned long n = 0;
    double start = now(), elapsed;
    do {
        for (int i = 0; i < 16; i++) {
            if (!op(arg))
                return -1;
        }
        n += 16;
        elapsed = now() - start;
    } while (elapsed < opt_seconds);
    return (double)n / elapsed;
}

static void report(const char *kind, const char *variant, double rate)
{
    if (rate < 0) {
        fprintf(stderr, "bench_crypto: %s %s failed\n", kind, variant);
        exit(1);
    }
    if (opt_mr)
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
    report("dh_derive", ike_dh_name(group), measure(op_dh_derive, &a));
    report("dh_keygen_derive", ike_dh_name(group), measure(op_dh_keygen_derive, &a));
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
             ike_keys_sa_derive(a->prf, &a->suite, seed, &a->nonces, a->spi_i, a->spi_r,
                                &keys) == IKE_OK;
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
    snprintf(variant, sizeof(variant), "%s-%s/%zu", ike_encr_name(suite.encr_id, suite.encr_key_bits),
             ike_prf_name(prf_id), keyset_hmacs(&a));
    report("ike_keyset", variant, measure(op_keyset, &a));
    ike_secret_free(a.g_ir);
    ike_prf_free(a.prf);
}

/* ---- SK payload ---- */

struct sk_arg {
    struct ike_sk_cipher *c;
    uint8_t aad[SK_AAD_LEN], iv[16], pt[SK_MSG_LEN], ct[SK_MSG_LEN], icv[32], out[SK_MSG_LEN];
};

static int op_seal(void *p)
{
    struct sk_arg *a = p;
    return ike_sk_cipher_next_iv(a->c, a->iv) == IKE_OK &&
           ike_sk_cipher_seal(a->c, a->aad, SK_AAD_LEN, a->iv, a->pt, SK_MSG_LEN, a->ct,
                              a->icv) == IKE_OK;
}

static int op_open(void *p)
{
    struct sk_arg *a = p;
    return ike_sk_cipher_open(a->c, a->aad, SK_AAD_LEN, a->iv, a->ct, SK_MSG_LEN, a->icv, a->out,
                              NULL) == IKE_OK;
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
    report("sk_seal", variant, measure(op_seal, a));
    report("sk_open", variant, measure(op_open, a));
    ike_sk_cipher_free(a->c);
    free(a);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            opt_seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--mr") == 0)
            opt_mr = 1;
        else {
            fprintf(stderr, "usage: %s [--seconds S] [--mr]\n", argv[0]);
            return 2;
        }
    }
    if (opt_seconds <= 0)
        opt_seconds = 1.0;

    static const uint16_t groups[] = {IKE_DH_MODP_2048, IKE_DH_MODP_3072, IKE_DH_MODP_4096,
                                      IKE_DH_ECP_256,   IKE_DH_ECP_384,   IKE_DH_ECP_521,
                                      IKE_DH_CURVE25519};
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        bench_dh(groups[i]);

    bench_keyset(IKE_PRF_HMAC_SHA2_256, (struct ike_keys_suite){IKE_ENCR_AES_GCM_16, 256, 0}, 32);
    bench_keyset(IKE_PRF_HMAC_SHA2_256,
                 (struct ike_keys_suite){IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_256_128}, 32);

    bench_sk(IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE, "aes256gcm16");
    bench_sk(IKE_ENCR_CHACHA20_POLY1305, 0, IKE_INTEG_NONE, "chacha20poly1305");
    bench_sk(IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_256_128, "aes256-sha256");
    return 0;
}
