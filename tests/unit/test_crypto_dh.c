/*
 * DH known answers: RFC 5903 §8 (ECP-256/384/521), RFC 7748 §5.2 and §6.1
 * (X25519), small-exponent MODP values checkable by hand; exchanges between
 * two libike instances for every group; and rejection of invalid peer
 * public values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <ike/const.h>
#include <ike/dh.h>

#include "helper_hex.h"

static const uint16_t all_groups[] = {
    IKE_DH_MODP_2048, IKE_DH_MODP_3072, IKE_DH_MODP_4096,  IKE_DH_ECP_256,
    IKE_DH_ECP_384,   IKE_DH_ECP_521,   IKE_DH_CURVE25519,
};

#define NGROUPS (sizeof(all_groups) / sizeof(all_groups[0]))

static struct ike_dh *dh_from(uint16_t group, const char *priv_hex)
{
    uint8_t priv[128];
    size_t n = helper_unhex(priv_hex, priv, sizeof(priv));
    struct ike_dh *dh = NULL;
    struct ike_diag diag = {0};
    enum ike_status st = ike_dh_new_from_private(group, priv, n, &dh, &diag);
    if (st != IKE_OK)
        fail_msg("from_private group %u: %s (%s)", group, ike_status_str(st), diag.reason);
    return dh;
}

static void assert_public(const struct ike_dh *dh, const char *expect_hex)
{
    uint8_t expect[1024];
    size_t n = helper_unhex(expect_hex, expect, sizeof(expect));
    size_t len;
    const uint8_t *pub = ike_dh_public(dh, &len);
    assert_int_equal(len, n);
    assert_memory_equal(pub, expect, n);
}

static void assert_derive(struct ike_dh *dh, const char *peer_hex, const char *expect_hex)
{
    uint8_t peer[1024], expect[1024];
    size_t peer_len = helper_unhex(peer_hex, peer, sizeof(peer));
    size_t n = helper_unhex(expect_hex, expect, sizeof(expect));
    struct ike_secret *s = NULL;
    struct ike_diag diag = {0};
    enum ike_status st = ike_dh_derive(dh, peer, peer_len, &s, &diag);
    if (st != IKE_OK)
        fail_msg("derive: %s (%s)", ike_status_str(st), diag.reason);
    assert_int_equal(s->len, n);
    assert_memory_equal(s->data, expect, n);
    ike_secret_free(s);
}

struct rfc5903_case {
    uint16_t group;
    const char *i, *gix, *giy, *r, *grx, *gry, *girx;
};

/* RFC 5903 §8.1, §8.2, §8.3. */
static const struct rfc5903_case rfc5903[] = {
    {IKE_DH_ECP_256, "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
     "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180",
     "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
     "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
     "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63",
     "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
     "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE"},
    {IKE_DH_ECP_384,
     "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655"
     "E35B538041E649EE3FAEF896783AB194",
     "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6"
     "DE3AC808ACB4BDB4C88732AEE95F41AA",
     "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38E"
     "EB9FCFF3C2C947DAE69B4C634573A81C",
     "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942"
     "E0308312916B8ED2960E4BD55A7448FC",
     "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D"
     "0D1AC43A0336DEF96FDA41D0774A3571",
     "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FF"
     "F83FA40142209DFF5EAAD96DB9E6386C",
     "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4"
     "D603135569B9E9D09CF5D4A270F59746"},
    {IKE_DH_ECP_521,
     "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A0"
     "95AA85A30FE1C2952C6771D937BA9777F5957B2639BAB072462F68C27A57382D"
     "4A52",
     "0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBE"
     "E1E3BF42E00B8E380AEAE57C2D107564941885942AF5A7F4601723C4195D176C"
     "ED3E",
     "017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4A10A"
     "D8A788015AC405D7799DC75E7B7D5B6CF2261A6A7F1507438BF01BEB6CA3926F"
     "9582",
     "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E"
     "9C677D600B343757A3BDBF2A3163E4C2F869CCA7458AA4A4EFFC311F5CB15168"
     "5EB9",
     "00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A21"
     "9B97C356436ADC6E95BB0352F6BE64A6C2912D4EF2D0433CED2B6171640012D9"
     "460F",
     "015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077B87"
     "220B6536C5C408A1D2AEBB8E86D678AE49CB57091F4732296579AB44FCD17F0F"
     "C56A",
     "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04"
     "D1427E73CA4BAA240A34786859810C06B3C715A3A8CC3151F2BEE417996D19F3"
     "DDEA"},
};

static void concat_hex(char *out, size_t size, const char *a, const char *b)
{
    assert_true(strlen(a) + strlen(b) < size);
    strcpy(out, a);
    strcat(out, b);
}

static void test_ecp_rfc5903(void **state)
{
    for (size_t k = 0; k < sizeof(rfc5903) / sizeof(rfc5903[0]); k++) {
        const struct rfc5903_case *tc = &rfc5903[k];
        char gi[512], gr[512];
        concat_hex(gi, sizeof(gi), tc->gix, tc->giy);
        concat_hex(gr, sizeof(gr), tc->grx, tc->gry);
        struct ike_dh *di = dh_from(tc->group, tc->i);
        struct ike_dh *dr = dh_from(tc->group, tc->r);
        assert_int_equal(ike_dh_group(di), tc->group);
        assert_public(di, gi);
        assert_public(dr, gr);
        assert_derive(di, gr, tc->girx);
        assert_derive(dr, gi, tc->girx);
        ike_dh_free(di);
        ike_dh_free(dr);
    }
}

/* RFC 7748 §5.2: X25519(scalar, u) through our API, the scalar as private
 * key and u as the peer's public value. */
static void test_x25519_rfc7748_5_2(void **state)
{
    static const char *cases[][3] = {
        {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
         "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
         "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
        {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
         "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
         "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
    };
    for (size_t i = 0; i < 2; i++) {
        struct ike_dh *dh = dh_from(IKE_DH_CURVE25519, cases[i][0]);
        assert_derive(dh, cases[i][1], cases[i][2]);
        ike_dh_free(dh);
    }
}

/* RFC 7748 §5.2 iteration: k = X25519(k, u), u = old k, from k = u = 9. */
static void test_x25519_rfc7748_iterated(void **state)
{
    uint8_t k[32] = {9}, u[32] = {9}, expect1[32], expect1000[32];
    helper_unhex("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079", expect1, 32);
    helper_unhex("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", expect1000, 32);
    for (int i = 1; i <= 1000; i++) {
        struct ike_dh *dh = NULL;
        struct ike_secret *s = NULL;
        assert_int_equal(ike_dh_new_from_private(IKE_DH_CURVE25519, k, 32, &dh, NULL), IKE_OK);
        assert_int_equal(ike_dh_derive(dh, u, 32, &s, NULL), IKE_OK);
        memcpy(u, k, 32);
        memcpy(k, s->data, 32);
        ike_secret_free(s);
        ike_dh_free(dh);
        if (i == 1)
            assert_memory_equal(k, expect1, 32);
    }
    assert_memory_equal(k, expect1000, 32);
}

/* RFC 7748 §6.1. */
static void test_x25519_rfc7748_6_1(void **state)
{
    const char *alice_pub = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
    const char *bob_pub = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
    const char *shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    struct ike_dh *alice = dh_from(
        IKE_DH_CURVE25519, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    struct ike_dh *bob = dh_from(
        IKE_DH_CURVE25519, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    assert_public(alice, alice_pub);
    assert_public(bob, bob_pub);
    assert_derive(alice, bob_pub, shared);
    assert_derive(bob, alice_pub, shared);
    ike_dh_free(alice);
    ike_dh_free(bob);
}

/* With g = 2 and tiny exponents every value is known: g^2 = 4, g^3 = 8,
 * g^6 = 64, each left-padded to the modulus length. This pins both the
 * public value encoding and the zero-padding of g^ir (RFC 7296 §2.14). */
static void test_modp_small_exponents(void **state)
{
    static const uint16_t modp[] = {IKE_DH_MODP_2048, IKE_DH_MODP_3072, IKE_DH_MODP_4096};
    for (size_t i = 0; i < 3; i++) {
        size_t len = ike_dh_public_len(modp[i]);
        assert_int_equal(ike_dh_secret_len(modp[i]), len);
        uint8_t two = 2, three = 3, expect[512] = {0};
        struct ike_dh *a = NULL, *b = NULL;
        assert_int_equal(ike_dh_new_from_private(modp[i], &two, 1, &a, NULL), IKE_OK);
        assert_int_equal(ike_dh_new_from_private(modp[i], &three, 1, &b, NULL), IKE_OK);
        size_t pub_len;
        const uint8_t *pa = ike_dh_public(a, &pub_len);
        assert_int_equal(pub_len, len);
        expect[len - 1] = 4;
        assert_memory_equal(pa, expect, len);
        const uint8_t *pb = ike_dh_public(b, &pub_len);
        expect[len - 1] = 8;
        assert_memory_equal(pb, expect, len);
        struct ike_secret *s1 = NULL, *s2 = NULL;
        assert_int_equal(ike_dh_derive(a, pb, len, &s1, NULL), IKE_OK);
        assert_int_equal(ike_dh_derive(b, pa, len, &s2, NULL), IKE_OK);
        expect[len - 1] = 64;
        assert_int_equal(s1->len, len);
        assert_memory_equal(s1->data, expect, len);
        assert_true(ike_secret_equal(s1, s2));
        ike_secret_free(s1);
        ike_secret_free(s2);
        ike_dh_free(a);
        ike_dh_free(b);
    }
}

static void test_exchange_every_group(void **state)
{
    for (size_t i = 0; i < NGROUPS; i++) {
        uint16_t g = all_groups[i];
        struct ike_dh *a = NULL, *b = NULL;
        struct ike_diag diag = {0};
        assert_true(ike_dh_supported(g));
        assert_int_equal(ike_dh_new(g, &a, &diag), IKE_OK);
        assert_int_equal(ike_dh_new(g, &b, &diag), IKE_OK);
        size_t la, lb;
        const uint8_t *pa = ike_dh_public(a, &la);
        const uint8_t *pb = ike_dh_public(b, &lb);
        assert_int_equal(la, ike_dh_public_len(g));
        assert_int_equal(lb, ike_dh_public_len(g));
        assert_memory_not_equal(pa, pb, la);
        struct ike_secret *s1 = NULL, *s2 = NULL;
        assert_int_equal(ike_dh_derive(a, pb, lb, &s1, &diag), IKE_OK);
        assert_int_equal(ike_dh_derive(b, pa, la, &s2, &diag), IKE_OK);
        assert_int_equal(s1->len, ike_dh_secret_len(g));
        assert_true(ike_secret_equal(s1, s2));
        /* Deriving again from the same object gives the same secret. */
        struct ike_secret *s3 = NULL;
        assert_int_equal(ike_dh_derive(a, pb, lb, &s3, &diag), IKE_OK);
        assert_true(ike_secret_equal(s1, s3));
        ike_secret_free(s1);
        ike_secret_free(s2);
        ike_secret_free(s3);
        ike_dh_free(a);
        ike_dh_free(b);
    }
}

static void expect_reject(struct ike_dh *dh, const uint8_t *pub, size_t len, const char *reason)
{
    struct ike_secret *s = (struct ike_secret *)1;
    struct ike_diag diag = {0};
    assert_int_equal(ike_dh_derive(dh, pub, len, &s, &diag), IKE_E_DH_PUBLIC);
    assert_null(s);
    assert_int_equal(diag.status, IKE_E_DH_PUBLIC);
    if (!strstr(diag.reason, reason))
        fail_msg("reason \"%s\" lacks \"%s\"", diag.reason, reason);
}

static void test_reject_wrong_length(void **state)
{
    uint8_t buf[600] = {0};
    for (size_t i = 0; i < NGROUPS; i++) {
        struct ike_dh *dh = NULL;
        assert_int_equal(ike_dh_new(all_groups[i], &dh, NULL), IKE_OK);
        size_t len;
        const uint8_t *pub = ike_dh_public(dh, &len);
        memcpy(buf, pub, len);
        char want[64];
        snprintf(want, sizeof(want), "length %zu != %zu", len - 1, len);
        expect_reject(dh, buf, len - 1, want);
        /* (An ECP value sent with the SEC1 0x04 prefix is one octet too long.) */
        snprintf(want, sizeof(want), "length %zu != %zu", len + 1, len);
        expect_reject(dh, buf, len + 1, want);
        expect_reject(dh, buf, 0, "length 0 !=");
        ike_dh_free(dh);
    }
}

static void test_reject_ecp_invalid_points(void **state)
{
    static const uint16_t ecp[] = {IKE_DH_ECP_256, IKE_DH_ECP_384, IKE_DH_ECP_521};
    for (size_t i = 0; i < 3; i++) {
        struct ike_dh *dh = NULL, *peer = NULL;
        assert_int_equal(ike_dh_new(ecp[i], &dh, NULL), IKE_OK);
        assert_int_equal(ike_dh_new(ecp[i], &peer, NULL), IKE_OK);
        size_t len;
        uint8_t pub[132];
        const uint8_t *peer_pub = ike_dh_public(peer, &len);
        assert_true(len <= sizeof(pub));
        memcpy(pub, peer_pub, len);
        /* A valid point with y changed is off the curve. */
        pub[len - 1] ^= 0x01;
        expect_reject(dh, pub, len, "not a point on the curve");
        /* (0, 0): the conventional encoding of infinity, not on the curve. */
        memset(pub, 0, len);
        expect_reject(dh, pub, len, "not a point on the curve");
        /* Coordinates >= p. */
        memset(pub, 0xff, len);
        expect_reject(dh, pub, len, "not a point on the curve");
        ike_dh_free(dh);
        ike_dh_free(peer);
    }
}

/* P-521 coordinates have 7 spare bits in their 66 octets, so a valid y can
 * be sent as y + p: the same point modulo p, but not a canonical value.
 * Likewise x + p. Both must be refused. */
static void test_reject_ecp_unreduced(void **state)
{
    struct ike_dh *dh = NULL, *peer = NULL;
    assert_int_equal(ike_dh_new(IKE_DH_ECP_521, &dh, NULL), IKE_OK);
    assert_int_equal(ike_dh_new(IKE_DH_ECP_521, &peer, NULL), IKE_OK);
    size_t len;
    const uint8_t *valid = ike_dh_public(peer, &len);
    assert_int_equal(len, 132);
    BIGNUM *p = BN_new(), *v = BN_new();
    assert_true(BN_set_bit(p, 521));
    assert_true(BN_sub_word(p, 1));
    for (size_t half = 0; half < 2; half++) {
        uint8_t pub[132];
        memcpy(pub, valid, len);
        assert_non_null(BN_bin2bn(pub + 66 * half, 66, v));
        assert_true(BN_add(v, v, p));
        assert_int_equal(BN_bn2binpad(v, pub + 66 * half, 66), 66);
        expect_reject(dh, pub, len, "not a point on the curve");
    }
    BN_free(p);
    BN_free(v);
    ike_dh_free(dh);
    ike_dh_free(peer);
}

/* p of a MODP group read from OpenSSL directly (not through libike). */
static size_t modp_prime(const char *name, uint8_t *p, size_t size)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)name, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
    EVP_PKEY *key = NULL;
    BIGNUM *bn = NULL;
    assert_true(EVP_PKEY_fromdata_init(ctx) > 0);
    assert_true(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEY_PARAMETERS, params) > 0);
    assert_true(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_FFC_P, &bn));
    int n = BN_num_bytes(bn);
    assert_true(n > 0 && (size_t)n <= size);
    BN_bn2bin(bn, p);
    BN_free(bn);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    return (size_t)n;
}

static void test_reject_modp_out_of_range(void **state)
{
    static const struct {
        uint16_t group;
        const char *name;
    } modp[] = {{IKE_DH_MODP_2048, "modp_2048"},
                {IKE_DH_MODP_3072, "modp_3072"},
                {IKE_DH_MODP_4096, "modp_4096"}};
    for (size_t i = 0; i < 3; i++) {
        uint8_t p[512], y[512];
        size_t len = modp_prime(modp[i].name, p, sizeof(p));
        assert_int_equal(len, ike_dh_public_len(modp[i].group));
        /* RFC 3526 primes end in 64 one bits, so p-1 and p+1 only touch
         * the last octet. */
        assert_int_equal(p[len - 1], 0xff);
        struct ike_dh *dh = NULL;
        assert_int_equal(ike_dh_new(modp[i].group, &dh, NULL), IKE_OK);
        memset(y, 0, len);
        expect_reject(dh, y, len, "is 0");
        y[len - 1] = 1;
        expect_reject(dh, y, len, "is 1");
        memcpy(y, p, len);
        y[len - 1] = 0xfe;
        expect_reject(dh, y, len, "is p-1");
        y[len - 1] = 0xff;
        expect_reject(dh, y, len, "is >= p");
        memset(y, 0xff, len);
        expect_reject(dh, y, len, "is >= p");
        /* The edges just inside the range are accepted: 2 and p-2. */
        struct ike_secret *s = NULL;
        memset(y, 0, len);
        y[len - 1] = 2;
        assert_int_equal(ike_dh_derive(dh, y, len, &s, NULL), IKE_OK);
        ike_secret_free(s);
        memcpy(y, p, len);
        y[len - 1] = 0xfd;
        assert_int_equal(ike_dh_derive(dh, y, len, &s, NULL), IKE_OK);
        ike_secret_free(s);
        ike_dh_free(dh);
    }
}

/* Points of small order on Curve25519 (and their non-canonical encodings)
 * all give the all-zero shared secret. */
static void test_reject_x25519_low_order(void **state)
{
    static const char *points[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    };
    struct ike_dh *dh = NULL;
    assert_int_equal(ike_dh_new(IKE_DH_CURVE25519, &dh, NULL), IKE_OK);
    for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
        uint8_t u[32];
        helper_unhex(points[i], u, 32);
        expect_reject(dh, u, 32, "all-zero");
    }
    ike_dh_free(dh);
}

static void test_unsupported_and_bad_private(void **state)
{
    static const uint16_t unsupported[] = {IKE_DH_NONE,      IKE_DH_MODP_1024, IKE_DH_MODP_1536,
                                           IKE_DH_MODP_8192, IKE_DH_CURVE448,  999};
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        struct ike_dh *dh = (struct ike_dh *)1;
        struct ike_diag diag = {0};
        assert_false(ike_dh_supported(unsupported[i]));
        assert_int_equal(ike_dh_public_len(unsupported[i]), 0);
        assert_int_equal(ike_dh_new(unsupported[i], &dh, &diag), IKE_E_UNSUPPORTED);
        assert_null(dh);
        assert_non_null(strstr(diag.reason, "not supported"));
    }
    uint8_t zero[66] = {0}, key[66];
    struct ike_dh *dh = NULL;
    /* ECP scalars must be exactly the field length and 0 < d < n. */
    assert_int_equal(ike_dh_new_from_private(IKE_DH_ECP_256, zero, 31, &dh, NULL),
                     IKE_E_INVALID_ARG);
    assert_int_equal(ike_dh_new_from_private(IKE_DH_ECP_256, zero, 32, &dh, NULL),
                     IKE_E_INVALID_ARG);
    helper_unhex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", key, 32);
    assert_int_equal(ike_dh_new_from_private(IKE_DH_ECP_256, key, 32, &dh, NULL),
                     IKE_E_INVALID_ARG);
    assert_int_equal(ike_dh_new_from_private(IKE_DH_CURVE25519, zero, 31, &dh, NULL),
                     IKE_E_INVALID_ARG);
    uint8_t one = 1;
    assert_int_equal(ike_dh_new_from_private(IKE_DH_MODP_2048, &one, 1, &dh, NULL),
                     IKE_E_INVALID_ARG);
    assert_int_equal(ike_dh_new_from_private(IKE_DH_MODP_2048, &one, 0, &dh, NULL),
                     IKE_E_INVALID_ARG);
    assert_null(dh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ecp_rfc5903),
        cmocka_unit_test(test_x25519_rfc7748_5_2),
        cmocka_unit_test(test_x25519_rfc7748_iterated),
        cmocka_unit_test(test_x25519_rfc7748_6_1),
        cmocka_unit_test(test_modp_small_exponents),
        cmocka_unit_test(test_exchange_every_group),
        cmocka_unit_test(test_reject_wrong_length),
        cmocka_unit_test(test_reject_ecp_invalid_points),
        cmocka_unit_test(test_reject_ecp_unreduced),
        cmocka_unit_test(test_reject_modp_out_of_range),
        cmocka_unit_test(test_reject_x25519_low_order),
        cmocka_unit_test(test_unsupported_and_bad_private),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
