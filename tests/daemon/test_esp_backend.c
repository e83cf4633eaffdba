/*
 * The "userspace" data-plane backend end to end inside a private network
 * namespace: one dp with two mirrored CHILD SA pairs (A: 10.77.0.0/24 ->
 * 10.77.1.0/24 and its peer B), a UDP datagram sent into the TUN comes out
 * of A as ESP-in-UDP (captured at the udp_send hook), goes back in through
 * esp_input() to B, is decrypted and written to the TUN. Then: the same
 * packet replayed, a forged ICV, an unknown SPI, a packet outside B's
 * selectors; counters, the counter event, set_seq.
 * Skipped (not failed) without root.
 */
#include "dtest_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ike/const.h>

#include "esp/esp_sa.h"
#include "esp/esp_tun.h"

struct cap {
    uint8_t pkt[8][2048];
    size_t len[8];
    size_t n;
    const struct dp_child *from[8];
    unsigned events;
    struct dp_child *last_event;
};

static int cap_send(void *arg, const struct dp_child *c, const uint8_t *data, size_t len)
{
    struct cap *k = arg;
    if (k->n < 8 && len <= sizeof(k->pkt[0])) {
        memcpy(k->pkt[k->n], data, len);
        k->len[k->n] = len;
        k->from[k->n++] = c;
    }
    return 0;
}

static void cap_event(void *arg, struct dp_child *c)
{
    struct cap *k = arg;
    k->events++;
    k->last_event = c;
}

/* A: ours (local .0, remote .1), spi in 0xa1 out 0xb1; B: the mirror. */
static void export_pair(struct ike_child_export *a, struct ike_child_export *b)
{
    dtest_export_gcm(a, 256, 0xa1, 0xb1, 0x11, 0x22, dtest_net24(77, 0), dtest_net24(77, 1));
    dtest_export_mirror(a, b);
}

static int tun_setup(const char *ifname)
{
    /* our address 10.77.0.1 on the TUN, the remote LAN routed into it */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ifr.ifr_addr;
    sin->sin_family = AF_INET;
    inet_pton(AF_INET, "10.77.0.1", &sin->sin_addr);
    int r = ioctl(s, SIOCSIFADDR, &ifr);
    if (r == 0)
        r = ioctl(s, SIOCGIFINDEX, &ifr);
    close(s);
    if (r < 0)
        return -1;
    struct ike_ts_export remote = dtest_net24(77, 1), local = dtest_net24(77, 0);
    char err[128];
    return esp_tun_routes(ifr.ifr_ifindex, true, &remote, 1, &local, 1, err, sizeof(err));
}

static void send_udp(const char *dst)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, dst, &to.sin_addr);
    static const char msg[] = "through the tunnel";
    assert_int_equal(sendto(s, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)),
                     (ssize_t)sizeof(msg));
    close(s);
}

static bool have_packets(void *arg)
{
    return ((struct cap *)arg)->n > 0;
}

/* The userspace backend with its ESP datagrams and counter events going
 * to k instead of a socket and the daemon. */
static void open_capturing(struct dp *dp, struct event_base *base, struct cap *k)
{
    char err[256] = "";
    assert_int_equal(dp_open(dp, "userspace", base, err, sizeof(err)), 0);
    dp->udp_send = cap_send;
    dp->udp_send_arg = k;
    dp->counter_event = cap_event;
    dp->counter_event_arg = k;
}

static void test_backend(void **state)
{
    (void)state;
    if (dtest_private_netns() < 0)
        skip();
    struct event_base *base = event_base_new();
    struct dp dp;
    char err[256] = "";
    struct cap k = {0};
    open_capturing(&dp, base, &k);
    dp.counter_event_packets = 2;
    struct ike_child_export ea, eb;
    export_pair(&ea, &eb);
    struct ike_addr l = {.family = IKE_AF_INET, .port = 4500}, r = l;
    l.addr[0] = 203, l.addr[3] = 1;
    r.addr[0] = 203, r.addr[3] = 2;
    struct dp_child *a = dp_child_install(&dp, NULL, &ea, &l, &r, true, 0, err, sizeof(err));
    assert_non_null(a);
    struct dp_child *b = dp_child_install(&dp, NULL, &eb, &r, &l, true, 0, err, sizeof(err));
    assert_non_null(b);
    /* a second install of the same inbound SPI is refused by the front */
    assert_null(dp_child_install(&dp, NULL, &ea, &l, &r, true, 0, err, sizeof(err)));
    /* one TUN for both: they share the (unnamed) gateway */
    char ifname[IFNAMSIZ];
    esp_tun_name("tunnel", ifname);
    assert_true(if_nametoindex(ifname) > 0);
    assert_true(tun_setup(ifname) >= 1);

    send_udp("10.77.1.5");
    assert_true(dtest_run_until(base, have_packets, &k, 2000));
    assert_int_equal(k.n, 1);
    assert_ptr_equal(k.from[0], a);
    assert_int_equal(esp_packet_spi(k.pkt[0], k.len[0]), 0xb1);
    assert_int_equal(dp_child_counters(&dp, a), 0);
    assert_int_equal(a->ctr.packets_out, 1);
    assert_int_equal(a->ctr.seq_out, 1);
    assert_int_equal(a->ctr.bytes_out, 20 + 8 + 19);

    /* into B: decrypted, inside B's selectors (10.77.0.1 -> 10.77.1.5), to the TUN */
    uint8_t pkt[2048];
    memcpy(pkt, k.pkt[0], k.len[0]);
    assert_int_equal(dp_esp_input(&dp, pkt, k.len[0], &r, &l), 0);
    assert_int_equal(dp_child_counters(&dp, b), 0);
    assert_int_equal(b->ctr.packets_in, 1);
    assert_int_equal(b->ctr.replay_in_edge, 1);
    assert_int_equal(k.events, 0);
    /* replayed: dropped, counted */
    assert_int_equal(dp_esp_input(&dp, pkt, k.len[0], &r, &l), 0);
    dp_child_counters(&dp, b);
    assert_int_equal(b->ctr.dropped_replay, 1);
    assert_int_equal(b->ctr.packets_in, 1);
    /* forged ICV */
    pkt[k.len[0] - 1] ^= 1;
    pkt[7] = 9; /* a fresh sequence number */
    assert_int_equal(dp_esp_input(&dp, pkt, k.len[0], &r, &l), 0);
    dp_child_counters(&dp, b);
    assert_int_equal(b->ctr.dropped_integrity, 1);
    /* unknown SPI: the front counts it */
    pkt[3] = 0x77;
    uint64_t before = dp.esp_in_dropped;
    assert_int_equal(dp_esp_input(&dp, pkt, k.len[0], &r, &l), 0);
    assert_int_equal(dp.esp_in_dropped, before + 1);

    /* A's peer-to-A direction carries traffic from B's TUN side: a packet
     * A receives that is authentic but outside A's selectors is dropped.
     * Make one with B's outbound SA: B encrypts 10.77.0.9 -> 10.77.0.1
     * (source not in A's remote 10.77.1.0/24). */
    struct esp_sa *bs = b->backend; /* struct us_child starts with its esp_sa */
    uint8_t buf[256] = {0};
    uint8_t *ip = buf + esp_sa_hdr_len(bs);
    ip[0] = 0x45;
    ip[3] = 28;
    ip[8] = 64;
    ip[9] = 17;
    ip[12] = 10, ip[13] = 77, ip[14] = 0, ip[15] = 9;
    ip[16] = 10, ip[17] = 77, ip[18] = 0, ip[19] = 1;
    size_t n = 0;
    assert_int_equal(esp_encap(bs, buf, 28, sizeof(buf), 4, &n), ESP_OK);
    assert_int_equal(dp_esp_input(&dp, buf, n, &l, &r), 0);
    dp_child_counters(&dp, a);
    assert_int_equal(a->ctr.packets_in, 1); /* authentic ... */
    assert_int_equal(a->ctr.dropped_other, 1); /* ... but outside the selectors */
    /* the counter event: every 2 packets of an SA (A: 1 out + 1 in) */
    assert_int_equal(k.events, 1);
    assert_ptr_equal(k.last_event, a);

    /* takeover: the sequence number set is the next one used - 1 */
    assert_int_equal(dp.ops->set_seq(&dp, a, 1000, 50), 0);
    k.n = 0;
    send_udp("10.77.1.6");
    assert_true(dtest_run_until(base, have_packets, &k, 2000));
    assert_int_equal(k.pkt[0][7], (1001 & 0xff));
    assert_int_equal(k.pkt[0][6], (1001 >> 8));
    dp_child_counters(&dp, a);
    assert_int_equal(a->ctr.seq_out, 1001);
    assert_int_equal(a->ctr.replay_in_edge, 50);

    dp_child_delete(&dp, a);
    /* without A, nothing takes 10.77.0.1 -> 10.77.1.x: dropped, nothing sent */
    k.n = 0;
    send_udp("10.77.1.7");
    dtest_run_for(base, 100);
    assert_int_equal(k.n, 0);
    dp_close(&dp);
    assert_int_equal(if_nametoindex(ifname), 0); /* the TUN went with the backend */
    event_base_free(base);
}

/* The timed counter event: SAs with new counts, every counter_event_ms. */
static void test_counter_timer(void **state)
{
    (void)state;
    if (dtest_private_netns() < 0)
        skip();
    struct event_base *base = event_base_new();
    struct dp dp;
    char err[256] = "";
    struct cap k = {0};
    open_capturing(&dp, base, &k);
    dp.counter_event_ms = 30;
    struct ike_child_export ea, eb;
    export_pair(&ea, &eb);
    struct ike_addr l = {.family = IKE_AF_INET, .port = 4500}, r = l;
    struct dp_child *a = dp_child_install(&dp, NULL, &ea, &l, &r, true, 0, err, sizeof(err));
    assert_non_null(a);
    char ifname[IFNAMSIZ];
    esp_tun_name("tunnel", ifname);
    assert_true(tun_setup(ifname) >= 1);
    dtest_run_for(base, 80);
    assert_int_equal(k.events, 0); /* nothing happened: no event */
    send_udp("10.77.1.5");
    assert_true(dtest_run_until(base, have_packets, &k, 2000));
    dtest_run_for(base, 100);
    assert_int_equal(k.events, 1);
    assert_ptr_equal(k.last_event, a);
    assert_int_equal(a->ctr.packets_out, 1); /* refreshed before the event */
    dtest_run_for(base, 100);
    assert_int_equal(k.events, 1); /* quiet again */
    dp_close(&dp);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_counter_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
