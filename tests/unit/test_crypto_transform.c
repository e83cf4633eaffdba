/*
 * Transform tables: sizes from RFC 3602, RFC 5282, RFC 7634, RFC 4868 and
 * RFC 7296, and the names strongSwan prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <ike/const.h>
#include <ike/dh.h>
#include <ike/transform.h>

static void test_encr_table(void **state)
{
    static const struct {
        uint16_t id, bits;
        size_t key_len, salt, iv, block, icv;
        bool aead;
        const char *name;
    } rows[] = {
        {IKE_ENCR_AES_CBC, 128, 16, 0, 16, 16, 0, false, "aes128"},
        {IKE_ENCR_AES_CBC, 192, 24, 0, 16, 16, 0, false, "aes192"},
        {IKE_ENCR_AES_CBC, 256, 32, 0, 16, 16, 0, false, "aes256"},
        {IKE_ENCR_AES_GCM_16, 128, 20, 4, 8, 1, 16, true, "aes128gcm16"},
        {IKE_ENCR_AES_GCM_16, 192, 28, 4, 8, 1, 16, true, "aes192gcm16"},
        {IKE_ENCR_AES_GCM_16, 256, 36, 4, 8, 1, 16, true, "aes256gcm16"},
        {IKE_ENCR_CHACHA20_POLY1305, 0, 36, 4, 8, 1, 16, true, "chacha20poly1305"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct ike_encr_info info;
        memset(&info, 0xee, sizeof(info));
        assert_int_equal(ike_encr_lookup(rows[i].id, rows[i].bits, &info), IKE_OK);
        assert_int_equal(info.id, rows[i].id);
        assert_int_equal(info.key_bits, rows[i].bits);
        assert_int_equal(info.key_len, rows[i].key_len);
        assert_int_equal(info.salt_len, rows[i].salt);
        assert_int_equal(info.iv_len, rows[i].iv);
        assert_int_equal(info.block_len, rows[i].block);
        assert_int_equal(info.icv_len, rows[i].icv);
        assert_int_equal(info.aead, rows[i].aead);
        assert_string_equal(ike_encr_name(rows[i].id, rows[i].bits), rows[i].name);
    }
    /* RFC 7634: no Key Length attribute, but a peer sending 256 is fine. */
    struct ike_encr_info info;
    assert_int_equal(ike_encr_lookup(IKE_ENCR_CHACHA20_POLY1305, 256, &info), IKE_OK);
    assert_int_equal(info.key_len, 36);
    assert_string_equal(ike_encr_name(IKE_ENCR_CHACHA20_POLY1305, 256), "chacha20poly1305");
}

static void test_encr_unsupported(void **state)
{
    static const uint16_t bad[][2] = {
        {IKE_ENCR_AES_CBC, 0},      {IKE_ENCR_AES_CBC, 64},
        {IKE_ENCR_AES_GCM_16, 0},   {IKE_ENCR_AES_GCM_8, 128},
        {IKE_ENCR_AES_GCM_12, 256}, {IKE_ENCR_3DES, 0},
        {IKE_ENCR_NULL, 0},         {IKE_ENCR_CHACHA20_POLY1305, 128},
        {IKE_ENCR_AES_CTR, 128},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ike_encr_info info;
        assert_int_equal(ike_encr_lookup(bad[i][0], bad[i][1], &info), IKE_E_UNSUPPORTED);
        assert_null(ike_encr_name(bad[i][0], bad[i][1]));
    }
}

static void test_integ_prf_tables(void **state)
{
    static const struct {
        uint16_t id;
        size_t key_len, icv_len;
        const char *name;
    } integ[] = {
        {IKE_INTEG_HMAC_SHA1_96, 20, 12, "sha1"},
        {IKE_INTEG_HMAC_SHA2_256_128, 32, 16, "sha256"},
        {IKE_INTEG_HMAC_SHA2_384_192, 48, 24, "sha384"},
        {IKE_INTEG_HMAC_SHA2_512_256, 64, 32, "sha512"},
    };
    for (size_t i = 0; i < 4; i++) {
        struct ike_integ_info info;
        assert_int_equal(ike_integ_lookup(integ[i].id, &info), IKE_OK);
        assert_int_equal(info.id, integ[i].id);
        assert_int_equal(info.key_len, integ[i].key_len);
        assert_int_equal(info.icv_len, integ[i].icv_len);
        assert_string_equal(ike_integ_name(integ[i].id), integ[i].name);
    }
    static const struct {
        uint16_t id;
        size_t out_len;
        const char *name;
    } prf[] = {
        {IKE_PRF_HMAC_SHA1, 20, "prfsha1"},
        {IKE_PRF_HMAC_SHA2_256, 32, "prfsha256"},
        {IKE_PRF_HMAC_SHA2_384, 48, "prfsha384"},
        {IKE_PRF_HMAC_SHA2_512, 64, "prfsha512"},
    };
    for (size_t i = 0; i < 4; i++) {
        struct ike_prf_info info;
        assert_int_equal(ike_prf_lookup(prf[i].id, &info), IKE_OK);
        assert_int_equal(info.id, prf[i].id);
        assert_int_equal(info.out_len, prf[i].out_len);
        assert_string_equal(ike_prf_name(prf[i].id), prf[i].name);
    }
    struct ike_integ_info ii;
    struct ike_prf_info pi;
    assert_int_equal(ike_integ_lookup(IKE_INTEG_NONE, &ii), IKE_E_UNSUPPORTED);
    assert_int_equal(ike_integ_lookup(IKE_INTEG_HMAC_MD5_96, &ii), IKE_E_UNSUPPORTED);
    assert_int_equal(ike_integ_lookup(IKE_INTEG_AES_XCBC_96, &ii), IKE_E_UNSUPPORTED);
    assert_int_equal(ike_prf_lookup(IKE_PRF_HMAC_MD5, &pi), IKE_E_UNSUPPORTED);
    assert_int_equal(ike_prf_lookup(IKE_PRF_AES128_XCBC, &pi), IKE_E_UNSUPPORTED);
    assert_null(ike_integ_name(IKE_INTEG_NONE));
    assert_null(ike_prf_name(0));
}

static void test_dh_names_and_sizes(void **state)
{
    static const struct {
        uint16_t id;
        const char *name;
        size_t pub, secret;
    } rows[] = {
        {IKE_DH_MODP_2048, "modp2048", 256, 256},
        {IKE_DH_MODP_3072, "modp3072", 384, 384},
        {IKE_DH_MODP_4096, "modp4096", 512, 512},
        {IKE_DH_ECP_256, "ecp256", 64, 32},
        {IKE_DH_ECP_384, "ecp384", 96, 48},
        {IKE_DH_ECP_521, "ecp521", 132, 66},
        {IKE_DH_CURVE25519, "curve25519", 32, 32},
        /* named for logs, not implemented */
        {IKE_DH_MODP_1024, "modp1024", 0, 0},
        {IKE_DH_MODP_8192, "modp8192", 0, 0},
        {IKE_DH_CURVE448, "curve448", 0, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_string_equal(ike_dh_name(rows[i].id), rows[i].name);
        assert_int_equal(ike_dh_public_len(rows[i].id), rows[i].pub);
        assert_int_equal(ike_dh_secret_len(rows[i].id), rows[i].secret);
    }
    assert_null(ike_dh_name(IKE_DH_NONE));
    assert_null(ike_dh_name(1000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encr_table),
        cmocka_unit_test(test_encr_unsupported),
        cmocka_unit_test(test_integ_prf_tables),
        cmocka_unit_test(test_dh_names_and_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
