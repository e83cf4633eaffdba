/* Traffic Selector payloads (RFC 7296 §3.13). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_msg.h"

static const uint8_t SPI_I[8] = {1, 2, 3, 4, 5, 6, 7, 8};

/* 192.0.2.0-192.0.2.127 any protocol, and TCP port 443 to 2001:db8::/64 */
static const char *TS_HEX = "02 000000"
                            "07 00 0010 0000 ffff c0000200 c000027f"
                            "08 06 0028 01bb 01bb"
                            " 20010db8000000000000000000000000"
                            " 20010db800000000ffffffffffffffff";

static void test_decode_v4_v6(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    struct ike_msg msg = {0};
    helper_bytes_hex(&v, TS_HEX);
    const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_TSI, false, v.b, v.n);
    assert_int_equal(p->ts.n_ts, 2);
    const struct ike_ts *t = p->ts.ts;
    assert_int_equal(t[0].type, IKE_TS_IPV4_ADDR_RANGE);
    assert_int_equal(t[0].ip_proto, 0);
    assert_int_equal(t[0].start_port, 0);
    assert_int_equal(t[0].end_port, 65535);
    assert_memory_equal(t[0].start_addr, "\xc0\x00\x02\x00", 4);
    assert_memory_equal(t[0].end_addr, "\xc0\x00\x02\x7f", 4);
    assert_int_equal(t[1].type, IKE_TS_IPV6_ADDR_RANGE);
    assert_int_equal(t[1].ip_proto, 6);
    assert_int_equal(t[1].start_port, 443);
    assert_int_equal(t[1].end_addr[15], 0xff);
    ike_msg_clear(&msg);
}

static void test_unknown_selector_type_kept(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    struct ike_msg msg = {0};
    helper_bytes_hex(&v, "02 000000 10 00 0009 0102030405 07 00 0010 0000 ffff 0a000000 0affffff");
    const struct ike_pld *p = helper_msg_pld_ok(&msg, IKE_PLD_TSR, false, v.b, v.n);
    assert_int_equal(p->ts.ts[0].type, 16);
    assert_int_equal(p->ts.ts[0].opaque.len, 5);
    assert_int_equal(p->ts.ts[1].type, IKE_TS_IPV4_ADDR_RANGE);
    ike_msg_clear(&msg);
}

static void test_malformed(void **state)
{
    (void)state;
    struct helper_bytes v = {0};
    helper_bytes_hex(&v, TS_HEX);
    helper_msg_pld_fail(IKE_PLD_TSI, false, v.b, 3, IKE_E_MALFORMED,
                        "TSi payload body 3 < fixed part 4");
    /* IPv4 selector length 20 */
    helper_bytes_put16(&v, 6, 20);
    helper_msg_pld_fail(IKE_PLD_TSI, false, v.b, v.n, IKE_E_MALFORMED,
                        "TSi selector 1 type 7 length 20 != 16");
    helper_bytes_put16(&v, 6, 12);
    helper_msg_pld_fail(IKE_PLD_TSI, false, v.b, v.n, IKE_E_MALFORMED,
                        "TSi selector 1 type 7 length 12 != 16");
    helper_bytes_put16(&v, 6, 16);
    /* IPv6 selector length 36 */
    helper_bytes_put16(&v, 4 + 16 + 2, 36);
    helper_msg_pld_fail(IKE_PLD_TSI, false, v.b, v.n, IKE_E_MALFORMED,
                        "TSi selector 2 type 8 length 36 != 40");
    helper_bytes_put16(&v, 4 + 16 + 2, 41);
    helper_msg_pld_fail(IKE_PLD_TSI, false, v.b, v.n, IKE_E_MALFORMED,
                        "TSi selector 2 length 41 outside [4, 40]");
    helper_bytes_put16(&v, 4 + 16 + 2, 3);
    helper_msg_pld_fail(IKE_PLD_TSI, false, v.b, v.n, IKE_E_MALFORMED,
                        "TSi selector 2 length 3 outside [4, 40]");
    helper_bytes_put16(&v, 4 + 16 + 2, 40);
    /* count mismatch both ways */
    v.b[0] = 3;
    helper_msg_pld_fail(IKE_PLD_TSI, false, v.b, v.n, IKE_E_MALFORMED,
                        "TSi selector 3: 0 octets left < header 4");
    v.b[0] = 1;
    helper_msg_pld_fail(IKE_PLD_TSI, false, v.b, v.n, IKE_E_MALFORMED,
                        "TSi payload: 40 octets left after 1 selectors");
    v.b[0] = 0;
    helper_msg_pld_fail(IKE_PLD_TSR, false, v.b, v.n, IKE_E_MALFORMED,
                        "TSr payload with 0 selectors");
    v.b[0] = 200;
    helper_msg_pld_fail(IKE_PLD_TSR, false, v.b, v.n, IKE_E_MALFORMED,
                        "TSr payload: 200 selectors > max 128");
}

static void test_build_roundtrip(void **state)
{
    (void)state;
    struct ike_ts ts[2] = {
        {.type = IKE_TS_IPV4_ADDR_RANGE, .ip_proto = 17, .start_port = 500, .end_port = 500,
         .start_addr = {203, 0, 113, 1}, .end_addr = {203, 0, 113, 1}},
        {.type = IKE_TS_IPV6_ADDR_RANGE, .end_port = 65535,
         .end_addr = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0xff, 0xff, 0xff, 0xff}},
    };
    struct ike_msg msg, dec;
    ike_msg_init(&msg, SPI_I, NULL, IKE_EXCH_IKE_SA_INIT, 0, 0);
    ike_msg_add_ts(&msg, IKE_PLD_TSI, ts, 2);
    ike_msg_add_ts(&msg, IKE_PLD_TSR, ts, 1);
    helper_msg_reencode(&msg, &dec);
    const struct ike_pld *p = ike_msg_find(&dec, IKE_PLD_TSI);
    assert_int_equal(p->ts.n_ts, 2);
    assert_memory_equal(&p->ts.ts[0], &ts[0], offsetof(struct ike_ts, opaque));
    assert_memory_equal(&p->ts.ts[1], &ts[1], offsetof(struct ike_ts, opaque));
    assert_int_equal(ike_msg_find(&dec, IKE_PLD_TSR)->ts.n_ts, 1);
    ike_msg_clear(&dec);
    ike_msg_clear(&msg);

    struct ike_diag diag = {0};
    uint8_t *out;
    size_t len;
    ike_msg_init(&msg, SPI_I, NULL, IKE_EXCH_IKE_SA_INIT, 0, 0);
    ike_msg_add_ts(&msg, IKE_PLD_TSI, ts, 0);
    assert_int_equal(ike_msg_encode(&msg, &out, &len, &diag), IKE_E_INVALID_ARG);
    assert_non_null(strstr(diag.reason, "TSi payload: 0 selectors not in 1..128"));
    ike_msg_clear(&msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_v4_v6),
        cmocka_unit_test(test_unknown_selector_type_kept),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_build_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
