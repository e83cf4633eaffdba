/* struct ike_addr helpers used in every SA log line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_pair.h"

static void test_str(void **state)
{
    (void)state;
    char s[IKE_ADDR_STR_MAX];
    struct ike_addr a = pair_addr4(192, 0, 2, 1, 4500);
    assert_string_equal(ike_addr_str(&a, s, sizeof(s)), "192.0.2.1:4500");
    struct ike_addr v6 = {.family = IKE_AF_INET6, .port = 500};
    v6.addr[0] = 0x20;
    v6.addr[1] = 0x01;
    v6.addr[2] = 0x0d;
    v6.addr[3] = 0xb8;
    v6.addr[15] = 1;
    assert_string_equal(ike_addr_str(&v6, s, sizeof(s)), "[2001:db8::1]:500");
    v6.addr[5] = 7; /* 2001:db8:7::1: the longest zero run wins */
    assert_string_equal(ike_addr_str(&v6, s, sizeof(s)), "[2001:db8:7::1]:500");
    memset(v6.addr, 0, 16);
    assert_string_equal(ike_addr_str(&v6, s, sizeof(s)), "[::]:500");
    v6.addr[0] = 0xfe;
    v6.addr[1] = 0x80;
    v6.addr[6] = 0x00;
    v6.addr[9] = 0x02; /* two runs of three zero groups: the first is shortened */
    assert_string_equal(ike_addr_str(&v6, s, sizeof(s)), "[fe80::2:0:0:0]:500");
    struct ike_addr bad = {.family = 9};
    assert_string_equal(ike_addr_str(&bad, s, sizeof(s)), "(family 9)");
    char tiny[6];
    assert_string_equal(ike_addr_str(&a, tiny, sizeof(tiny)), "192.0"); /* truncated, terminated */
}

static void test_equal(void **state)
{
    (void)state;
    struct ike_addr a = pair_addr4(10, 0, 0, 1, 500), b = a;
    b.addr[8] = 0xff; /* beyond the IPv4 octets: ignored */
    assert_true(ike_addr_equal(&a, &b));
    b.port = 4500;
    assert_false(ike_addr_equal(&a, &b));
    b = a;
    b.addr[3] = 2;
    assert_false(ike_addr_equal(&a, &b));
    b = a;
    b.family = IKE_AF_INET6;
    assert_false(ike_addr_equal(&a, &b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
