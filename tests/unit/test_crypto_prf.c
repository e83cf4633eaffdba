/*
 * PRF known answers: HMAC-SHA1 (RFC 2202 §3), HMAC-SHA-256/384/512
 * (RFC 4231 §4.2-4.8, which RFC 4868 §2.7.1 repeats as PRF-1..PRF-6),
 * and the structure of prf+ (RFC 7296 §2.13) against an independent
 * computation with OpenSSL's one-shot EVP_Q_mac.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <ike/const.h>
#include <ike/prf.h>

#include "helper_hex.h"

/* Key or data of a test case: a fill octet repeated, a counting sequence
 * from 0x01, or a string. */
struct bytes {
    uint8_t fill;
    uint8_t count_from_1;
    size_t len;
    const char *str;
};

static size_t make_bytes(const struct bytes *b, uint8_t *out)
{
    if (b->str) {
        memcpy(out, b->str, strlen(b->str));
        return strlen(b->str);
    }
    for (size_t i = 0; i < b->len; i++)
        out[i] = b->count_from_1 ? (uint8_t)(i + 1) : b->fill;
    return b->len;
}

struct hmac_case {
    const char *name;
    struct bytes key;
    struct bytes data;
    size_t trunc; /* 0: compare the full output */
    const char *sha1;
    const char *sha256;
    const char *sha384;
    const char *sha512;
};

#define FILL(v, n)                                                                                 \
    {                                                                                              \
        (v), 0, (n), NULL                                                                          \
    }
#define COUNT(n)                                                                                   \
    {                                                                                              \
        0, 1, (n), NULL                                                                            \
    }
#define STR(s)                                                                                     \
    {                                                                                              \
        0, 0, 0, (s)                                                                               \
    }

/* RFC 2202 §3 (HMAC-SHA-1): its test cases 6 and 7 use an 80-octet key. */
static const struct hmac_case rfc2202[] = {
    {"2202-1", FILL(0x0b, 20), STR("Hi There"), 0, "b617318655057264e28bc0b6fb378c8ef146be00", NULL,
     NULL, NULL},
    {"2202-2", STR("Jefe"), STR("what do ya want for nothing?"), 0,
     "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", NULL, NULL, NULL},
    {"2202-3", FILL(0xaa, 20), FILL(0xdd, 50), 0, "125d7342b9ac11cd91a39af48aa17b4f63f175d3", NULL,
     NULL, NULL},
    {"2202-4", COUNT(25), FILL(0xcd, 50), 0, "4c9007f4026250c6bc8414f9bf50c86c2d7235da", NULL, NULL,
     NULL},
    {"2202-5", FILL(0x0c, 20), STR("Test With Truncation"), 0,
     "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04", NULL, NULL, NULL},
    {"2202-5-96", FILL(0x0c, 20), STR("Test With Truncation"), 12, "4c1a03424b55e07fe7f27be1", NULL,
     NULL, NULL},
    {"2202-6", FILL(0xaa, 80), STR("Test Using Larger Than Block-Size Key - Hash Key First"), 0,
     "aa4ae5e15272d00e95705637ce8a3b55ed402112", NULL, NULL, NULL},
    {"2202-7", FILL(0xaa, 80),
     STR("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"), 0,
     "e8e99d0f45237d786d6bbaa7965c7808bbff1a91", NULL, NULL, NULL},
};

/* RFC 4231 §4.2-4.8. */
static const struct hmac_case rfc4231[] = {
    {"4231-1", FILL(0x0b, 20), STR("Hi There"), 0, NULL,
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
     "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
     "faea9ea9076ede7f4af152e8b2fa9cb6",
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
     "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
    {"4231-2", STR("Jefe"), STR("what do ya want for nothing?"), 0, NULL,
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
     "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
     "8e2240ca5e69e2c78b3239ecfab21649",
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
     "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
    {"4231-3", FILL(0xaa, 20), FILL(0xdd, 50), 0, NULL,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
     "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b"
     "2a5ab39dc13814b94e3ab6e101a34f27",
     "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
     "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"},
    {"4231-4", COUNT(25), FILL(0xcd, 50), 0, NULL,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
     "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e"
     "6801dd23c4a7d679ccf8a386c674cffb",
     "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
     "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
    /* Test case 5 publishes only the first 128 bits. */
    {"4231-5", FILL(0x0c, 20), STR("Test With Truncation"), 16, NULL,
     "a3b6167473100ee06e0c796c2955552b", "3abf34c3503b2a23a46efc619baef897",
     "415fad6271580a531d4179bc891d87a6"},
    {"4231-6", FILL(0xaa, 131), STR("Test Using Larger Than Block-Size Key - Hash Key First"), 0,
     NULL, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
     "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
     "0c2ef6ab4030fe8296248df163f44952",
     "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
     "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
    {"4231-7", FILL(0xaa, 131),
     STR("This is a test using a larger than block-size key and a larger than block-size "
         "data. The key needs to be hashed before being used by the HMAC algorithm."),
     0, NULL, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
     "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
     "a678cc31e799176d3860e6110c46523e",
     "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
     "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"},
};

static void check_prf(uint16_t prf_id, const struct hmac_case *tc, const char *expect_hex)
{
    if (!expect_hex)
        return;
    uint8_t key[256], data[256], expect[IKE_PRF_MAX_LEN], out[IKE_PRF_MAX_LEN];
    size_t key_len = make_bytes(&tc->key, key);
    size_t data_len = make_bytes(&tc->data, data);
    size_t expect_len = helper_unhex(expect_hex, expect, sizeof(expect));
    struct ike_prf *prf;
    assert_int_equal(ike_prf_new(prf_id, &prf), IKE_OK);
    assert_int_equal(ike_prf_id(prf), prf_id);
    assert_int_equal(expect_len, tc->trunc ? tc->trunc : ike_prf_len(prf));
    /* Split the data in two chunks: the PRF input is their concatenation. */
    struct ike_prf_chunk in[] = {{data, data_len / 2},
                                 {data + data_len / 2, data_len - data_len / 2}};
    assert_int_equal(ike_prf_compute(prf, key, key_len, in, 2, out), IKE_OK);
    if (memcmp(out, expect, expect_len) != 0)
        fail_msg("%s with PRF %u differs", tc->name, prf_id);
    ike_prf_free(prf);
}

static void test_hmac_sha1_rfc2202(void **state)
{
    for (size_t i = 0; i < sizeof(rfc2202) / sizeof(rfc2202[0]); i++)
        check_prf(IKE_PRF_HMAC_SHA1, &rfc2202[i], rfc2202[i].sha1);
}

static void test_hmac_sha2_rfc4231(void **state)
{
    for (size_t i = 0; i < sizeof(rfc4231) / sizeof(rfc4231[0]); i++) {
        check_prf(IKE_PRF_HMAC_SHA2_256, &rfc4231[i], rfc4231[i].sha256);
        check_prf(IKE_PRF_HMAC_SHA2_384, &rfc4231[i], rfc4231[i].sha384);
        check_prf(IKE_PRF_HMAC_SHA2_512, &rfc4231[i], rfc4231[i].sha512);
    }
}

/* RFC 4868 §2.7.2 uses keys of exactly the preferred length; its
 * PRF-HMAC-SHA-* values are the untruncated outputs. */
static void test_prf_rfc4868_auth_keys(void **state)
{
    static const struct {
        uint16_t prf;
        uint8_t key_fill;
        size_t key_len;
        const char *data;
        const char *expect;
    } cases[] = {
        {IKE_PRF_HMAC_SHA2_256, 0x0b, 32, "Hi There",
         "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"},
        {IKE_PRF_HMAC_SHA2_384, 0x0b, 48, "Hi There",
         "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee9737a959796489bddbc"
         "4c5df61d5b3297b4fb68dab9f1b582c2"},
        {IKE_PRF_HMAC_SHA2_512, 0x0b, 64, "Hi There",
         "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"
         "ac2878ebd5803f6f0b61dbce5e251ff8789a4722c1be65aea45fd464e89f8f5b"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t key[64], expect[64], out[64];
        memset(key, cases[i].key_fill, cases[i].key_len);
        size_t n = helper_unhex(cases[i].expect, expect, sizeof(expect));
        struct ike_prf *prf;
        assert_int_equal(ike_prf_new(cases[i].prf, &prf), IKE_OK);
        assert_int_equal(ike_prf_len(prf), n);
        struct ike_prf_chunk in = {(const uint8_t *)cases[i].data, strlen(cases[i].data)};
        assert_int_equal(ike_prf_compute(prf, key, cases[i].key_len, &in, 1, out), IKE_OK);
        assert_memory_equal(out, expect, n);
        ike_prf_free(prf);
    }
}

static void test_prf_unsupported(void **state)
{
    struct ike_prf *prf = (struct ike_prf *)1;
    assert_int_equal(ike_prf_new(IKE_PRF_HMAC_MD5, &prf), IKE_E_UNSUPPORTED);
    assert_null(prf);
    assert_int_equal(ike_prf_new(IKE_PRF_AES128_XCBC, &prf), IKE_E_UNSUPPORTED);
    assert_int_equal(ike_prf_new(0, &prf), IKE_E_UNSUPPORTED);
}

/* Reference HMAC straight from OpenSSL, independent of libike's context
 * reuse. */
static void ref_hmac(const char *digest, const uint8_t *key, size_t key_len, const uint8_t *data,
                     size_t data_len, uint8_t *out, size_t out_len)
{
    size_t n = 0;
    assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, key, key_len, data, data_len, out,
                              out_len, &n));
    assert_int_equal(n, out_len);
}

static void test_prf_plus_structure(void **state)
{
    static const uint8_t key[] = "prf+ key";
    static const uint8_t seed[] = "the seed S, 30 octets long....";
    const size_t s_len = sizeof(seed) - 1;
    struct ike_prf *prf;
    assert_int_equal(ike_prf_new(IKE_PRF_HMAC_SHA2_256, &prf), IKE_OK);
    struct ike_prf_chunk in = {seed, s_len};
    struct ike_secret *out;
    assert_int_equal(ike_prf_plus(prf, key, sizeof(key), &in, 1, 80, &out), IKE_OK);
    assert_int_equal(out->len, 80);

    /* T1 = prf(K, S | 0x01) */
    uint8_t buf[32 + 64 + 1], t1[32], t2[32], t3[32];
    memcpy(buf, seed, s_len);
    buf[s_len] = 0x01;
    ref_hmac("SHA256", key, sizeof(key), buf, s_len + 1, t1, 32);
    assert_memory_equal(out->data, t1, 32);
    /* T2 = prf(K, T1 | S | 0x02) */
    memcpy(buf, t1, 32);
    memcpy(buf + 32, seed, s_len);
    buf[32 + s_len] = 0x02;
    ref_hmac("SHA256", key, sizeof(key), buf, 32 + s_len + 1, t2, 32);
    assert_memory_equal(out->data + 32, t2, 32);
    /* T3 = prf(K, T2 | S | 0x03), of which 16 octets are used */
    memcpy(buf, t2, 32);
    buf[32 + s_len] = 0x03;
    ref_hmac("SHA256", key, sizeof(key), buf, 32 + s_len + 1, t3, 32);
    assert_memory_equal(out->data + 64, t3, 16);
    ike_secret_free(out);

    /* The seed split into chunks gives the same stream. */
    struct ike_prf_chunk parts[] = {{seed, 7}, {NULL, 0}, {seed + 7, s_len - 7}};
    assert_int_equal(ike_prf_plus(prf, key, sizeof(key), parts, 3, 80, &out), IKE_OK);
    assert_memory_equal(out->data, t1, 32);
    assert_memory_equal(out->data + 64, t3, 16);
    ike_secret_free(out);
    ike_prf_free(prf);
}

/* All 255 blocks against a reference loop; one octet more is refused. */
static void test_prf_plus_limit(void **state)
{
    static const uint8_t key[20] = {1, 2, 3};
    static const uint8_t seed[] = {0xde, 0xad, 0xbe, 0xef};
    struct ike_prf *prf;
    assert_int_equal(ike_prf_new(IKE_PRF_HMAC_SHA1, &prf), IKE_OK);
    struct ike_prf_chunk in = {seed, sizeof(seed)};
    struct ike_secret *out = NULL;
    assert_int_equal(ike_prf_plus(prf, key, sizeof(key), &in, 1, 255 * 20 + 1, &out),
                     IKE_E_TOO_BIG);
    assert_null(out);
    assert_int_equal(ike_prf_plus(prf, key, sizeof(key), &in, 1, 0, &out), IKE_E_INVALID_ARG);
    assert_int_equal(ike_prf_plus(prf, key, sizeof(key), &in, 1, 255 * 20, &out), IKE_OK);

    uint8_t t[20], msg[20 + sizeof(seed) + 1];
    size_t prev = 0;
    for (unsigned n = 1; n <= 255; n++) {
        memcpy(msg, t, prev);
        memcpy(msg + prev, seed, sizeof(seed));
        msg[prev + sizeof(seed)] = (uint8_t)n;
        ref_hmac("SHA1", key, sizeof(key), msg, prev + sizeof(seed) + 1, t, 20);
        if (memcmp(out->data + (n - 1) * 20, t, 20) != 0)
            fail_msg("prf+ block %u differs", n);
        prev = 20;
    }
    ike_secret_free(out);
    ike_prf_free(prf);
}

/* Keying a new computation must not leak the previous key: compute with
 * K1, then K2, then K1 again. */
static void test_prf_rekey(void **state)
{
    struct ike_prf *prf;
    assert_int_equal(ike_prf_new(IKE_PRF_HMAC_SHA2_384, &prf), IKE_OK);
    uint8_t a[48], b[48], c[48], ref[48];
    struct ike_prf_chunk in = {(const uint8_t *)"data", 4};
    assert_int_equal(ike_prf_compute(prf, (const uint8_t *)"K1", 2, &in, 1, a), IKE_OK);
    assert_int_equal(ike_prf_compute(prf, (const uint8_t *)"K2", 2, &in, 1, b), IKE_OK);
    assert_int_equal(ike_prf_compute(prf, (const uint8_t *)"K1", 2, &in, 1, c), IKE_OK);
    assert_memory_equal(a, c, 48);
    assert_memory_not_equal(a, b, 48);
    ref_hmac("SHA384", (const uint8_t *)"K2", 2, (const uint8_t *)"data", 4, ref, 48);
    assert_memory_equal(b, ref, 48);
    /* An empty key is a key, not "reuse the last one". */
    assert_int_equal(ike_prf_compute(prf, NULL, 0, &in, 1, c), IKE_OK);
    ref_hmac("SHA384", (const uint8_t *)"", 0, (const uint8_t *)"data", 4, ref, 48);
    assert_memory_equal(c, ref, 48);
    ike_prf_free(prf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_sha1_rfc2202),
        cmocka_unit_test(test_hmac_sha2_rfc4231),
        cmocka_unit_test(test_prf_rfc4868_auth_keys),
        cmocka_unit_test(test_prf_unsupported),
        cmocka_unit_test(test_prf_plus_structure),
        cmocka_unit_test(test_prf_plus_limit),
        cmocka_unit_test(test_prf_rekey),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
