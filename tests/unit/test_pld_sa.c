/* SA payload: proposals, transforms, attributes (RFC 7296 §3.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "helper_msg.h"

static void xf_attrs(struct helper_bytes *v, bool last, uint8_t type, uint16_t id,
                     const char *attrs_hex)
{
    size_t start = v->n;
    helper_bytes_u8(v, last ? 0 : 3);
    helper_bytes_u8(v, 0);
    helper_bytes_u16(v, 0);
    helper_bytes_u8(v, type);
    helper_bytes_u8(v, 0);
    helper_bytes_u16(v, id);
    helper_bytes_hex(v, attrs_hex);
    helper_bytes_put16(v, start + 2, (uint16_t)(v->n - start));
}

static void xf(struct helper_bytes *v, bool last, uint8_t type, uint16_t id, uint16_t key_bits)
{
    char hex[16] = "";
    if (key_bits)
        snprintf(hex, sizeof(hex), "800e%04x", key_bits);
    xf_attrs(v, last, type, id, hex);
}

static size_t prop_begin(struct helper_bytes *v, bool last, uint8_t num, uint8_t proto,
                         uint8_t spi_len, uint8_t n_xf)
{
    size_t start = v->n;
    helper_bytes_u8(v, last ? 0 : 2);
    helper_bytes_u8(v, 0);
    helper_bytes_u16(v, 0);
    helper_bytes_u8(v, num);
    helper_bytes_u8(v, proto);
    helper_bytes_u8(v, spi_len);
    helper_bytes_u8(v, n_xf);
    for (uint8_t i = 0; i < spi_len; i++)
        helper_bytes_u8(v, (uint8_t)(0xa0 + i));
    return start;
}

static void prop_end(struct helper_bytes *v, size_t start)
{
    helper_bytes_put16(v, start + 2, (uint16_t)(v->n - start));
}

/* The IKE proposal strongSwan offers by default: AES-CBC-256, SHA-256,
 * PRF SHA-256, ECP-256. */
static void ike_prop(struct helper_bytes *v, bool last, uint8_t num)
{
    size_t p = prop_begin(v, last, num, IKE_PROTO_IKE, 0, 4);
    xf(v, false, IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, 256);
    xf(v, false, IKE_TRANS_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0);
    xf(v, false, IKE_TRANS_PRF, IKE_PRF_HMAC_SHA2_256, 0);
    xf(v, true, IKE_TRANS_DH, IKE_DH_ECP_256, 0);
    prop_end(v, p);
}

static void test_decode_ike_proposal(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    struct ike_msg msg = {0};
    ike_prop(&v, true, 1);
    const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_SA, false, v.b, v.n);
    assert_int_equal(p->sa.n_proposals, 1);
    const struct ike_proposal *pr = &p->sa.proposals[0];
    assert_int_equal(pr->num, 1);
    assert_int_equal(pr->protocol, IKE_PROTO_IKE);
    assert_int_equal(pr->spi_len, 0);
    assert_int_equal(pr->n_transforms, 4);
    assert_int_equal(pr->transforms[0].type, IKE_TRANS_ENCR);
    assert_int_equal(pr->transforms[0].id, IKE_ENCR_AES_CBC);
    assert_int_equal(pr->transforms[0].key_bits, 256);
    assert_false(pr->transforms[0].unacceptable);
    assert_int_equal(pr->transforms[0].raw_attrs.len, 0);
    assert_int_equal(pr->transforms[3].type, IKE_TRANS_DH);
    assert_int_equal(pr->transforms[3].id, IKE_DH_ECP_256);
    assert_int_equal(pr->transforms[3].key_bits, 0);
    ike_msg_clear(&msg);
}

static void test_decode_esp_proposals_with_spi(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    struct ike_msg msg = {0};
    size_t p = prop_begin(&v, false, 1, IKE_PROTO_ESP, 4, 2);
    xf(&v, false, IKE_TRANS_ENCR, IKE_ENCR_AES_GCM_16, 128);
    xf(&v, true, IKE_TRANS_ESN, IKE_ESN_NO, 0);
    prop_end(&v, p);
    p = prop_begin(&v, true, 2, IKE_PROTO_ESP, 4, 3);
    xf(&v, false, IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, 128);
    xf(&v, false, IKE_TRANS_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0);
    xf(&v, true, IKE_TRANS_ESN, IKE_ESN_NO, 0);
    prop_end(&v, p);
    const struct ike_pld *pl = helper_msg_pld_ok(&msg, IKE_PLD_SA, false, v.b, v.n);
    assert_int_equal(pl->sa.n_proposals, 2);
    const uint8_t spi[4] = {0xa0, 0xa1, 0xa2, 0xa3};
    assert_memory_equal(pl->sa.proposals[0].spi, spi, 4);
    assert_int_equal(pl->sa.proposals[1].num, 2);
    assert_int_equal(pl->sa.proposals[1].n_transforms, 3);
    assert_int_equal(pl->sa.proposals[1].transforms[1].id, IKE_INTEG_HMAC_SHA2_256_128);
    ike_msg_clear(&msg);
}

static void test_response_keeps_chosen_number(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    struct ike_msg msg = {0};
    ike_prop(&v, true, 3);
    const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_SA, true, v.b, v.n);
    assert_int_equal(p->sa.proposals[0].num, 3);
    ike_msg_clear(&msg);
}

static void test_unknown_attribute_marks_transform(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    struct ike_msg msg = {0};
    size_t p = prop_begin(&v, true, 1, IKE_PROTO_IKE, 0, 5);
    /* unknown TV attribute 99 */
    xf_attrs(&v, false, IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, "800e0080 80630001");
    /* Key Length 0 */
    xf_attrs(&v, false, IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, "800e0000");
    /* Key Length twice */
    xf_attrs(&v, false, IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, "800e0080 800e0100");
    /* Key Length as TLV, and a TLV with 3 octets of value */
    xf_attrs(&v, false, IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, "000e0002 0100 00070003 aabbcc");
    xf(&v, true, IKE_TRANS_ENCR, IKE_ENCR_AES_GCM_16, 256);
    prop_end(&v, p);
    const struct ike_pld *pl = helper_msg_pld_ok(&msg, IKE_PLD_SA, false, v.b, v.n);
    const struct ike_transform *t = pl->sa.proposals[0].transforms;
    for (int i = 0; i < 4; i++) {
        assert_true(t[i].unacceptable);
        assert_true(t[i].raw_attrs.len > 0);
    }
    assert_int_equal(t[0].key_bits, 128); /* informative; raw_attrs is what we keep */
    assert_int_equal(t[3].raw_attrs.len, 13);
    assert_false(t[4].unacceptable);
    assert_int_equal(t[4].key_bits, 256);
    ike_msg_clear(&msg);
}

static void test_build_roundtrip(void **state)
{
    (void)state;
    struct ike_transform xfs[] = {
        {.type = IKE_TRANS_ENCR, .id = IKE_ENCR_AES_GCM_16, .key_bits = 256},
        {.type = IKE_TRANS_PRF, .id = IKE_PRF_HMAC_SHA2_512},
        {.type = IKE_TRANS_DH, .id = IKE_DH_CURVE25519},
        {.type = IKE_TRANS_DH, .id = IKE_DH_MODP_2048},
    };
    struct ike_proposal props[] = {
        {.num = 1, .protocol = IKE_PROTO_IKE, .n_transforms = 4, .transforms = xfs},
        {.num = 2, .protocol = IKE_PROTO_IKE, .spi_len = 8, .spi = {1, 2, 3, 4, 5, 6, 7, 8},
         .n_transforms = 1, .transforms = xfs},
    };
    struct ike_pld_sa sa = {2, props};
    struct ike_msg msg, dec;
    ike_msg_init(&msg, (const uint8_t *)"\1\2\3\4\5\6\7\10", NULL, IKE_EXCH_IKE_SA_INIT,
                 IKE_FLAG_INITIATOR, 0);
    assert_non_null(ike_msg_add_sa(&msg, &sa));
    xfs[0].key_bits = 128; /* the message holds its own copy */
    helper_msg_reencode(&msg, &dec);
    const struct ike_pld *p = ike_msg_find(&dec, IKE_PLD_SA);
    assert_non_null(p);
    assert_int_equal(p->sa.n_proposals, 2);
    assert_int_equal(p->sa.proposals[0].transforms[0].key_bits, 256);
    assert_int_equal(p->sa.proposals[0].transforms[2].id, IKE_DH_CURVE25519);
    assert_int_equal(p->sa.proposals[1].spi_len, 8);
    assert_memory_equal(p->sa.proposals[1].spi, props[1].spi, 8);
    ike_msg_clear(&dec);
    ike_msg_clear(&msg);
}

static void test_encode_rejects_bad_numbering(void **state)
{
    (void)state;
    struct ike_transform x = {.type = IKE_TRANS_ENCR, .id = IKE_ENCR_AES_CBC, .key_bits = 128};
    struct ike_proposal props[] = {
        {.num = 1, .protocol = IKE_PROTO_ESP, .spi_len = 4, .n_transforms = 1, .transforms = &x},
        {.num = 1, .protocol = IKE_PROTO_ESP, .spi_len = 4, .n_transforms = 1, .transforms = &x},
    };
    struct ike_pld_sa sa = {2, props};
    struct ike_msg msg;
    struct ike_diag diag = {0};
    uint8_t *out;
    size_t len;
    ike_msg_init(&msg, (const uint8_t *)"\1\2\3\4\5\6\7\10", NULL, IKE_EXCH_IKE_SA_INIT, 0, 0);
    ike_msg_add_sa(&msg, &sa);
    assert_int_equal(ike_msg_encode(&msg, &out, &len, &diag), IKE_E_MALFORMED);
    assert_non_null(strstr(diag.reason, "proposal 2 has number 1, expected 2"));
    ike_msg_clear(&msg);
}

static void test_malformed_proposal_lengths(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    ike_prop(&v, true, 1);
    helper_bytes_put16(&v, 2, 6);
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 1 length 6 < header 8");
    helper_bytes_put16(&v, 2, 200);
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 1 length 200 > 44 octets left");
    /* 3 octets: not even a substructure header */
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, 3, IKE_E_MALFORMED,
                        "SA proposal 1: 3 octets left < header 8");
}

static void test_malformed_last_substruc(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    ike_prop(&v, false, 1); /* says more follow, but it is the last */
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 1 Last Substruc 2, expected 0 (last)");
    v.n = 0;
    ike_prop(&v, true, 1);
    ike_prop(&v, true, 2);
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 1 Last Substruc 0, expected 2 (more follow)");
    v.n = 0;
    ike_prop(&v, true, 1);
    v.b[8 + 0] = 0; /* first transform claims to be the last */
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 1 transform 1 Last Substruc 0, expected 3");
}

static void test_malformed_transform_count(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    ike_prop(&v, true, 1);
    v.b[7] = 3; /* four transforms present */
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 1 transform 3 Last Substruc 3, expected 0");
    v.b[7] = 9;
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "9 transforms cannot fit in 36 octets");
    /* 5 announced, the 5th would start where the proposal ends */
    v.n = 0;
    size_t p = prop_begin(&v, true, 1, IKE_PROTO_IKE, 0, 5);
    for (int i = 0; i < 5; i++)
        xf(&v, i == 4, IKE_TRANS_DH, IKE_DH_ECP_256, 0);
    prop_end(&v, p);
    helper_bytes_put16(&v, 2, (uint16_t)(v.n - 8));
    v.n -= 8;
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "5 transforms cannot fit in 32 octets");
    /* transform length pointing past its proposal */
    v.n = 0;
    ike_prop(&v, true, 1);
    helper_bytes_put16(&v, 8 + 2, 100);
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 1 transform 1 length 100 > 36 octets left");
    helper_bytes_put16(&v, 8 + 2, 7);
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 1 transform 1 length 7 < header 8");
}

static void test_malformed_attributes(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    size_t p = prop_begin(&v, true, 1, IKE_PROTO_IKE, 0, 1);
    xf_attrs(&v, true, IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, "800e");
    prop_end(&v, p);
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "proposal 1 transform 1 attribute: 2 octets left < 4");
    v.n = 0;
    p = prop_begin(&v, true, 1, IKE_PROTO_IKE, 0, 1);
    xf_attrs(&v, true, IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, "00070010 aabb");
    prop_end(&v, p);
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "attribute type 7 length 16 > 2 octets left");
}

static void test_malformed_spi_and_protocol(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    size_t p = prop_begin(&v, true, 1, IKE_PROTO_ESP, 8, 1);
    xf(&v, true, IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, 128);
    prop_end(&v, p);
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 1 SPI size 8 invalid for ESP");
    v.n = 0;
    p = prop_begin(&v, true, 1, IKE_PROTO_IKE, 4, 1);
    xf(&v, true, IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, 128);
    prop_end(&v, p);
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 1 SPI size 4 invalid for IKE");
    v.n = 0;
    p = prop_begin(&v, true, 1, 9, 0, 1);
    xf(&v, true, IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, 128);
    prop_end(&v, p);
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 1 protocol 9 unknown");
    /* SPI size larger than what the proposal holds */
    v.n = 0;
    p = prop_begin(&v, true, 1, IKE_PROTO_IKE, 0, 0);
    helper_bytes_hex(&v, "01020304");
    prop_end(&v, p);
    v.b[6] = 8;
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 1 SPI truncated");
}

static void test_malformed_numbering(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    ike_prop(&v, true, 2);
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 1 has number 2, expected 1");
    v.n = 0;
    ike_prop(&v, false, 1);
    ike_prop(&v, true, 3);
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA proposal 2 has number 3, expected 2");
    v.n = 0;
    ike_prop(&v, false, 1);
    ike_prop(&v, true, 2);
    helper_msg_pld_fail(IKE_PLD_SA, true, v.b, v.n, IKE_E_MALFORMED,
                        "SA payload in a response has 2 proposals, not 1");
    v.n = 0;
    ike_prop(&v, true, 0);
    helper_msg_pld_fail(IKE_PLD_SA, true, v.b, v.n, IKE_E_MALFORMED, "SA proposal number 0");
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, 0, IKE_E_MALFORMED,
                        "SA payload without proposals");
}

static void test_proposal_cap(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    for (int i = 1; i <= 65; i++) {
        size_t p = prop_begin(&v, i == 65, (uint8_t)i, IKE_PROTO_IKE, 0, 1);
        xf(&v, true, IKE_TRANS_DH, IKE_DH_ECP_256, 0);
        prop_end(&v, p);
    }
    helper_msg_pld_fail(IKE_PLD_SA, false, v.b, v.n, IKE_E_MALFORMED,
                        "SA payload: more than 64 proposals");
    /* 64 is fine */
    struct ike_msg msg = {0};
    v.n = 0;
    for (int i = 1; i <= 64; i++) {
        size_t p = prop_begin(&v, i == 64, (uint8_t)i, IKE_PROTO_IKE, 0, 1);
        xf(&v, true, IKE_TRANS_DH, IKE_DH_ECP_256, 0);
        prop_end(&v, p);
    }
    const struct ike_pld *pl = helper_msg_pld_ok(&msg, IKE_PLD_SA, false, v.b, v.n);
    assert_int_equal(pl->sa.n_proposals, 64);
    ike_msg_clear(&msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_ike_proposal),
        cmocka_unit_test(test_decode_esp_proposals_with_spi),
        cmocka_unit_test(test_response_keeps_chosen_number),
        cmocka_unit_test(test_unknown_attribute_marks_transform),
        cmocka_unit_test(test_build_roundtrip),
        cmocka_unit_test(test_encode_rejects_bad_numbering),
        cmocka_unit_test(test_malformed_proposal_lengths),
        cmocka_unit_test(test_malformed_last_substruc),
        cmocka_unit_test(test_malformed_transform_count),
        cmocka_unit_test(test_malformed_attributes),
        cmocka_unit_test(test_malformed_spi_and_protocol),
        cmocka_unit_test(test_malformed_numbering),
        cmocka_unit_test(test_proposal_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
