/* Configuration payload (RFC 7296 §3.15). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_msg.h"

static const uint8_t SPI_I[8] = {1, 2, 3, 4, 5, 6, 7, 8};

static void test_decode_request_and_reply(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    struct ike_msg msg = {0};
    /* CFG_REQUEST: empty IP4 address, DNS and IP6 address */
    helper_bytes_hex(&v, "01 000000 0001 0000 0003 0000 0008 0000");
    const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_CP, false, v.b, v.n);
    assert_int_equal(p->cp.cfg_type, IKE_CFG_REQUEST);
    assert_int_equal(p->cp.n_attrs, 3);
    assert_int_equal(p->cp.attrs[2].type, IKE_CFG_INTERNAL_IP6_ADDRESS);
    assert_int_equal(p->cp.attrs[2].value.len, 0);
    ike_msg_clear(&msg);
    v.n = 0;
    helper_bytes_hex(&v, "02 000000 0001 0004 0a000001 000d 0008 c0000200 ffffff00"
                         " 000f 0011 20010db8000000000000000000000000 40");
    p = helper_msg_pld_ok(&msg, IKE_PLD_CP, true, v.b, v.n);
    assert_int_equal(p->cp.cfg_type, IKE_CFG_REPLY);
    assert_int_equal(p->cp.n_attrs, 3);
    assert_int_equal(p->cp.attrs[0].type, IKE_CFG_INTERNAL_IP4_ADDRESS);
    assert_memory_equal(p->cp.attrs[0].value.ptr, "\x0a\x00\x00\x01", 4);
    assert_int_equal(p->cp.attrs[1].type, IKE_CFG_INTERNAL_IP4_SUBNET);
    assert_int_equal(p->cp.attrs[2].value.len, 17);
    ike_msg_clear(&msg);
}

static void test_reserved_bit_ignored(void **state)
{
    (void)state;
    uint8_t b[32];
    struct ike_msg msg = {0};
    struct ike_diag diag = {0};
    uint8_t frame[128];
    uint8_t pld[64];
    size_t n = helper_msg_hex("01 000000 8007 0003 616263", b, sizeof(b));
    size_t pl = helper_msg_pld(pld, 0, 0, b, n);
    size_t fl = helper_msg_frame(frame, sizeof(frame), IKE_EXCH_IKE_SA_INIT, 0, false,
                                 IKE_PLD_CP, pld, pl);
    assert_int_equal(ike_msg_decode(&msg, frame, fl, &diag), IKE_OK);
    /* RFC 7296 §3.15.1: the R bit "MUST be ignored on receipt" */
    assert_int_equal(msg.first->cp.attrs[0].type, IKE_CFG_APPLICATION_VERSION);
    ike_msg_clear(&msg);
}

static void test_malformed(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = helper_msg_hex("01 000000 0001 0003 0a0000", b, sizeof(b));
    helper_msg_pld_fail(IKE_PLD_CP, false, b, n, IKE_E_MALFORMED,
                        "CP attribute 1 type 1 length 3 not 0 or 4");
    n = helper_msg_hex("01 000000 0008 0010 20010db8000000000000000000000000", b, sizeof(b));
    helper_msg_pld_fail(IKE_PLD_CP, false, b, n, IKE_E_MALFORMED,
                        "CP attribute 1 type 8 length 16 not 0 or 17");
    n = helper_msg_hex("01 000000 000e 0003 000100", b, sizeof(b));
    helper_msg_pld_fail(IKE_PLD_CP, false, b, n, IKE_E_MALFORMED,
                        "CP attribute 1 SUPPORTED_ATTRIBUTES length 3 is odd");
    n = helper_msg_hex("01 000000 0001 0000 0007 0009 6162", b, sizeof(b));
    helper_msg_pld_fail(IKE_PLD_CP, false, b, n, IKE_E_MALFORMED,
                        "CP attribute 2 length 9 > 2 octets left");
    n = helper_msg_hex("01 000000 0001 0000 00", b, sizeof(b));
    helper_msg_pld_fail(IKE_PLD_CP, false, b, n, IKE_E_MALFORMED,
                        "CP attribute 2: 1 octets left < header 4");
    helper_msg_pld_fail(IKE_PLD_CP, false, b, 2, IKE_E_MALFORMED,
                        "CP payload body 2 < fixed part 4");
}

static void test_attribute_cap(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    struct ike_msg msg = {0};
    helper_bytes_hex(&v, "01 000000");
    for (int i = 0; i < 256; i++)
        helper_bytes_hex(&v, "0003 0000");
    const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_CP, false, v.b, v.n);
    assert_int_equal(p->cp.n_attrs, 256);
    ike_msg_clear(&msg);
    helper_bytes_hex(&v, "0003 0000");
    helper_msg_pld_fail(IKE_PLD_CP, false, v.b, v.n, IKE_E_MALFORMED,
                        "CP payload: more than 256 attributes");
}

static void test_build_roundtrip(void **state)
{
    (void)state;
    const uint8_t ip[4] = {10, 0, 0, 7};
    struct ike_cp_attr attrs[] = {
        {IKE_CFG_INTERNAL_IP4_ADDRESS, {ip, 4}},
        {IKE_CFG_INTERNAL_IP4_DNS, {NULL, 0}},
        {IKE_CFG_APPLICATION_VERSION, {(const uint8_t *)"haiked 0.1", 10}},
    };
    struct ike_msg msg, dec;
    ike_msg_init(&msg, SPI_I, NULL, IKE_EXCH_IKE_SA_INIT, 0, 0);
    ike_msg_add_cp(&msg, IKE_CFG_REQUEST, attrs, 3);
    helper_msg_reencode(&msg, &dec);
    const struct ike_pld *p = ike_msg_find(&dec, IKE_PLD_CP);
    assert_int_equal(p->cp.cfg_type, IKE_CFG_REQUEST);
    assert_int_equal(p->cp.n_attrs, 3);
    assert_memory_equal(p->cp.attrs[0].value.ptr, ip, 4);
    assert_int_equal(p->cp.attrs[1].value.len, 0);
    assert_memory_equal(p->cp.attrs[2].value.ptr, "haiked 0.1", 10);
    ike_msg_clear(&dec);
    ike_msg_clear(&msg);

    struct ike_cp_attr bad = {0x8001, {NULL, 0}};
    struct ike_diag diag = {0};
    uint8_t *out;
    size_t len;
    ike_msg_init(&msg, SPI_I, NULL, IKE_EXCH_IKE_SA_INIT, 0, 0);
    ike_msg_add_cp(&msg, IKE_CFG_REQUEST, &bad, 1);
    assert_int_equal(ike_msg_encode(&msg, &out, &len, &diag), IKE_E_INVALID_ARG);
    assert_non_null(strstr(diag.reason, "CP attribute 1 type 32769 > 15 bits"));
    ike_msg_clear(&msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_request_and_reply),
        cmocka_unit_test(test_reserved_bit_ignored),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_attribute_cap),
        cmocka_unit_test(test_build_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
