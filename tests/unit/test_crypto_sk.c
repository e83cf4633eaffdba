/*
 * SK payload crypto (ike_sk_cipher): published AEAD vectors mapped onto
 * the IKEv2 layout (key | salt, 8-octet IV), AES-CBC (RFC 3602) with the
 * ICV checked against an independent HMAC, RFC 4868 / RFC 2202 truncated
 * integrity values through the real verification path, and tampering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <ike/const.h>
#include <ike/sk_cipher.h>

#include "helper_hex.h"

static struct ike_sk_cipher *cipher_new(uint16_t encr, uint16_t bits, uint16_t integ,
                                        const uint8_t *ek, size_t ek_len, const uint8_t *ik,
                                        size_t ik_len)
{
    struct ike_sk_cipher *c = NULL;
    struct ike_diag diag = {0};
    enum ike_status st = ike_sk_cipher_new(encr, bits, integ, ek, ek_len, ik, ik_len, &c, &diag);
    if (st != IKE_OK)
        fail_msg("sk_cipher_new: %s (%s)", ike_status_str(st), diag.reason);
    return c;
}

struct aead_vector {
    const char *name;
    uint16_t encr, bits;
    const char *key_salt; /* key | 4-octet salt = first 4 octets of the 96-bit nonce */
    const char *iv;       /* the remaining 8 octets of the nonce */
    const char *aad, *pt, *ct, *tag;
};

static const struct aead_vector aead_vectors[] = {
    /* McGrew & Viega, "The Galois/Counter Mode of Operation", test case 4
     * (AES-128) and test case 16 (AES-256): 60-octet plaintext, 20-octet AAD. */
    {"GCM TC4", IKE_ENCR_AES_GCM_16, 128, "feffe9928665731c6d6a8f9467308308 cafebabe",
     "facedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"GCM TC16", IKE_ENCR_AES_GCM_16, 256,
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308 cafebabe",
     "facedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    /* RFC 8439 §2.8.2: nonce 07000000 | 4041424344454647, which RFC 7634
     * splits exactly as salt | IV. */
    {"ChaCha20-Poly1305 RFC 8439", IKE_ENCR_CHACHA20_POLY1305, 0,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f 07000000",
     "4041424344454647", "50515253c0c1c2c3c4c5c6c7",
     /* "Ladies and Gentlemen of the class of '99: If I could offer you only
      * one tip for the future, sunscreen would be it." */
     "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
     "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
     "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
     "637265656e20776f756c642062652069742e",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
     "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
     "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
     "3ff4def08e4b7a9de576d26586cec64b6116",
     "1ae10b594f09e26a7e902ecbd0600691"},
};

static void test_aead_vectors(void **state)
{
    for (size_t i = 0; i < sizeof(aead_vectors) / sizeof(aead_vectors[0]); i++) {
        const struct aead_vector *v = &aead_vectors[i];
        uint8_t key[36], iv[8], aad[32], pt[128], ct[128], tag[16], out[128], icv[16];
        size_t key_len = helper_unhex(v->key_salt, key, sizeof(key));
        assert_int_equal(helper_unhex(v->iv, iv, sizeof(iv)), 8);
        size_t aad_len = helper_unhex(v->aad, aad, sizeof(aad));
        size_t pt_len = helper_unhex(v->pt, pt, sizeof(pt));
        assert_int_equal(helper_unhex(v->ct, ct, sizeof(ct)), pt_len);
        assert_int_equal(helper_unhex(v->tag, tag, sizeof(tag)), 16);

        struct ike_sk_cipher *c =
            cipher_new(v->encr, v->bits, IKE_INTEG_NONE, key, key_len, NULL, 0);
        assert_int_equal(ike_sk_cipher_iv_len(c), 8);
        assert_int_equal(ike_sk_cipher_icv_len(c), 16);
        assert_int_equal(ike_sk_cipher_block_len(c), 1);
        assert_int_equal(ike_sk_cipher_seal(c, aad, aad_len, iv, pt, pt_len, out, icv), IKE_OK);
        if (memcmp(out, ct, pt_len) != 0 || memcmp(icv, tag, 16) != 0)
            fail_msg("%s: seal differs from the published vector", v->name);
        memset(out, 0, sizeof(out));
        assert_int_equal(ike_sk_cipher_open(c, aad, aad_len, iv, ct, pt_len, tag, out, NULL),
                         IKE_OK);
        assert_memory_equal(out, pt, pt_len);
        ike_sk_cipher_free(c);
    }
}

/* Independent encrypt-then-MAC: AES-CBC and truncated HMAC straight from
 * OpenSSL. */
static void ref_cbc_hmac(const char *cipher, const char *digest, const uint8_t *ek,
                         const uint8_t *ik, size_t ik_len, const uint8_t *aad, size_t aad_len,
                         const uint8_t *iv, const uint8_t *pt, size_t len, uint8_t *ct,
                         uint8_t *mac)
{
    EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, cipher, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    assert_true(EVP_EncryptInit_ex2(ctx, aes, ek, iv, NULL));
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    assert_true(EVP_EncryptUpdate(ctx, ct, &n1, pt, (int)len));
    assert_true(EVP_EncryptFinal_ex(ctx, ct + n1, &n2));
    assert_int_equal((size_t)(n1 + n2), len);
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(aes);
    uint8_t msg[1024];
    memcpy(msg, aad, aad_len);
    memcpy(msg + aad_len, iv, 16);
    memcpy(msg + aad_len + 16, ct, len);
    size_t n = 0;
    assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, ik, ik_len, msg, aad_len + 16 + len,
                              mac, 64, &n));
}

/* RFC 3602 §4 cases 2 and 4 (AES-128-CBC) through the SK API, and the ICV
 * for every integrity algorithm against the reference. */
static void test_cbc_rfc3602_and_icv(void **state)
{
    static const struct {
        const char *key, *iv, *pt, *ct;
    } cases[] = {
        {"c286696d887c9aa0611bbb3e2025a45a", "562e17996d093d28ddb3ba695a2e6f58",
         "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
         "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1"},
        {"56e47a38c5598974bc46903dba290349", "8ce82eefbea0da3c44699ed7db51b7d9",
         "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
         "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
         "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e"
         "35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55"},
    };
    static const struct {
        uint16_t id;
        const char *digest;
        size_t key_len, icv_len;
    } integs[] = {
        {IKE_INTEG_HMAC_SHA1_96, "SHA1", 20, 12},
        {IKE_INTEG_HMAC_SHA2_256_128, "SHA256", 32, 16},
        {IKE_INTEG_HMAC_SHA2_384_192, "SHA384", 48, 24},
        {IKE_INTEG_HMAC_SHA2_512_256, "SHA512", 64, 32},
    };
    static const uint8_t aad[] = "IKE header + SK generic header";
    uint8_t ik[64];
    for (size_t i = 0; i < sizeof(ik); i++)
        ik[i] = (uint8_t)(0x40 + i);
    for (size_t k = 0; k < 2; k++) {
        uint8_t key[16], iv[16], pt[64], expect[64], ct[64], icv[32], ref_ct[64], ref_mac[64];
        helper_unhex(cases[k].key, key, 16);
        helper_unhex(cases[k].iv, iv, 16);
        size_t len = helper_unhex(cases[k].pt, pt, sizeof(pt));
        helper_unhex(cases[k].ct, expect, sizeof(expect));
        for (size_t j = 0; j < 4; j++) {
            struct ike_sk_cipher *c =
                cipher_new(IKE_ENCR_AES_CBC, 128, integs[j].id, key, 16, ik, integs[j].key_len);
            assert_int_equal(ike_sk_cipher_icv_len(c), integs[j].icv_len);
            assert_int_equal(ike_sk_cipher_seal(c, aad, sizeof(aad), iv, pt, len, ct, icv), IKE_OK);
            assert_memory_equal(ct, expect, len);
            ref_cbc_hmac("AES-128-CBC", integs[j].digest, key, ik, integs[j].key_len, aad,
                         sizeof(aad), iv, pt, len, ref_ct, ref_mac);
            assert_memory_equal(icv, ref_mac, integs[j].icv_len);
            ike_sk_cipher_free(c);
        }
    }
}

/* RFC 4868 §2.7.2 AUTH*-3/-4 and RFC 2202 case 3 (HMAC-SHA1-96): the 50
 * octets of data are fed to open() as aad (18) | iv (16) | ct (16), so the
 * published truncated value must verify and a flipped one must not. */
static void test_integ_truncation_vectors(void **state)
{
    static const struct {
        uint16_t integ;
        const char *key;
        uint8_t data;
        const char *icv;
    } cases[] = {
        {IKE_INTEG_HMAC_SHA1_96, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0xdd,
         "125d7342b9ac11cd91a39af4"},
        {IKE_INTEG_HMAC_SHA2_256_128,
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0xdd,
         "cdcb1220d1ecccea91e53aba3092f962"},
        {IKE_INTEG_HMAC_SHA2_256_128,
         "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", 0xcd,
         "372efcf9b40b35c2115b1346903d2ef4"},
        {IKE_INTEG_HMAC_SHA2_384_192,
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         0xdd, "809f439be00274321d4a538652164b53554a508184a0c316"},
        {IKE_INTEG_HMAC_SHA2_384_192,
         "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
         "0a0b0c0d0e0f10111213141516171819",
         0xcd, "5b540085c6e6358096532b2493609ed1cb298f774f87bb5c"},
        {IKE_INTEG_HMAC_SHA2_512_256,
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         0xdd, "2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8"},
        /* The key as corrected by RFC 4868 erratum 1785. */
        {IKE_INTEG_HMAC_SHA2_512_256,
         "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
         "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40",
         0xcd, "5e6688e5a3daec826ca32eaea224eff5e700628947470e13ad01302561bab108"},
    };
    static const uint8_t ek[16] = {0};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t ik[64], icv[32], data[50], pt[16];
        size_t ik_len = helper_unhex(cases[i].key, ik, sizeof(ik));
        size_t icv_len = helper_unhex(cases[i].icv, icv, sizeof(icv));
        memset(data, cases[i].data, sizeof(data));
        struct ike_sk_cipher *c =
            cipher_new(IKE_ENCR_AES_CBC, 128, cases[i].integ, ek, 16, ik, ik_len);
        assert_int_equal(ike_sk_cipher_icv_len(c), icv_len);
        struct ike_diag diag = {0};
        enum ike_status st =
            ike_sk_cipher_open(c, data, 18, data + 18, data + 34, 16, icv, pt, &diag);
        if (st != IKE_OK)
            fail_msg("integrity case %zu: %s (%s)", i, ike_status_str(st), diag.reason);
        icv[icv_len - 1] ^= 0x01;
        assert_int_equal(ike_sk_cipher_open(c, data, 18, data + 18, data + 34, 16, icv, pt, NULL),
                         IKE_E_INTEGRITY);
        ike_sk_cipher_free(c);
    }
}

struct suite {
    uint16_t encr, bits, integ;
    size_t ek_len, ik_len;
};

static const struct suite suites[] = {
    {IKE_ENCR_AES_GCM_16, 128, IKE_INTEG_NONE, 20, 0},
    {IKE_ENCR_AES_GCM_16, 192, IKE_INTEG_NONE, 28, 0},
    {IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE, 36, 0},
    {IKE_ENCR_CHACHA20_POLY1305, 0, IKE_INTEG_NONE, 36, 0},
    {IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA1_96, 16, 20},
    {IKE_ENCR_AES_CBC, 192, IKE_INTEG_HMAC_SHA2_384_192, 24, 48},
    {IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_256_128, 32, 32},
    {IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_512_256, 32, 64},
};

#define MSG_LEN 304 /* an IKE_AUTH-sized, block-aligned plaintext */
#define AAD_LEN 32  /* IKE header (28) + SK generic header (4) */

static struct ike_sk_cipher *random_suite(const struct suite *s)
{
    uint8_t ek[36], ik[64];
    assert_int_equal(RAND_bytes(ek, sizeof(ek)), 1);
    assert_int_equal(RAND_bytes(ik, sizeof(ik)), 1);
    return cipher_new(s->encr, s->bits, s->integ, ek, s->ek_len, s->ik_len ? ik : NULL, s->ik_len);
}

static void expect_integrity_fail(struct ike_sk_cipher *c, const uint8_t *aad, const uint8_t *iv,
                                  const uint8_t *ct, const uint8_t *icv)
{
    uint8_t out[MSG_LEN];
    memset(out, 0xa5, sizeof(out));
    struct ike_diag diag = {0};
    assert_int_equal(ike_sk_cipher_open(c, aad, AAD_LEN, iv, ct, MSG_LEN, icv, out, &diag),
                     IKE_E_INTEGRITY);
    assert_non_null(strstr(diag.reason, "ICV mismatch"));
    /* Nothing was written: no unauthenticated plaintext escapes. */
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(out[i], 0xa5);
}

static void test_round_trip_and_tamper(void **state)
{
    for (size_t k = 0; k < sizeof(suites) / sizeof(suites[0]); k++) {
        struct ike_sk_cipher *c = random_suite(&suites[k]);
        uint8_t aad[AAD_LEN], iv[16], pt[MSG_LEN], ct[MSG_LEN], icv[32], out[MSG_LEN];
        size_t iv_len = ike_sk_cipher_iv_len(c), icv_len = ike_sk_cipher_icv_len(c);
        assert_int_equal(RAND_bytes(aad, sizeof(aad)), 1);
        assert_int_equal(RAND_bytes(pt, sizeof(pt)), 1);
        assert_int_equal(ike_sk_cipher_next_iv(c, iv), IKE_OK);
        assert_int_equal(ike_sk_cipher_seal(c, aad, AAD_LEN, iv, pt, MSG_LEN, ct, icv), IKE_OK);
        assert_memory_not_equal(ct, pt, MSG_LEN);
        assert_int_equal(ike_sk_cipher_open(c, aad, AAD_LEN, iv, ct, MSG_LEN, icv, out, NULL),
                         IKE_OK);
        assert_memory_equal(out, pt, MSG_LEN);

        /* One flipped bit anywhere that is authenticated. */
        size_t aad_pos[] = {0, AAD_LEN - 1}, ct_pos[] = {0, MSG_LEN / 2, MSG_LEN - 1};
        for (size_t i = 0; i < 2; i++) {
            aad[aad_pos[i]] ^= 0x01;
            expect_integrity_fail(c, aad, iv, ct, icv);
            aad[aad_pos[i]] ^= 0x01;
        }
        for (size_t i = 0; i < iv_len; i += iv_len - 1) {
            iv[i] ^= 0x80;
            expect_integrity_fail(c, aad, iv, ct, icv);
            iv[i] ^= 0x80;
        }
        for (size_t i = 0; i < 3; i++) {
            ct[ct_pos[i]] ^= 0x10;
            expect_integrity_fail(c, aad, iv, ct, icv);
            ct[ct_pos[i]] ^= 0x10;
        }
        for (size_t i = 0; i < icv_len; i += icv_len - 1) {
            icv[i] ^= 0x02;
            expect_integrity_fail(c, aad, iv, ct, icv);
            icv[i] ^= 0x02;
        }
        /* Untouched again, it still opens. */
        assert_int_equal(ike_sk_cipher_open(c, aad, AAD_LEN, iv, ct, MSG_LEN, icv, out, NULL),
                         IKE_OK);
        ike_sk_cipher_free(c);
    }
}

/* Sealing and opening in place (ct == pt), and the peer's direction with a
 * second object built from the same keys. */
static void test_in_place_two_objects(void **state)
{
    for (size_t k = 0; k < sizeof(suites) / sizeof(suites[0]); k++) {
        const struct suite *s = &suites[k];
        uint8_t ek[36], ik[64], aad[AAD_LEN] = {1}, iv[16], buf[MSG_LEN], pt[MSG_LEN], icv[32];
        assert_int_equal(RAND_bytes(ek, sizeof(ek)), 1);
        assert_int_equal(RAND_bytes(ik, sizeof(ik)), 1);
        assert_int_equal(RAND_bytes(pt, sizeof(pt)), 1);
        struct ike_sk_cipher *tx =
            cipher_new(s->encr, s->bits, s->integ, ek, s->ek_len, ik, s->ik_len);
        struct ike_sk_cipher *rx =
            cipher_new(s->encr, s->bits, s->integ, ek, s->ek_len, ik, s->ik_len);
        for (int msg = 0; msg < 3; msg++) {
            memcpy(buf, pt, MSG_LEN);
            assert_int_equal(ike_sk_cipher_next_iv(tx, iv), IKE_OK);
            assert_int_equal(ike_sk_cipher_seal(tx, aad, AAD_LEN, iv, buf, MSG_LEN, buf, icv),
                             IKE_OK);
            assert_int_equal(ike_sk_cipher_open(rx, aad, AAD_LEN, iv, buf, MSG_LEN, icv, buf, NULL),
                             IKE_OK);
            assert_memory_equal(buf, pt, MSG_LEN);
        }
        ike_sk_cipher_free(tx);
        ike_sk_cipher_free(rx);
    }
}

static void test_next_iv(void **state)
{
    uint8_t key[36] = {0}, ik[32] = {0};
    struct ike_sk_cipher *gcm =
        cipher_new(IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE, key, 36, NULL, 0);
    uint8_t a[8], b[8];
    assert_int_equal(ike_sk_cipher_next_iv(gcm, a), IKE_OK);
    assert_int_equal(ike_sk_cipher_next_iv(gcm, b), IKE_OK);
    /* A big-endian counter: b = a + 1. */
    uint64_t va = 0, vb = 0;
    for (int i = 0; i < 8; i++) {
        va = va << 8 | a[i];
        vb = vb << 8 | b[i];
    }
    assert_true(vb == va + 1);
    ike_sk_cipher_free(gcm);

    struct ike_sk_cipher *cbc =
        cipher_new(IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_256_128, key, 16, ik, 32);
    uint8_t c[16], d[16];
    assert_int_equal(ike_sk_cipher_iv_len(cbc), 16);
    assert_int_equal(ike_sk_cipher_block_len(cbc), 16);
    assert_int_equal(ike_sk_cipher_next_iv(cbc, c), IKE_OK);
    assert_int_equal(ike_sk_cipher_next_iv(cbc, d), IKE_OK);
    assert_memory_not_equal(c, d, 16);
    ike_sk_cipher_free(cbc);
}

static void test_bad_lengths(void **state)
{
    uint8_t key[36] = {0}, ik[32] = {0}, buf[64] = {0}, icv[16] = {0}, iv[16] = {0};
    struct ike_diag diag = {0};
    struct ike_sk_cipher *cbc =
        cipher_new(IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_256_128, key, 32, ik, 32);
    assert_int_equal(ike_sk_cipher_seal(cbc, buf, 8, iv, buf, 17, buf, icv), IKE_E_INVALID_ARG);
    assert_int_equal(ike_sk_cipher_open(cbc, buf, 8, iv, buf, 17, icv, buf, &diag),
                     IKE_E_MALFORMED);
    assert_non_null(strstr(diag.reason, "length 17"));
    assert_int_equal(ike_sk_cipher_open(cbc, buf, 8, iv, buf, 0, icv, buf, &diag), IKE_E_MALFORMED);
    ike_sk_cipher_free(cbc);

    struct ike_sk_cipher *c = (struct ike_sk_cipher *)1;
    assert_int_equal(
        ike_sk_cipher_new(IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE, key, 32, NULL, 0, &c, &diag),
        IKE_E_INVALID_ARG);
    assert_null(c);
    assert_non_null(strstr(diag.reason, "key length 32 != 36"));
    assert_int_equal(ike_sk_cipher_new(IKE_ENCR_AES_GCM_16, 128, IKE_INTEG_HMAC_SHA2_256_128, key,
                                       20, ik, 32, &c, &diag),
                     IKE_E_INVALID_ARG);
    assert_int_equal(ike_sk_cipher_new(IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_256_128, key, 16,
                                       ik, 20, &c, &diag),
                     IKE_E_INVALID_ARG);
    assert_int_equal(
        ike_sk_cipher_new(IKE_ENCR_AES_CBC, 128, IKE_INTEG_NONE, key, 16, NULL, 0, &c, &diag),
        IKE_E_UNSUPPORTED);
    assert_int_equal(
        ike_sk_cipher_new(IKE_ENCR_3DES, 0, IKE_INTEG_HMAC_SHA1_96, key, 24, ik, 20, &c, &diag),
        IKE_E_UNSUPPORTED);
    assert_int_equal(ike_sk_cipher_new(IKE_ENCR_AES_CBC, 100, IKE_INTEG_HMAC_SHA1_96, key, 16, ik,
                                       20, &c, &diag),
                     IKE_E_UNSUPPORTED);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aead_vectors),
        cmocka_unit_test(test_cbc_rfc3602_and_icv),
        cmocka_unit_test(test_integ_truncation_vectors),
        cmocka_unit_test(test_round_trip_and_tamper),
        cmocka_unit_test(test_in_place_two_objects),
        cmocka_unit_test(test_next_iv),
        cmocka_unit_test(test_bad_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
