/* Delete payload (RFC 7296 §3.11). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_msg.h"

static const uint8_t SPI_I[8] = {1, 2, 3, 4, 5, 6, 7, 8};

static void test_decode_ike_delete(void **state)
{
    (void)state;
    uint8_t b[8];
    struct ike_msg msg = {0};
    size_t n = helper_msg_hex("01 00 0000", b, sizeof(b));
    const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_DELETE, false, b, n);
    assert_int_equal(p->del.protocol, IKE_PROTO_IKE);
    assert_int_equal(p->del.n_spis, 0);
    ike_msg_clear(&msg);
}

static void test_decode_esp_delete(void **state)
{
    (void)state;
    uint8_t b[32];
    struct ike_msg msg = {0};
    size_t n = helper_msg_hex("03 04 0003 c1000001 c1000002 c1000003", b, sizeof(b));
    const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_DELETE, false, b, n);
    assert_int_equal(p->del.protocol, IKE_PROTO_ESP);
    assert_int_equal(p->del.n_spis, 3);
    assert_int_equal(p->del.spis[0], 0xc1000001);
    assert_int_equal(p->del.spis[2], 0xc1000003);
    ike_msg_clear(&msg);
}

static void test_malformed(void **state)
{
    (void)state;
    uint8_t b[32];
    size_t n = helper_msg_hex("01 08 0001 0102030405060708", b, sizeof(b));
    helper_msg_pld_fail(IKE_PLD_DELETE, false, b, n, IKE_E_MALFORMED,
                        "D(IKE) must have SPI size 0 and no SPIs, has size 8 count 1");
    n = helper_msg_hex("01 00 0000 00", b, sizeof(b));
    helper_msg_pld_fail(IKE_PLD_DELETE, false, b, n, IKE_E_MALFORMED,
                        "D payload: 0 SPIs of 0 octets != 1 octets left");
    n = helper_msg_hex("03 08 0001 0102030405060708", b, sizeof(b));
    helper_msg_pld_fail(IKE_PLD_DELETE, false, b, n, IKE_E_MALFORMED, "D(ESP) SPI size 8 != 4");
    n = helper_msg_hex("02 04 0000", b, sizeof(b));
    helper_msg_pld_fail(IKE_PLD_DELETE, false, b, n, IKE_E_MALFORMED, "D(AH) without SPIs");
    n = helper_msg_hex("03 04 0002 c1000001 c100", b, sizeof(b));
    helper_msg_pld_fail(IKE_PLD_DELETE, false, b, n, IKE_E_MALFORMED,
                        "D payload: 2 SPIs of 4 octets != 6 octets left");
    n = helper_msg_hex("03 04 ffff c1000001", b, sizeof(b));
    helper_msg_pld_fail(IKE_PLD_DELETE, false, b, n, IKE_E_MALFORMED,
                        "D payload: 65535 SPIs of 4 octets != 4 octets left");
    n = helper_msg_hex("07 04 0001 c1000001", b, sizeof(b));
    helper_msg_pld_fail(IKE_PLD_DELETE, false, b, n, IKE_E_MALFORMED,
                        "D payload protocol 7 unknown");
    helper_msg_pld_fail(IKE_PLD_DELETE, false, b, 3, IKE_E_MALFORMED,
                        "D payload body 3 < fixed part 4");
}

static void test_build_roundtrip(void **state)
{
    (void)state;
    uint32_t spis[2] = {0x11111111, 0x22222222};
    struct ike_msg msg, dec;
    ike_msg_init(&msg, SPI_I, SPI_I, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_INITIATOR, 0);
    ike_msg_add_delete(&msg, IKE_PROTO_ESP, spis, 2);
    ike_msg_add_delete(&msg, IKE_PROTO_IKE, NULL, 0);
    spis[0] = 0;
    helper_msg_reencode(&msg, &dec);
    const struct ike_pld *p = ike_msg_find(&dec, IKE_PLD_DELETE);
    assert_int_equal(p->del.n_spis, 2);
    assert_int_equal(p->del.spis[0], 0x11111111);
    p = ike_msg_find_next(p, IKE_PLD_DELETE);
    assert_int_equal(p->del.protocol, IKE_PROTO_IKE);
    assert_int_equal(p->del.n_spis, 0);
    ike_msg_clear(&dec);
    ike_msg_clear(&msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_ike_delete),
        cmocka_unit_test(test_decode_esp_delete),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_build_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
