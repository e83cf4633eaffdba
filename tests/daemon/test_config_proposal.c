/*
 * proposal_parse.c: FortiOS and strongSwan spellings give identical libike
 * proposals; every supported name maps to its IANA ID; each kind of bad
 * proposal is rejected with a reason naming the token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <ike/const.h>

#include "config/proposal_parse.h"

struct parsed {
    struct ike_cfg_proposal p[IKE_CFG_MAX_PROPOSALS];
    size_t n;
    char err[400];
};

static int parse(const char *text, enum cfg_prop_kind kind, const char *dhgrp, struct parsed *out)
{
    uint16_t dh[IKE_CFG_MAX_TRANSFORMS] = {0};
    size_t n_dh = 0;
    memset(out, 0, sizeof(*out));
    if (dhgrp &&
        cfg_dhgrp_parse(dhgrp, dh, IKE_CFG_MAX_TRANSFORMS, &n_dh, out->err, sizeof(out->err)) != 0)
        return -1;
    return cfg_proposals_parse(text, kind, dh, n_dh, out->p, &out->n, out->err, sizeof(out->err));
}

/* Parses both spellings and requires byte-identical proposals. */
static void assert_same(enum cfg_prop_kind kind, const char *forti, const char *dhgrp,
                        const char *swan)
{
    struct parsed a, b;
    assert_int_equal(parse(forti, kind, dhgrp, &a), 0);
    assert_int_equal(parse(swan, kind, NULL, &b), 0);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.p, b.p, a.n * sizeof(a.p[0]));
}

static void test_ike_styles_identical(void **state)
{
    (void)state;
    assert_same(CFG_PROP_IKE, "aes256-sha512", "21", "aes256-sha512-ecp521");
    assert_same(CFG_PROP_IKE, "aes128-sha256", "14", "aes128-sha256-modp2048");
    assert_same(CFG_PROP_IKE, "aes256gcm-prfsha512", "21", "aes256gcm16-prfsha512-ecp521");
    assert_same(CFG_PROP_IKE, "aes256-sha512 aes256gcm-prfsha384", "21 20",
                "aes256-sha512-ecp521-ecp384, aes256gcm16-prfsha384-ecp521-ecp384");
    assert_same(CFG_PROP_IKE, "chacha20poly1305-prfsha256", "31",
                "chacha20poly1305-prfsha256-curve25519");
    /* explicit PRF equal to the derived one */
    assert_same(CFG_PROP_IKE, "aes256-sha384", "ecp384", "aes256-sha384-prfsha384-ecp384");
}

static void test_esp_styles_identical(void **state)
{
    (void)state;
    assert_same(CFG_PROP_ESP, "aes256gcm", NULL, "aes256gcm16");
    assert_same(CFG_PROP_ESP, "aes128gcm", NULL, "aes128gcm16-noesn");
    assert_same(CFG_PROP_ESP, "aes256-sha256", "14", "aes256-sha256-modp2048");
    assert_same(CFG_PROP_ESP, "aes256-sha1", NULL, "aes256-sha1");
}

static void test_ike_ids(void **state)
{
    (void)state;
    struct parsed r;
    assert_int_equal(parse("aes256gcm16-prfsha512-ecp521", CFG_PROP_IKE, NULL, &r), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.p[0].n_encr, 1);
    assert_int_equal(r.p[0].encr[0].id, IKE_ENCR_AES_GCM_16);
    assert_int_equal(r.p[0].encr[0].key_bits, 256);
    assert_int_equal(r.p[0].n_integ, 0);
    assert_int_equal(r.p[0].n_prf, 1);
    assert_int_equal(r.p[0].prf[0], IKE_PRF_HMAC_SHA2_512);
    assert_int_equal(r.p[0].n_dh, 1);
    assert_int_equal(r.p[0].dh[0], IKE_DH_ECP_521);
    assert_int_equal(r.p[0].n_esn, 0); /* no ESN transform in IKE proposals */

    /* several algorithms of one type in one proposal, dedup, case-insensitive */
    assert_int_equal(parse("AES128-aes192-aes256-aes128-sha1-sha384-modp3072-modp4096-ecp256",
                           CFG_PROP_IKE, NULL, &r),
                     0);
    assert_int_equal(r.p[0].n_encr, 3);
    assert_int_equal(r.p[0].encr[1].key_bits, 192);
    assert_int_equal(r.p[0].n_integ, 2);
    assert_int_equal(r.p[0].integ[0], IKE_INTEG_HMAC_SHA1_96);
    assert_int_equal(r.p[0].integ[1], IKE_INTEG_HMAC_SHA2_384_192);
    assert_int_equal(r.p[0].n_prf, 2);
    assert_int_equal(r.p[0].prf[0], IKE_PRF_HMAC_SHA1);
    assert_int_equal(r.p[0].prf[1], IKE_PRF_HMAC_SHA2_384);
    assert_int_equal(r.p[0].n_dh, 3);
    assert_int_equal(r.p[0].dh[0], IKE_DH_MODP_3072);
    assert_int_equal(r.p[0].dh[1], IKE_DH_MODP_4096);
    assert_int_equal(r.p[0].dh[2], IKE_DH_ECP_256);

    /* a proposal with its own group ignores dhgrp; one without takes it */
    assert_int_equal(parse("aes256-sha256-ecp384 aes128-sha1", CFG_PROP_IKE, "19 31", &r), 0);
    assert_int_equal(r.p[0].n_dh, 1);
    assert_int_equal(r.p[0].dh[0], IKE_DH_ECP_384);
    assert_int_equal(r.p[1].n_dh, 2);
    assert_int_equal(r.p[1].dh[0], IKE_DH_ECP_256);
    assert_int_equal(r.p[1].dh[1], IKE_DH_CURVE25519);
}

static void test_esp_ids(void **state)
{
    (void)state;
    struct parsed r;
    assert_int_equal(parse("aes128-sha512-esn chacha20poly1305-ecp256", CFG_PROP_ESP, NULL, &r), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.p[0].encr[0].id, IKE_ENCR_AES_CBC);
    assert_int_equal(r.p[0].integ[0], IKE_INTEG_HMAC_SHA2_512_256);
    assert_int_equal(r.p[0].n_prf, 0);
    assert_int_equal(r.p[0].n_dh, 0);
    assert_int_equal(r.p[0].n_esn, 1);
    assert_int_equal(r.p[0].esn[0], IKE_ESN_YES);
    assert_int_equal(r.p[1].encr[0].id, IKE_ENCR_CHACHA20_POLY1305);
    assert_int_equal(r.p[1].encr[0].key_bits, 0);
    assert_int_equal(r.p[1].n_dh, 1);
    assert_int_equal(r.p[1].dh[0], IKE_DH_ECP_256);
    assert_int_equal(r.p[1].n_esn, 1);
    assert_int_equal(r.p[1].esn[0], IKE_ESN_NO);
}

static void test_dhgrp_lists(void **state)
{
    (void)state;
    uint16_t dh[IKE_CFG_MAX_TRANSFORMS];
    size_t n;
    char err[300];
    assert_int_equal(cfg_dhgrp_parse("14 15 16 19 20 21 31", dh, 8, &n, err, sizeof(err)), 0);
    const uint16_t want[] = {14, 15, 16, 19, 20, 21, 31};
    assert_int_equal(n, 7);
    assert_memory_equal(dh, want, sizeof(want));
    assert_int_equal(
        cfg_dhgrp_parse("ecp521,ecp384, curve25519 x25519", dh, 8, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_int_equal(dh[2], IKE_DH_CURVE25519);
    assert_int_equal(cfg_dhgrp_parse("14 2", dh, 8, &n, err, sizeof(err)), -1);
    assert_string_equal(err, "DH group 2 is not supported by libike (supported: modp2048(14) "
                             "modp3072(15) modp4096(16) ecp256(19) ecp384(20) ecp521(21) "
                             "curve25519(31))");
    assert_int_equal(cfg_dhgrp_parse("21 ecp999", dh, 8, &n, err, sizeof(err)), -1);
    assert_string_equal(err, "unknown DH group 'ecp999'");
    assert_int_equal(cfg_dhgrp_parse("21x", dh, 8, &n, err, sizeof(err)), -1);
    assert_string_equal(err, "'21x' is not a DH group number");
    assert_int_equal(cfg_dhgrp_parse("  ", dh, 8, &n, err, sizeof(err)), -1);
    assert_string_equal(err, "empty DH group list");
}

static void assert_error(const char *text, enum cfg_prop_kind kind, const char *dhgrp,
                         const char *want)
{
    struct parsed r;
    assert_int_equal(parse(text, kind, dhgrp, &r), -1);
    assert_int_equal(r.n, 0);
    assert_string_equal(r.err, want);
}

static void test_errors(void **state)
{
    (void)state;
    assert_error("aes256-sha256-ecp256 aes256-sha265-ecp256", CFG_PROP_IKE, NULL,
                 "proposal 'aes256-sha265-ecp256': unknown algorithm 'sha265'");
    assert_error("aes128gcm8-prfsha256-ecp256", CFG_PROP_IKE, NULL,
                 "proposal 'aes128gcm8-prfsha256-ecp256': cipher 'aes128gcm8' is not supported "
                 "by libike (supported: aes128 aes192 aes256 aes128gcm16 aes192gcm16 aes256gcm16 "
                 "chacha20poly1305)");
    assert_error("aes256-sha256-modp1024", CFG_PROP_IKE, NULL,
                 "proposal 'aes256-sha256-modp1024': DH group 'modp1024' is not supported by "
                 "libike (supported: modp2048(14) modp3072(15) modp4096(16) ecp256(19) ecp384(20) "
                 "ecp521(21) curve25519(31))");
    assert_error("aes256-aesxcbc-ecp256", CFG_PROP_IKE, NULL,
                 "proposal 'aes256-aesxcbc-ecp256': integrity algorithm 'aesxcbc' is not "
                 "supported by libike (supported: sha1 sha256 sha384 sha512)");
    assert_error("aes256-sha256-prfmd5-ecp256", CFG_PROP_IKE, NULL,
                 "proposal 'aes256-sha256-prfmd5-ecp256': PRF 'prfmd5' is not supported by "
                 "libike (supported: prfsha1 prfsha256 prfsha384 prfsha512)");
    assert_error("aes256gcm16-aes256-sha256-ecp256", CFG_PROP_IKE, NULL,
                 "proposal 'aes256gcm16-aes256-sha256-ecp256': 'aes256' mixes AEAD and non-AEAD "
                 "ciphers; write them as separate proposals");
    assert_error("aes256gcm16-ecp256", CFG_PROP_IKE, NULL,
                 "proposal 'aes256gcm16-ecp256': an AEAD cipher needs a PRF (e.g. "
                 "aes256gcm16-ecp256-prfsha384)");
    assert_error("aes256gcm16-sha256", CFG_PROP_ESP, NULL,
                 "proposal 'aes256gcm16-sha256': an AEAD cipher takes no integrity algorithm "
                 "(use the cipher alone)");
    assert_error("aes256-ecp256", CFG_PROP_IKE, NULL,
                 "proposal 'aes256-ecp256' needs an integrity algorithm (e.g. "
                 "aes256-ecp256-sha256)");
    assert_error("sha256-ecp256", CFG_PROP_IKE, NULL, "proposal 'sha256-ecp256' has no cipher");
    assert_error("aes256-sha256-ecp256-esn", CFG_PROP_IKE, NULL,
                 "proposal 'aes256-sha256-ecp256-esn': 'esn' applies to ESP proposals only");
    assert_error("aes256-sha256-prfsha256", CFG_PROP_ESP, NULL,
                 "proposal 'aes256-sha256-prfsha256': PRF 'prfsha256' applies to IKE proposals "
                 "only");
    assert_error("aes256--sha256", CFG_PROP_ESP, NULL,
                 "proposal 'aes256--sha256': empty algorithm name");
    assert_error(" , ", CFG_PROP_ESP, NULL, "empty proposal");
    assert_error("aes128 aes128 aes128 aes128 aes128 aes128 aes128 aes128 aes128", CFG_PROP_ESP,
                 NULL, "proposal 'aes128' needs an integrity algorithm (e.g. aes128-sha256)");
    assert_error("aes128-sha1 aes128-sha1 aes128-sha1 aes128-sha1 aes128-sha1 aes128-sha1 "
                 "aes128-sha1 aes128-sha1 aes128-sha1",
                 CFG_PROP_ESP, NULL, "too many proposals (at most 8)");
}

static void test_esn_both_orders(void **state)
{
    (void)state;
    struct parsed r;
    assert_int_equal(parse("aes256-sha256-noesn-esn-noesn", CFG_PROP_ESP, NULL, &r), 0);
    assert_int_equal(r.p[0].n_esn, 2);
    assert_int_equal(r.p[0].esn[0], IKE_ESN_NO);
    assert_int_equal(r.p[0].esn[1], IKE_ESN_YES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ike_styles_identical),
        cmocka_unit_test(test_esp_styles_identical),
        cmocka_unit_test(test_ike_ids),
        cmocka_unit_test(test_esp_ids),
        cmocka_unit_test(test_dhgrp_lists),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_esn_both_orders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
