/* Traffic selector narrowing (RFC 7296 §2.9) and the subset check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_pair.h"
#include "sa_internal.h"

static struct ike_ts v6(uint8_t last_start, uint8_t last_end, uint8_t proto, uint16_t p0,
                        uint16_t p1)
{
    struct ike_ts t = {
        .type = IKE_TS_IPV6_ADDR_RANGE, .ip_proto = proto, .start_port = p0, .end_port = p1};
    t.start_addr[0] = t.end_addr[0] = 0x20;
    t.start_addr[1] = t.end_addr[1] = 0x01;
    t.start_addr[15] = last_start;
    t.end_addr[15] = last_end;
    return t;
}

static void test_exact_and_narrowed(void **state)
{
    (void)state;
    struct ike_ts cfg = pair_ts16(10, 2), out[4];
    struct ike_ts offered = cfg;
    assert_int_equal(ike_ts_narrow(&offered, 1, &cfg, 1, out, 4), 1);
    assert_memory_equal(&out[0], &cfg, sizeof(cfg));
    /* 10.0.0.0-10.255.255.255 narrowed to the configured 10.2/16 */
    offered.start_addr[1] = 0;
    offered.end_addr[1] = 255;
    assert_int_equal(ike_ts_narrow(&offered, 1, &cfg, 1, out, 4), 1);
    assert_memory_equal(&out[0], &cfg, sizeof(cfg));
    char s[128];
    ike_ts_describe(out, 1, s, sizeof(s));
    assert_string_equal(s, "10.2.0.0-10.2.255.255/0/0-65535");
}

static void test_protocol_and_ports(void **state)
{
    (void)state;
    struct ike_ts cfg = pair_ts16(10, 2), offered = pair_ts16(10, 2), out[2];
    offered.ip_proto = 6;
    offered.start_port = 1000;
    offered.end_port = 2000;
    cfg.start_port = 1500;
    assert_int_equal(ike_ts_narrow(&offered, 1, &cfg, 1, out, 2), 1);
    assert_int_equal(out[0].ip_proto, 6);
    assert_int_equal(out[0].start_port, 1500);
    assert_int_equal(out[0].end_port, 2000);
    cfg.ip_proto = 17;
    assert_int_equal(ike_ts_narrow(&offered, 1, &cfg, 1, out, 2), 0);
    cfg.ip_proto = 0;
    cfg.start_port = 2001;
    assert_int_equal(ike_ts_narrow(&offered, 1, &cfg, 1, out, 2), 0);
}

static void test_disjoint_and_mixed_families(void **state)
{
    (void)state;
    struct ike_ts cfg[2] = {pair_ts16(10, 2), v6(0, 0xff, 0, 0, 65535)};
    struct ike_ts offered[2] = {pair_ts16(10, 3), v6(0x10, 0x20, 0, 0, 65535)}, out[4];
    assert_int_equal(ike_ts_narrow(offered, 1, cfg, 2, out, 4), 0);
    assert_int_equal(ike_ts_narrow(offered, 2, cfg, 2, out, 4), 1);
    assert_int_equal(out[0].type, IKE_TS_IPV6_ADDR_RANGE);
    assert_int_equal(out[0].start_addr[15], 0x10);
    assert_int_equal(out[0].end_addr[15], 0x20);
    /* unknown selector types never match */
    offered[1].type = 9;
    assert_int_equal(ike_ts_narrow(&offered[1], 1, cfg, 2, out, 4), 0);
}

static void test_cap_and_duplicates(void **state)
{
    (void)state;
    struct ike_ts cfg[2] = {pair_ts16(10, 2), pair_ts16(10, 2)};
    struct ike_ts offered = pair_ts16(10, 2), out[1];
    assert_int_equal(ike_ts_narrow(&offered, 1, cfg, 2, out, 1), 1); /* duplicate dropped */
    cfg[1] = pair_ts16(10, 3);
    offered.end_addr[1] = 3;
    assert_int_equal(ike_ts_narrow(&offered, 1, cfg, 2, out, 1), 1); /* capped */
}

static void test_subset(void **state)
{
    (void)state;
    struct ike_ts sup = pair_ts16(10, 1), sub = pair_ts16(10, 1);
    assert_true(ike_ts_subset(&sub, 1, &sup, 1));
    sub.end_addr[2] = 0;
    assert_true(ike_ts_subset(&sub, 1, &sup, 1));
    assert_false(ike_ts_subset(&sup, 1, &sub, 1));
    sub = pair_ts16(10, 1);
    sub.ip_proto = 6;
    assert_true(ike_ts_subset(&sub, 1, &sup, 1));
    assert_false(ike_ts_subset(&sup, 1, &sub, 1)); /* any protocol is wider than TCP */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_and_narrowed),
        cmocka_unit_test(test_protocol_and_ports),
        cmocka_unit_test(test_disjoint_and_mixed_families),
        cmocka_unit_test(test_cap_and_duplicates),
        cmocka_unit_test(test_subset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
