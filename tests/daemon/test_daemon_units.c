/*
 * The daemon's pure pieces: RFC 3948 datagram classification on 500/4500,
 * address helpers, the log's format and its gateway/peer/level filters,
 * log-text helpers, half-open accounting, the record data plane.
 */
#include "dtest_util.h"

#include <ike/const.h>

#include "ike_names.h"

static void test_classify(void **state)
{
    (void)state;
    size_t off = 99;
    const uint8_t ike4500[32] = {0, 0, 0, 0, 1};
    const uint8_t esp[8] = {0, 0, 0, 1, 0, 0, 0, 1};
    const uint8_t ka = 0xff, zero1 = 0;
    assert_int_equal(net_classify(500, ike4500, 32, &off), NET_CLASS_IKE);
    assert_int_equal(off, 0);
    assert_int_equal(net_classify(500, &ka, 1, &off), NET_CLASS_IKE); /* judged by the decoder */
    assert_int_equal(net_classify(4500, ike4500, 32, &off), NET_CLASS_IKE);
    assert_int_equal(off, 4);
    assert_int_equal(net_classify(4500, esp, 8, &off), NET_CLASS_ESP);
    assert_int_equal(off, 0);
    assert_int_equal(net_classify(4500, esp, 7, &off), NET_CLASS_TRUNCATED);
    assert_int_equal(net_classify(4500, &ka, 1, &off), NET_CLASS_KEEPALIVE);
    assert_int_equal(net_classify(4500, &zero1, 1, &off), NET_CLASS_TRUNCATED);
    assert_int_equal(net_classify(4500, ike4500, 3, &off), NET_CLASS_TRUNCATED);
    /* marker only: IKE of length 0, which the header check then drops */
    assert_int_equal(net_classify(4500, ike4500, 4, &off), NET_CLASS_IKE);
}

static void test_addr(void **state)
{
    (void)state;
    struct ike_addr a, b;
    assert_int_equal(net_addr_parse("203.0.113.1", &a), 0);
    assert_int_equal(a.family, IKE_AF_INET);
    assert_int_equal(net_addr_parse("2001:db8::1", &b), 0);
    assert_int_equal(b.family, IKE_AF_INET6);
    assert_int_equal(net_addr_parse("nonsense", &b), -1);
    assert_false(net_addr_is_any(&a));
    struct ike_addr any;
    assert_int_equal(net_addr_parse("0.0.0.0", &any), 0);
    assert_true(net_addr_is_any(&any));
    b = a;
    b.port = 4500;
    assert_true(net_addr_same_host(&a, &b));
    b.addr[3] = 2;
    assert_false(net_addr_same_host(&a, &b));
    struct sockaddr_storage ss;
    a.port = 4500;
    net_addr_to_sockaddr(&a, &ss);
    struct ike_addr back;
    net_addr_from_sockaddr(&back, &ss);
    assert_true(ike_addr_equal(&a, &back));
}

static char *slurp(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *buf = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    rewind(f);
    assert_int_equal(ftruncate(fileno(f), 0), 0);
    return buf;
}

static void test_log_format_and_filters(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    struct hlog log;
    hlog_init(&log, f, IKE_LOG_INFO);
    struct ike_addr peer, other;
    net_addr_parse("203.0.113.2", &peer);
    net_addr_parse("203.0.113.9", &other);
    struct hlog_who gw1 = {.vdom = 0, .gw = "FWEXT-VPN", .serial = 1234, .peer = &peer};
    struct hlog_who gw2 = {.vdom = 3, .gw = "other", .serial = 7, .peer = &other};

    hlog_write(&log, HLOG_IKE, IKE_LOG_INFO, &gw1, "sent IKE msg (AUTH): len=%d", 288);
    hlog_write(&log, HLOG_IKE, IKE_LOG_DEBUG, &gw1, "too detailed");
    hlog_write(&log, HLOG_NET, IKE_LOG_WARN, NULL, "line\nbreak");
    char *out = slurp(f);
    assert_string_equal(out, "ike 0:FWEXT-VPN:1234: sent IKE msg (AUTH): len=288\n"
                             "net 0: line break\n");
    free(out);

    /* gateway filter: only FWEXT-VPN, and lines naming no gateway go too */
    hlog_set_filter(&log, "FWEXT-VPN", NULL);
    hlog_write(&log, HLOG_IKE, IKE_LOG_INFO, &gw1, "a");
    hlog_write(&log, HLOG_IKE, IKE_LOG_ERR, &gw2, "b");
    hlog_write(&log, HLOG_MAIN, IKE_LOG_ERR, NULL, "c");
    out = slurp(f);
    assert_string_equal(out, "ike 0:FWEXT-VPN:1234: a\n");
    free(out);

    /* peer filter (port ignored) */
    peer.port = 4500;
    hlog_set_filter(&log, NULL, &peer);
    hlog_write(&log, HLOG_IKE, IKE_LOG_INFO, &gw1, "d");
    hlog_write(&log, HLOG_IKE, IKE_LOG_INFO, &gw2, "e");
    out = slurp(f);
    assert_string_equal(out, "ike 0:FWEXT-VPN:1234: d\n");
    free(out);

    hlog_set_filter(&log, NULL, NULL);
    hlog_set_level(&log, HLOG_IKE, IKE_LOG_DEBUG);
    hlog_set_level(&log, HLOG_NET, -1);
    hlog_write(&log, HLOG_IKE, IKE_LOG_DEBUG, &gw2, "f");
    hlog_write(&log, HLOG_NET, IKE_LOG_ERR, &gw2, "g");
    out = slurp(f);
    assert_string_equal(out, "ike 3:other:7: f\n");
    free(out);
    assert_int_equal(log.lines, 5);
    assert_int_equal(log.filtered, 5);
    assert_int_equal(hlog_subsys_parse("dp"), HLOG_DP);
    assert_int_equal(hlog_subsys_parse("xx"), -1);
    assert_int_equal(hlog_level_parse("debug"), IKE_LOG_DEBUG);
    assert_int_equal(hlog_level_parse("2"), IKE_LOG_INFO);
    assert_int_equal(hlog_level_parse("9"), -1);
    hlog_close(&log);
    fclose(f);
}

static void test_names(void **state)
{
    (void)state;
    uint8_t h[28] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98,
                     0x76, 0x54, 0x32, 0x10, 0,    0x20, 35,   0x08, 0,    0,    0,    1,
                     0,    0,    0,    28};
    struct ike_addr a, b;
    net_addr_parse("203.0.113.1", &a);
    net_addr_parse("203.0.113.2", &b);
    a.port = b.port = 500;
    char buf[200];
    ike_names_describe_dgram(h, sizeof(h), &a, &b, buf, sizeof(buf));
    assert_string_equal(buf, "(AUTH): 203.0.113.1:500->203.0.113.2:500, len=28, "
                             "id=0123456789abcdef/fedcba9876543210:00000001");
    ike_names_describe_dgram(h, 10, &a, &b, buf, sizeof(buf));
    assert_string_equal(buf, "(undecodable): 203.0.113.1:500->203.0.113.2:500, len=10");

    struct ike_ts_export ts = {.type = IKE_TS_IPV4_ADDR_RANGE, .start_port = 0, .end_port = 65535,
                               .start_addr = {192, 0, 2, 128}, .end_addr = {192, 0, 2, 255}};
    assert_string_equal(ike_names_ts(&ts, buf, sizeof(buf)), "192.0.2.128/25");
    ts.end_addr[3] = 200;
    ts.ip_proto = 6;
    ts.start_port = ts.end_port = 443;
    assert_string_equal(ike_names_ts(&ts, buf, sizeof(buf)), "192.0.2.128-192.0.2.200[6/443-443]");
    assert_string_equal(ike_names_esp_alg(IKE_ENCR_AES_GCM_16, 256, 0), "aes256gcm16");
}

static void test_half_open(void **state)
{
    (void)state;
    struct sa_table t;
    assert_int_equal(sat_init(&t), 0);
    struct ike_addr p1, p2;
    net_addr_parse("203.0.113.2", &p1);
    net_addr_parse("203.0.113.3", &p2);
    p1.port = 500;
    sat_half_open_inc(&t, &p1);
    p1.port = 4500; /* same host, other port: same counter */
    sat_half_open_inc(&t, &p1);
    sat_half_open_inc(&t, &p2);
    assert_int_equal(sat_half_open_peer(&t, &p1), 2);
    assert_int_equal(sat_half_open_peer(&t, &p2), 1);
    assert_int_equal(t.half_open, 3);
    sat_half_open_dec(&t, &p1);
    sat_half_open_dec(&t, &p2);
    assert_int_equal(sat_half_open_peer(&t, &p1), 1);
    assert_int_equal(sat_half_open_peer(&t, &p2), 0);
    assert_int_equal(t.half_open, 1);
    sat_fini(&t);
}

static void test_record_dataplane(void **state)
{
    (void)state;
    struct dp dp;
    char err[128];
    assert_int_equal(dp_open(&dp, "warp-drive", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "warp-drive"));
    assert_int_equal(dp_open(&dp, "record", NULL, err, sizeof(err)), 0);
    struct ike_child_export ex = {.version = IKE_EXPORT_VERSION, .spi_in = 0x1111,
                                  .spi_out = 0x2222, .encr_id = IKE_ENCR_AES_CBC,
                                  .encr_key_bits = 256, .integ_id = IKE_INTEG_HMAC_SHA2_256_128,
                                  .n_ts_local = 1, .n_ts_remote = 1};
    snprintf(ex.cfg_name, sizeof(ex.cfg_name), "net");
    struct ike_addr l = {0}, r = {0};
    struct dp_child *c = dp_child_install(&dp, NULL, &ex, &l, &r, true, 42, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(c->spi_out, 0x2222);
    assert_int_equal(c->installed_ms, 42);
    assert_true(c->encap);
    /* same inbound SPI twice is refused */
    assert_null(dp_child_install(&dp, NULL, &ex, &l, &r, false, 43, err, sizeof(err)));
    assert_int_equal(dp.install_failures, 1);
    assert_ptr_equal(dp_child_find(&dp, 0x1111), c);
    assert_int_equal(dp_child_counters(&dp, c), 0);
    assert_int_equal(dp_esp_input(&dp, (const uint8_t *)"12345678", 8, &l, &r), -1);
    assert_int_equal(dp.esp_in_dropped, 1);
    dp_child_delete(&dp, c);
    assert_null(dp_child_find(&dp, 0x1111));
    assert_int_equal(dp.n_children, 0);
    dp_close(&dp);
}

static void test_socket_in_missing_netns(void **state)
{
    (void)state;
    int fd = net_socket_netns("haiked-no-such-netns", AF_INET, SOCK_DGRAM, 0);
    assert_true(fd < 0);
    fd = net_socket_netns("../etc", AF_INET, SOCK_DGRAM, 0);
    assert_int_equal(fd, -EINVAL);
    fd = net_socket_netns(NULL, AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_addr),
        cmocka_unit_test(test_log_format_and_filters),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_half_open),
        cmocka_unit_test(test_record_dataplane),
        cmocka_unit_test(test_socket_in_missing_netns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
