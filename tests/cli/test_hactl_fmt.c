/*
 * hactl's output pieces without a daemon: JSON string escaping (quotes,
 * control characters, invalid UTF-8 from a peer-supplied ID), the generic
 * JSON writer over a protobuf-c message, selector and duration formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hactl.h"

static char *json_str(const char *s)
{
    static char buf[512];
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    hactl_json_string(f, s);
    fclose(f);
    return buf;
}

static void test_json_escaping(void **state)
{
    assert_string_equal(json_str("plain"), "\"plain\"");
    assert_string_equal(json_str("a\"b\\c"), "\"a\\\"b\\\\c\"");
    assert_string_equal(json_str("l1\nl2\t\x01\x1b\x7f"), "\"l1\\nl2\\t\\u0001\\u001b\\u007f\"");
    assert_string_equal(json_str("caf\xc3\xa9"), "\"caf\xc3\xa9\"");     /* valid UTF-8 kept */
    assert_string_equal(json_str("x\xff\xc3("), "\"x\\ufffd\\ufffd(\""); /* invalid replaced */
    assert_string_equal(json_str("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    assert_string_equal(json_str("\xc0\xaf"), "\"\\ufffd\\ufffd\"");            /* overlong */
    assert_string_equal(json_str(NULL), "\"\"");
}

static void test_json_message(void **state)
{
    char buf[2048];
    Ctl__Gateway g = CTL__GATEWAY__INIT;
    Ctl__IkeSa sa = CTL__IKE_SA__INIT;
    Ctl__IkeSa *sas[] = {&sa};
    uint8_t spi[8] = {0xe8, 0x70, 0x27, 0x7e, 0x22, 0x68, 0x31, 0x8c};
    g.name = "hq";
    g.has_ike_version = true;
    g.ike_version = 2;
    g.n_ike_sas = 1;
    g.ike_sas = sas;
    sa.has_spi_i = true;
    sa.spi_i.data = spi;
    sa.spi_i.len = sizeof(spi);
    sa.has_initiator = true;
    sa.initiator = false;
    sa.has_age = true;
    sa.age = 18446744073709551615ull;
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    hactl_json_message(f, &g.base);
    fclose(f);
    assert_string_equal(buf, "{\"name\":\"hq\",\"ike_version\":2,\"ike_sas\":[{\"spi_i\":"
                             "\"e870277e2268318c\",\"initiator\":false,\"age\":"
                             "18446744073709551615}],\"child_sas\":[],\"phase2s\":[]}\n");

    Ctl__Response resp = CTL__RESPONSE__INIT;
    Ctl__Error err = CTL__ERROR__INIT;
    err.has_code = true;
    err.code = CTL__ERROR_CODE__ERR_NOT_FOUND;
    err.message = "no \"x\"";
    resp.error = &err;
    f = fmemopen(buf, sizeof(buf), "w");
    hactl_json_message(f, &resp.base);
    fclose(f);
    assert_string_equal(buf,
                        "{\"error\":{\"code\":\"ERR_NOT_FOUND\",\"message\":\"no \\\"x\\\"\"}}\n");
}

static void test_selector_and_duration(void **state)
{
    char buf[160];
    Ctl__Selector s = CTL__SELECTOR__INIT;
    s.start_addr = "192.0.2.0";
    s.end_addr = "192.0.2.127";
    s.end_port = 65535;
    assert_string_equal(hactl_selector(&s, buf, sizeof(buf)), "0:192.0.2.0/25:0");
    s.end_addr = "192.0.2.100";
    s.ip_proto = 17;
    s.start_port = s.end_port = 53;
    assert_string_equal(hactl_selector(&s, buf, sizeof(buf)), "17:192.0.2.0-192.0.2.100:53");
    s.start_addr = "2001:db8::";
    s.end_addr = "2001:db8::ffff:ffff";
    s.start_port = 1000;
    s.end_port = 2000;
    assert_string_equal(hactl_selector(&s, buf, sizeof(buf)), "17:2001:db8::/96:1000-2000");
    s.start_addr = "0.0.0.0";
    s.end_addr = "255.255.255.255";
    assert_string_equal(hactl_selector(&s, buf, sizeof(buf)), "17:0.0.0.0/0:1000-2000");
    assert_string_equal(hactl_duration(59, buf, sizeof(buf)), "59s");
    assert_string_equal(hactl_duration(3723, buf, sizeof(buf)), "1h02m03s");
    assert_string_equal(hactl_duration(90061, buf, sizeof(buf)), "1d01h01m");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_message),
        cmocka_unit_test(test_selector_and_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
