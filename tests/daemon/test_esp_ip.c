/*
 * The userspace data plane's inner-packet checks (daemon/esp/esp_ip.c,
 * esp_tun.c): IPv4/IPv6 parsing, traffic selector matching in both
 * directions (addresses, protocol, ports), and range -> prefix splitting
 * for routes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <ike/const.h>

#include "esp/esp_ip.h"
#include "esp/esp_tun.h"

static struct ike_ts_export ts4(uint8_t a, uint8_t b, uint8_t c, uint8_t d1, uint8_t d2,
                                uint8_t proto, uint16_t p1, uint16_t p2)
{
    struct ike_ts_export t = {.type = IKE_TS_IPV4_ADDR_RANGE, .ip_proto = proto,
                              .start_port = p1, .end_port = p2};
    t.start_addr[0] = t.end_addr[0] = a;
    t.start_addr[1] = t.end_addr[1] = b;
    t.start_addr[2] = t.end_addr[2] = c;
    t.start_addr[3] = d1;
    t.end_addr[3] = d2;
    return t;
}

/* IPv4 header (+ 4 octets of ports) from src to dst. */
static size_t v4(uint8_t *p, const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
                 uint16_t sport, uint16_t dport)
{
    memset(p, 0, 28);
    p[0] = 0x45;
    p[3] = 28;
    p[8] = 64;
    p[9] = proto;
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    p[20] = (uint8_t)(sport >> 8);
    p[21] = (uint8_t)sport;
    p[22] = (uint8_t)(dport >> 8);
    p[23] = (uint8_t)dport;
    return 28;
}

static void test_parse(void **state)
{
    (void)state;
    uint8_t p[64];
    struct esp_ip_info ip;
    const uint8_t a[4] = {192, 0, 2, 1}, b[4] = {192, 0, 2, 129};
    size_t n = v4(p, a, b, 17, 5000, 53);
    assert_int_equal(esp_ip_parse(p, n, &ip), 0);
    assert_int_equal(ip.version, 4);
    assert_int_equal(ip.proto, 17);
    assert_int_equal(ip.sport, 5000);
    assert_int_equal(ip.dport, 53);
    assert_memory_equal(ip.src, a, 4);
    assert_memory_equal(ip.dst, b, 4);
    /* length field disagrees with the packet, header too short, bad version */
    assert_int_equal(esp_ip_parse(p, n - 1, &ip), -1);
    p[0] = 0x44;
    assert_int_equal(esp_ip_parse(p, n, &ip), -1);
    p[0] = 0x75;
    assert_int_equal(esp_ip_parse(p, n, &ip), -1);
    assert_int_equal(esp_ip_parse(p, 0, &ip), -1);
    /* a later fragment has no ports */
    n = v4(p, a, b, 6, 1, 2);
    p[7] = 10;
    assert_int_equal(esp_ip_parse(p, n, &ip), 0);
    assert_int_equal(ip.sport, 0);
    /* ICMP: no ports */
    n = v4(p, a, b, 1, 0x0800, 0);
    assert_int_equal(esp_ip_parse(p, n, &ip), 0);
    assert_int_equal(ip.sport, 0);
    /* IPv6 */
    uint8_t q[48] = {0x60};
    q[5] = 8;
    q[6] = 17;
    q[8] = 0x20;
    q[9] = 0x01;
    q[40] = 0x12;
    q[41] = 0x34;
    assert_int_equal(esp_ip_parse(q, 48, &ip), 0);
    assert_int_equal(ip.version, 6);
    assert_int_equal(ip.sport, 0x1234);
    assert_int_equal(esp_ip_parse(q, 47, &ip), -1);
}

static void test_selectors(void **state)
{
    (void)state;
    struct ike_ts_export local = ts4(192, 0, 2, 0, 127, 0, 0, 0xffff);
    struct ike_ts_export remote = ts4(192, 0, 2, 128, 255, 0, 0, 0xffff);
    const uint8_t in_l[4] = {192, 0, 2, 1}, in_r[4] = {192, 0, 2, 129};
    const uint8_t out[4] = {203, 0, 113, 1};
    uint8_t p[64];
    struct esp_ip_info ip;
    assert_int_equal(esp_ip_parse(p, v4(p, in_l, in_r, 1, 0, 0), &ip), 0);
    assert_true(esp_ip_in_selectors(&ip, true, &local, 1, &remote, 1));
    assert_false(esp_ip_in_selectors(&ip, false, &local, 1, &remote, 1));
    /* inbound: from the remote LAN to ours */
    assert_int_equal(esp_ip_parse(p, v4(p, in_r, in_l, 1, 0, 0), &ip), 0);
    assert_true(esp_ip_in_selectors(&ip, false, &local, 1, &remote, 1));
    /* a source outside (e.g. the WAN address) is not in the SA */
    assert_int_equal(esp_ip_parse(p, v4(p, in_r, out, 1, 0, 0), &ip), 0);
    assert_false(esp_ip_in_selectors(&ip, false, &local, 1, &remote, 1));
    /* range edges */
    const uint8_t edge[4] = {192, 0, 2, 127}, past[4] = {192, 0, 2, 128};
    assert_true(esp_ts_match(&local, 4, edge, 6, 80));
    assert_false(esp_ts_match(&local, 4, past, 6, 80));
    assert_false(esp_ts_match(&local, 6, edge, 6, 80)); /* family */
    /* protocol and port restrictions */
    struct ike_ts_export web = ts4(192, 0, 2, 128, 255, 6, 443, 443);
    assert_int_equal(esp_ip_parse(p, v4(p, in_l, in_r, 6, 40000, 443), &ip), 0);
    assert_true(esp_ip_in_selectors(&ip, true, &local, 1, &web, 1));
    assert_int_equal(esp_ip_parse(p, v4(p, in_l, in_r, 6, 40000, 80), &ip), 0);
    assert_false(esp_ip_in_selectors(&ip, true, &local, 1, &web, 1));
    assert_int_equal(esp_ip_parse(p, v4(p, in_l, in_r, 17, 40000, 443), &ip), 0);
    assert_false(esp_ip_in_selectors(&ip, true, &local, 1, &web, 1));
    /* several remote TSs: any one will do */
    struct ike_ts_export two[2] = {ts4(10, 0, 0, 0, 255, 0, 0, 0xffff), remote};
    assert_int_equal(esp_ip_parse(p, v4(p, in_l, in_r, 1, 0, 0), &ip), 0);
    assert_true(esp_ip_in_selectors(&ip, true, &local, 1, two, 2));
    assert_false(esp_ip_in_selectors(&ip, true, &local, 1, two, 1));
}

struct pfx {
    uint32_t net[40];
    unsigned len[40];
    size_t n;
};

static void collect(void *arg, uint32_t net, unsigned plen)
{
    struct pfx *x = arg;
    assert_true(x->n < 40);
    x->net[x->n] = net;
    x->len[x->n++] = plen;
}

static void test_prefixes(void **state)
{
    (void)state;
    struct pfx x = {0};
    esp_range_prefixes(0xc0000280u, 0xc00002ffu, collect, &x); /* 192.0.2.128/25 */
    assert_int_equal(x.n, 1);
    assert_int_equal(x.net[0], 0xc0000280u);
    assert_int_equal(x.len[0], 25);
    memset(&x, 0, sizeof(x));
    esp_range_prefixes(0xc0000201u, 0xc0000206u, collect, &x); /* .1-.6: /32 /31 /31 /32 */
    assert_int_equal(x.n, 4);
    assert_int_equal(x.len[0], 32);
    assert_int_equal(x.net[1], 0xc0000202u);
    assert_int_equal(x.len[1], 31);
    assert_int_equal(x.len[2], 31);
    assert_int_equal(x.net[3], 0xc0000206u);
    memset(&x, 0, sizeof(x));
    esp_range_prefixes(0, 0xffffffffu, collect, &x); /* everything: one /0 */
    assert_int_equal(x.n, 1);
    assert_int_equal(x.len[0], 0);
    char name[IFNAMSIZ];
    esp_tun_name("a-very-long-gateway-name", name);
    assert_string_equal(name, "hk-a-very-long-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_selectors),
        cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
