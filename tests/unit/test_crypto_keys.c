/*
 * Key derivation (RFC 7296 §2.14, §2.17, §2.18) and shared-key AUTH
 * (§2.15), each checked against an independent computation written here
 * from the RFC formulas with OpenSSL's one-shot HMAC (EVP_Q_mac).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <ike/auth.h>
#include <ike/const.h>
#include <ike/keys.h>

/* ---- reference implementation ---- */

static const char *digest_of(uint16_t prf_id)
{
    switch (prf_id) {
    case IKE_PRF_HMAC_SHA1: return "SHA1";
    case IKE_PRF_HMAC_SHA2_256: return "SHA256";
    case IKE_PRF_HMAC_SHA2_384: return "SHA384";
    case IKE_PRF_HMAC_SHA2_512: return "SHA512";
    }
    fail_msg("no digest for PRF %u", prf_id);
    return NULL;
}

static size_t ref_prf(uint16_t prf_id, const uint8_t *key, size_t key_len, const uint8_t *data,
                      size_t data_len, uint8_t *out)
{
    size_t n = 0;
    assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, digest_of(prf_id), NULL, key, key_len, data,
                              data_len, out, 64, &n));
    return n;
}

/* prf+ exactly as §2.13 writes it: T1 = prf(K, S | 0x01), ... */
static void ref_prf_plus(uint16_t prf_id, const uint8_t *key, size_t key_len, const uint8_t *s,
                         size_t s_len, uint8_t *out, size_t out_len)
{
    uint8_t t[64], msg[2048];
    size_t t_len = 0, done = 0;
    for (unsigned n = 1; done < out_len; n++) {
        assert_true(t_len + s_len + 1 <= sizeof(msg));
        memcpy(msg, t, t_len);
        memcpy(msg + t_len, s, s_len);
        msg[t_len + s_len] = (uint8_t)n;
        t_len = ref_prf(prf_id, key, key_len, msg, t_len + s_len + 1, t);
        size_t take = out_len - done < t_len ? out_len - done : t_len;
        memcpy(out + done, t, take);
        done += take;
    }
}

static size_t cat(uint8_t *out, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    if (a_len > 0)
        memcpy(out, a, a_len);
    if (b_len > 0)
        memcpy(out + a_len, b, b_len);
    return a_len + b_len;
}

/* ---- fixtures ---- */

struct material {
    uint8_t ni[64], nr[48], spi_i[8], spi_r[8];
    struct ike_secret *g_ir;
    struct ike_keys_nonces nonces;
};

static void material_init(struct material *m, size_t g_ir_len)
{
    assert_int_equal(RAND_bytes(m->ni, sizeof(m->ni)), 1);
    assert_int_equal(RAND_bytes(m->nr, sizeof(m->nr)), 1);
    assert_int_equal(RAND_bytes(m->spi_i, 8), 1);
    assert_int_equal(RAND_bytes(m->spi_r, 8), 1);
    assert_int_equal(ike_secret_new(g_ir_len, &m->g_ir), IKE_OK);
    assert_int_equal(RAND_bytes(m->g_ir->data, (int)g_ir_len), 1);
    m->nonces = (struct ike_keys_nonces){m->ni, sizeof(m->ni), m->nr, sizeof(m->nr)};
}

static struct ike_prf *prf_new(uint16_t id)
{
    struct ike_prf *prf = NULL;
    assert_int_equal(ike_prf_new(id, &prf), IKE_OK);
    return prf;
}

static void assert_secret(const struct ike_secret *s, const uint8_t *expect, size_t len)
{
    assert_non_null(s);
    assert_int_equal(s->len, len);
    if (len > 0)
        assert_memory_equal(s->data, expect, len);
}

/* Returns *at, then moves it len octets on. */
static size_t advance(size_t *at, size_t len)
{
    size_t here = *at;
    *at += len;
    return here;
}

/* ---- tests ---- */

static void test_skeyseed(void **state)
{
    static const uint16_t prfs[] = {IKE_PRF_HMAC_SHA1, IKE_PRF_HMAC_SHA2_256, IKE_PRF_HMAC_SHA2_384,
                                    IKE_PRF_HMAC_SHA2_512};
    struct material m;
    material_init(&m, 256);
    for (size_t i = 0; i < 4; i++) {
        struct ike_prf *prf = prf_new(prfs[i]);
        struct ike_secret *seed = NULL;
        assert_int_equal(ike_keys_skeyseed(prf, &m.nonces, m.g_ir, &seed), IKE_OK);
        uint8_t key[112], expect[64];
        size_t key_len = cat(key, m.ni, sizeof(m.ni), m.nr, sizeof(m.nr));
        size_t n = ref_prf(prfs[i], key, key_len, m.g_ir->data, m.g_ir->len, expect);
        assert_secret(seed, expect, n);
        ike_secret_free(seed);
        ike_prf_free(prf);
    }
    ike_secret_free(m.g_ir);
}

struct sa_case {
    uint16_t prf;
    struct ike_keys_suite suite;
    size_t encr_len, integ_len;
};

static const struct sa_case sa_cases[] = {
    {IKE_PRF_HMAC_SHA2_256, {IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_256_128}, 32, 32},
    {IKE_PRF_HMAC_SHA1, {IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA1_96}, 16, 20},
    {IKE_PRF_HMAC_SHA2_384, {IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE}, 36, 0},
    {IKE_PRF_HMAC_SHA2_512, {IKE_ENCR_CHACHA20_POLY1305, 0, IKE_INTEG_NONE}, 36, 0},
    {IKE_PRF_HMAC_SHA2_512, {IKE_ENCR_AES_CBC, 192, IKE_INTEG_HMAC_SHA2_512_256}, 24, 64},
};

static void check_sa_keys(const struct sa_case *tc, struct material *m)
{
    struct ike_prf *prf = prf_new(tc->prf);
    size_t p = ike_prf_len(prf);
    struct ike_secret *skeyseed = NULL;
    assert_int_equal(ike_keys_skeyseed(prf, &m->nonces, m->g_ir, &skeyseed), IKE_OK);
    struct ike_keys_sa k;
    assert_int_equal(
        ike_keys_sa_derive(prf, &tc->suite, skeyseed, &m->nonces, m->spi_i, m->spi_r, &k), IKE_OK);

    /* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
     *     = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr) */
    uint8_t s[128], km[1024];
    size_t s_len = cat(s, m->ni, sizeof(m->ni), m->nr, sizeof(m->nr));
    s_len += cat(s + s_len, m->spi_i, 8, m->spi_r, 8);
    size_t total = 3 * p + 2 * tc->integ_len + 2 * tc->encr_len;
    ref_prf_plus(tc->prf, skeyseed->data, skeyseed->len, s, s_len, km, total);
    size_t at = 0;
    assert_secret(k.sk_d, km + advance(&at, p), p);
    assert_secret(k.sk_ai, km + advance(&at, tc->integ_len), tc->integ_len);
    assert_secret(k.sk_ar, km + advance(&at, tc->integ_len), tc->integ_len);
    assert_secret(k.sk_ei, km + advance(&at, tc->encr_len), tc->encr_len);
    assert_secret(k.sk_er, km + advance(&at, tc->encr_len), tc->encr_len);
    assert_secret(k.sk_pi, km + advance(&at, p), p);
    assert_secret(k.sk_pr, km + advance(&at, p), p);
    assert_int_equal(at, total);
    ike_keys_sa_clear(&k);
    assert_null(k.sk_d);
    ike_secret_free(skeyseed);
    ike_prf_free(prf);
}

static void test_sa_keys(void **state)
{
    struct material m;
    material_init(&m, 32);
    for (size_t i = 0; i < sizeof(sa_cases) / sizeof(sa_cases[0]); i++)
        check_sa_keys(&sa_cases[i], &m);
    ike_secret_free(m.g_ir);
}

/* §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the OLD
 * SA's PRF, then the new keys with the NEW SA's PRF and SPIs. */
static void test_rekey_skeyseed(void **state)
{
    struct material m;
    material_init(&m, 66);
    struct ike_prf *old_prf = prf_new(IKE_PRF_HMAC_SHA1);
    struct ike_prf *new_prf = prf_new(IKE_PRF_HMAC_SHA2_256);
    struct ike_secret *old_sk_d = NULL;
    assert_int_equal(ike_secret_new(20, &old_sk_d), IKE_OK);
    assert_int_equal(RAND_bytes(old_sk_d->data, 20), 1);

    struct ike_secret *seed = NULL;
    assert_int_equal(ike_keys_skeyseed_rekey(old_prf, old_sk_d, m.g_ir, &m.nonces, &seed), IKE_OK);
    uint8_t msg[256], expect[64];
    size_t len = cat(msg, m.g_ir->data, m.g_ir->len, m.ni, sizeof(m.ni));
    len += cat(msg + len, m.nr, sizeof(m.nr), NULL, 0);
    size_t n = ref_prf(IKE_PRF_HMAC_SHA1, old_sk_d->data, 20, msg, len, expect);
    assert_int_equal(n, 20);
    assert_secret(seed, expect, n);

    struct ike_keys_suite suite = {IKE_ENCR_AES_GCM_16, 128, IKE_INTEG_NONE};
    struct ike_keys_sa k;
    assert_int_equal(ike_keys_sa_derive(new_prf, &suite, seed, &m.nonces, m.spi_i, m.spi_r, &k),
                     IKE_OK);
    assert_int_equal(k.sk_d->len, 32);
    assert_int_equal(k.sk_ei->len, 20);
    assert_int_equal(k.sk_ai->len, 0);
    ike_keys_sa_clear(&k);
    ike_secret_free(seed);
    ike_secret_free(old_sk_d);
    ike_prf_free(old_prf);
    ike_prf_free(new_prf);
    ike_secret_free(m.g_ir);
}

/* §2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), taken as
 * encr_i | integ_i | encr_r | integ_r. */
static void check_child(uint16_t prf_id, const struct ike_keys_suite *esp, size_t encr_len,
                        size_t integ_len, bool pfs)
{
    struct material m;
    material_init(&m, pfs ? 384 : 1);
    struct ike_prf *prf = prf_new(prf_id);
    struct ike_secret *sk_d = NULL;
    assert_int_equal(ike_secret_new(ike_prf_len(prf), &sk_d), IKE_OK);
    assert_int_equal(RAND_bytes(sk_d->data, (int)sk_d->len), 1);
    struct ike_keys_child k;
    assert_int_equal(ike_keys_child_derive(prf, esp, sk_d, pfs ? m.g_ir : NULL, &m.nonces, &k),
                     IKE_OK);

    uint8_t s[512], km[512];
    size_t s_len = pfs ? cat(s, m.g_ir->data, m.g_ir->len, NULL, 0) : 0;
    s_len += cat(s + s_len, m.ni, sizeof(m.ni), m.nr, sizeof(m.nr));
    size_t total = 2 * (encr_len + integ_len);
    ref_prf_plus(prf_id, sk_d->data, sk_d->len, s, s_len, km, total);
    assert_secret(k.encr_i, km, encr_len);
    assert_secret(k.integ_i, km + encr_len, integ_len);
    assert_secret(k.encr_r, km + encr_len + integ_len, encr_len);
    assert_secret(k.integ_r, km + 2 * encr_len + integ_len, integ_len);
    ike_keys_child_clear(&k);
    ike_secret_free(sk_d);
    ike_prf_free(prf);
    ike_secret_free(m.g_ir);
}

static void test_child_keys(void **state)
{
    struct ike_keys_suite gcm128 = {IKE_ENCR_AES_GCM_16, 128, IKE_INTEG_NONE};
    struct ike_keys_suite cbc256 = {IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_256_128};
    struct ike_keys_suite chacha = {IKE_ENCR_CHACHA20_POLY1305, 256, IKE_INTEG_NONE};
    struct ike_keys_suite cbc128 = {IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA1_96};
    check_child(IKE_PRF_HMAC_SHA2_256, &gcm128, 20, 0, false);
    check_child(IKE_PRF_HMAC_SHA2_256, &gcm128, 20, 0, true);
    check_child(IKE_PRF_HMAC_SHA2_384, &cbc256, 32, 32, false);
    check_child(IKE_PRF_HMAC_SHA2_384, &cbc256, 32, 32, true);
    check_child(IKE_PRF_HMAC_SHA2_512, &chacha, 36, 0, true);
    check_child(IKE_PRF_HMAC_SHA1, &cbc128, 16, 20, false);
}

/* With and without PFS the keys differ (g^ir really enters the seed). */
static void test_child_pfs_changes_keys(void **state)
{
    struct material m;
    material_init(&m, 32);
    struct ike_prf *prf = prf_new(IKE_PRF_HMAC_SHA2_256);
    struct ike_secret *sk_d = NULL;
    assert_int_equal(ike_secret_new(32, &sk_d), IKE_OK);
    struct ike_keys_suite esp = {IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE};
    struct ike_keys_child a, b;
    assert_int_equal(ike_keys_child_derive(prf, &esp, sk_d, NULL, &m.nonces, &a), IKE_OK);
    assert_int_equal(ike_keys_child_derive(prf, &esp, sk_d, m.g_ir, &m.nonces, &b), IKE_OK);
    assert_false(ike_secret_equal(a.encr_i, b.encr_i));
    assert_false(ike_secret_equal(a.encr_i, a.encr_r));
    ike_keys_child_clear(&a);
    ike_keys_child_clear(&b);
    ike_secret_free(sk_d);
    ike_prf_free(prf);
    ike_secret_free(m.g_ir);
}

static void test_suite_errors(void **state)
{
    struct material m;
    material_init(&m, 32);
    struct ike_prf *prf = prf_new(IKE_PRF_HMAC_SHA2_256);
    struct ike_keys_sa k;
    struct ike_keys_suite aead_with_integ = {IKE_ENCR_AES_GCM_16, 128, IKE_INTEG_HMAC_SHA1_96};
    struct ike_keys_suite cbc_without = {IKE_ENCR_AES_CBC, 128, IKE_INTEG_NONE};
    struct ike_keys_suite unknown = {IKE_ENCR_3DES, 0, IKE_INTEG_HMAC_SHA1_96};
    struct ike_keys_suite bad_integ = {IKE_ENCR_AES_CBC, 128, IKE_INTEG_AES_XCBC_96};
    struct ike_keys_suite ok = {IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA1_96};
    assert_int_equal(
        ike_keys_sa_derive(prf, &aead_with_integ, m.g_ir, &m.nonces, m.spi_i, m.spi_r, &k),
        IKE_E_INVALID_ARG);
    assert_int_equal(ike_keys_sa_derive(prf, &cbc_without, m.g_ir, &m.nonces, m.spi_i, m.spi_r, &k),
                     IKE_E_INVALID_ARG);
    assert_int_equal(ike_keys_sa_derive(prf, &unknown, m.g_ir, &m.nonces, m.spi_i, m.spi_r, &k),
                     IKE_E_UNSUPPORTED);
    assert_int_equal(ike_keys_sa_derive(prf, &bad_integ, m.g_ir, &m.nonces, m.spi_i, m.spi_r, &k),
                     IKE_E_UNSUPPORTED);
    assert_null(k.sk_d);
    /* Nonces must be 16..256 octets. */
    struct ike_keys_nonces short_ni = {m.ni, 15, m.nr, sizeof(m.nr)};
    assert_int_equal(ike_keys_sa_derive(prf, &ok, m.g_ir, &short_ni, m.spi_i, m.spi_r, &k),
                     IKE_E_INVALID_ARG);
    struct ike_secret *seed = (struct ike_secret *)1;
    assert_int_equal(ike_keys_skeyseed(prf, &short_ni, m.g_ir, &seed), IKE_E_INVALID_ARG);
    assert_null(seed);
    ike_prf_free(prf);
    ike_secret_free(m.g_ir);
}

/* ---- shared-key AUTH, §2.15 ---- */

static void ref_psk_auth(uint16_t prf_id, const uint8_t *psk, size_t psk_len, const uint8_t *sk_p,
                         size_t sk_p_len, const uint8_t *msg, size_t msg_len, const uint8_t *nonce,
                         size_t nonce_len, const uint8_t *id, size_t id_len, uint8_t *out)
{
    uint8_t maced_id[64], padded[64], octets[1024];
    size_t p = ref_prf(prf_id, sk_p, sk_p_len, id, id_len, maced_id);
    ref_prf(prf_id, psk, psk_len, (const uint8_t *)"Key Pad for IKEv2", 17, padded);
    size_t n = cat(octets, msg, msg_len, nonce, nonce_len);
    n += cat(octets + n, maced_id, p, NULL, 0);
    ref_prf(prf_id, padded, p, octets, n, out);
}

static void test_psk_auth(void **state)
{
    static const uint16_t prfs[] = {IKE_PRF_HMAC_SHA1, IKE_PRF_HMAC_SHA2_256,
                                    IKE_PRF_HMAC_SHA2_512};
    uint8_t msg[300], nonce[32];
    /* IDi body: type FQDN, 3 reserved octets, "vpn.example.org" */
    static const uint8_t id[] = {IKE_ID_FQDN, 0,   0,   0,   'v', 'p', 'n', '.', 'e', 'x',
                                 'a',         'm', 'p', 'l', 'e', '.', 'o', 'r', 'g'};
    assert_int_equal(RAND_bytes(msg, sizeof(msg)), 1);
    assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
    struct ike_secret *psk = NULL;
    const char *pass = "correct horse battery staple";
    assert_int_equal(ike_secret_from((const uint8_t *)pass, strlen(pass), &psk), IKE_OK);
    struct ike_auth_octets oct = {msg, sizeof(msg), nonce, sizeof(nonce), id, sizeof(id)};

    for (size_t i = 0; i < 3; i++) {
        struct ike_prf *prf = prf_new(prfs[i]);
        size_t p = ike_prf_len(prf);
        struct ike_secret *sk_p = NULL;
        assert_int_equal(ike_secret_new(p, &sk_p), IKE_OK);
        assert_int_equal(RAND_bytes(sk_p->data, (int)p), 1);

        uint8_t auth[64], expect[64];
        size_t auth_len = 0;
        assert_int_equal(ike_auth_psk_compute(prf, psk, sk_p, &oct, auth, sizeof(auth), &auth_len),
                         IKE_OK);
        assert_int_equal(auth_len, p);
        ref_psk_auth(prfs[i], psk->data, psk->len, sk_p->data, p, msg, sizeof(msg), nonce,
                     sizeof(nonce), id, sizeof(id), expect);
        assert_memory_equal(auth, expect, p);

        uint8_t maced[64], maced_ref[64];
        assert_int_equal(ike_auth_maced_id(prf, sk_p, id, sizeof(id), maced), IKE_OK);
        ref_prf(prfs[i], sk_p->data, p, id, sizeof(id), maced_ref);
        assert_memory_equal(maced, maced_ref, p);

        struct ike_diag diag = {0};
        assert_int_equal(ike_auth_psk_verify(prf, psk, sk_p, &oct, auth, p, &diag), IKE_OK);
        auth[p - 1] ^= 0x01;
        assert_int_equal(ike_auth_psk_verify(prf, psk, sk_p, &oct, auth, p, &diag), IKE_E_AUTH);
        assert_non_null(strstr(diag.reason, "does not match"));
        auth[p - 1] ^= 0x01;
        assert_int_equal(ike_auth_psk_verify(prf, psk, sk_p, &oct, auth, p - 1, &diag), IKE_E_AUTH);
        assert_non_null(strstr(diag.reason, "length"));
        /* Every piece of the signed octets is bound. */
        msg[10] ^= 0x40;
        assert_int_equal(ike_auth_psk_verify(prf, psk, sk_p, &oct, auth, p, NULL), IKE_E_AUTH);
        msg[10] ^= 0x40;
        nonce[0] ^= 0x40;
        assert_int_equal(ike_auth_psk_verify(prf, psk, sk_p, &oct, auth, p, NULL), IKE_E_AUTH);
        nonce[0] ^= 0x40;
        struct ike_auth_octets other_id = oct;
        other_id.id_body_len--;
        assert_int_equal(ike_auth_psk_verify(prf, psk, sk_p, &other_id, auth, p, NULL), IKE_E_AUTH);
        sk_p->data[0] ^= 0x40;
        assert_int_equal(ike_auth_psk_verify(prf, psk, sk_p, &oct, auth, p, NULL), IKE_E_AUTH);
        sk_p->data[0] ^= 0x40;
        assert_int_equal(ike_auth_psk_verify(prf, psk, sk_p, &oct, auth, p, NULL), IKE_OK);
        assert_int_equal(ike_auth_psk_compute(prf, psk, sk_p, &oct, auth, p - 1, &auth_len),
                         IKE_E_TOO_BIG);
        ike_secret_free(sk_p);
        ike_prf_free(prf);
    }
    ike_secret_free(psk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skeyseed),
        cmocka_unit_test(test_sa_keys),
        cmocka_unit_test(test_rekey_skeyseed),
        cmocka_unit_test(test_child_keys),
        cmocka_unit_test(test_child_pfs_changes_keys),
        cmocka_unit_test(test_suite_errors),
        cmocka_unit_test(test_psk_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
