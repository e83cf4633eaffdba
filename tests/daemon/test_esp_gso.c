/*
 * TUN offloads (esp_gso.h): a TSO frame of IPv4 and of IPv6 TCP is cut
 * into MSS-sized segments with sequence numbers, IPv4 IDs, lengths, flags
 * and checksums as a NIC would make them; a packet with a partial
 * checksum gets it completed; malformed frames are refused whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "esp/esp_gso.h"

struct segs {
    uint8_t buf[8][1500];
    size_t len[8];
    size_t n;
    size_t cap;
};

static uint8_t *slot(void *arg, size_t *cap)
{
    struct segs *s = arg;
    if (s->n == 8)
        return NULL;
    *cap = s->cap;
    return s->buf[s->n];
}

static void emit(void *arg, size_t len)
{
    struct segs *s = arg;
    s->len[s->n++] = len;
}

static uint16_t g16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t g32(const uint8_t *p)
{
    return (uint32_t)g16(p) << 16 | g16(p + 2);
}

static void p16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* A TCP segment's checksum verifies: the sum with the pseudo header is 0. */
static void assert_tcp_ok(const uint8_t *pkt, size_t len, bool v6)
{
    uint8_t ph[40] = {0};
    size_t l4 = v6 ? 40 : (size_t)(pkt[0] & 15) * 4, phl;
    if (v6) {
        memcpy(ph, pkt + 8, 32);
        ph[34] = (uint8_t)((len - l4) >> 8);
        ph[35] = (uint8_t)(len - l4);
        ph[39] = IPPROTO_TCP;
        phl = 40;
    } else {
        memcpy(ph, pkt + 12, 8);
        ph[9] = IPPROTO_TCP;
        p16(ph + 10, (uint16_t)(len - l4));
        phl = 12;
        assert_int_equal(esp_csum_fold(esp_csum_add(0, pkt, l4)), 0); /* IPv4 header */
    }
    assert_int_equal(esp_csum_fold(esp_csum_add(esp_csum_add(0, ph, phl), pkt + l4, len - l4)), 0);
}

/* frame = vnet header | IP | TCP (20) | payload bytes i & 0xff */
static size_t tso_frame(uint8_t *f, bool v6, size_t payload, uint16_t mss)
{
    struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                               .gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
                               .gso_size = mss};
    memcpy(f, &h, sizeof(h));
    uint8_t *ip = f + ESP_VNET_HDR_LEN;
    size_t l4 = v6 ? 40 : 20, len = l4 + 20 + payload;
    memset(ip, 0, l4 + 20);
    if (v6) {
        ip[0] = 0x60;
        p16(ip + 4, (uint16_t)(len - 40));
        ip[6] = IPPROTO_TCP;
        ip[7] = 64;
        ip[8] = 0x20, ip[23] = 1, ip[24] = 0x20, ip[39] = 2;
    } else {
        ip[0] = 0x45;
        p16(ip + 2, (uint16_t)len);
        p16(ip + 4, 0xfffe); /* IDs wrap */
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = IPPROTO_TCP;
        ip[12] = 192, ip[13] = 0, ip[14] = 2, ip[15] = 1;
        ip[16] = 192, ip[17] = 0, ip[18] = 2, ip[19] = 129;
    }
    uint8_t *tcp = ip + l4;
    p16(tcp, 5201);
    p16(tcp + 2, 40000);
    tcp[4] = 0xff, tcp[5] = 0xff, tcp[6] = 0xfc, tcp[7] = 0x00; /* seq wraps too */
    tcp[12] = 5 << 4;
    tcp[13] = 0x80 | 0x10 | 0x08 | 0x01; /* CWR ACK PSH FIN */
    for (size_t i = 0; i < payload; i++)
        tcp[20 + i] = (uint8_t)i;
    return ESP_VNET_HDR_LEN + len;
}

static void check_split(bool v6)
{
    static uint8_t f[8192];
    struct segs s = {.cap = 1500};
    const size_t payload = 2500, mss = 1000, l4 = v6 ? 40 : 20;
    size_t n = tso_frame(f, v6, payload, mss);
    struct esp_gso_sink sink = {slot, emit, &s};
    assert_int_equal(esp_gso_split(f, n, &sink), 3);
    assert_int_equal(s.n, 3);
    for (size_t k = 0; k < 3; k++) {
        const uint8_t *p = s.buf[k], *tcp = p + l4;
        size_t chunk = k < 2 ? mss : payload - 2 * mss;
        assert_int_equal(s.len[k], l4 + 20 + chunk);
        if (v6) {
            assert_int_equal(g16(p + 4), 20 + chunk);
        } else {
            assert_int_equal(g16(p + 2), s.len[k]);
            assert_int_equal(g16(p + 4), (uint16_t)(0xfffe + k));
        }
        assert_int_equal(g32(tcp + 4), (uint32_t)(0xfffffc00u + k * mss));
        uint8_t flags = tcp[13];
        assert_int_equal(flags & 0x80, k == 0 ? 0x80 : 0); /* CWR: first only */
        assert_int_equal(flags & 0x09, k == 2 ? 0x09 : 0); /* PSH FIN: last only */
        assert_int_equal(flags & 0x10, 0x10);
        for (size_t i = 0; i < chunk; i++)
            assert_int_equal(tcp[20 + i], (uint8_t)(k * mss + i));
        assert_tcp_ok(p, s.len[k], v6);
    }
}

static void test_split_v4(void **state)
{
    (void)state;
    check_split(false);
}

static void test_split_v6(void **state)
{
    (void)state;
    check_split(true);
}

/* A UDP datagram with a partial checksum (the pseudo-header sum in the
 * field, as the kernel leaves it): completed. */
static void test_partial_checksum(void **state)
{
    (void)state;
    uint8_t f[ESP_VNET_HDR_LEN + 28 + 5] = {0};
    uint8_t *ip = f + ESP_VNET_HDR_LEN, *udp = ip + 20;
    ip[0] = 0x45;
    p16(ip + 2, 33);
    ip[9] = IPPROTO_UDP;
    ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
    p16(udp, 9), p16(udp + 2, 9), p16(udp + 4, 13);
    memcpy(udp + 8, "hello", 5);
    uint8_t ph[12] = {10, 0, 0, 1, 10, 0, 0, 2, 0, IPPROTO_UDP, 0, 13};
    uint16_t partial = (uint16_t)~esp_csum_fold(esp_csum_add(0, ph, sizeof(ph)));
    memcpy(udp + 6, &partial, 2);
    struct virtio_net_hdr h = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 6};
    memcpy(f, &h, sizeof(h));
    struct segs s = {.cap = 1500};
    struct esp_gso_sink sink = {slot, emit, &s};
    assert_int_equal(esp_gso_split(f, sizeof(f), &sink), 1);
    assert_int_equal(s.len[0], 33);
    uint8_t *out = s.buf[0] + 20;
    assert_int_equal(esp_csum_fold(esp_csum_add(esp_csum_add(0, ph, 12), out, 13)), 0);
    assert_memory_equal(out + 8, "hello", 5);
}

/* RFC 1071 §3's example: the sum of 0001 f203 f4f5 f6f7 is ddf2. */
static void test_rfc1071_sum(void **state)
{
    (void)state;
    static const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    uint16_t c = esp_csum_fold(esp_csum_add(0, d, sizeof(d)));
    uint8_t be[2];
    memcpy(be, &c, 2);
    assert_int_equal(g16(be), (uint16_t)~0xddf2);
    /* an odd length pads with a zero octet */
    static const uint8_t odd[] = {0x00, 0x01, 0xf2};
    c = esp_csum_fold(esp_csum_add(0, odd, sizeof(odd)));
    memcpy(be, &c, 2);
    assert_int_equal(g16(be), (uint16_t) ~(0x0001 + 0xf200));
}

static void test_malformed(void **state)
{
    (void)state;
    static uint8_t f[8192];
    struct segs s = {.cap = 1500};
    struct esp_gso_sink sink = {slot, emit, &s};
    size_t n = tso_frame(f, false, 2500, 1000);
    assert_int_equal(esp_gso_split(f, 5, &sink), -1);     /* shorter than the header */
    assert_int_equal(esp_gso_split(f, n - 1, &sink), -1); /* IP length disagrees */
    f[ESP_VNET_HDR_LEN + 9] = IPPROTO_UDP;
    assert_int_equal(esp_gso_split(f, n, &sink), -1); /* TSO of something not TCP */
    n = tso_frame(f, false, 2500, 1000);
    f[ESP_VNET_HDR_LEN + 20 + 12] = 0xf0; /* TCP header longer than the packet */
    assert_int_equal(esp_gso_split(f, ESP_VNET_HDR_LEN + 70, &sink), -1);
    n = tso_frame(f, false, 2500, 0); /* no MSS */
    assert_int_equal(esp_gso_split(f, n, &sink), -1);
    n = tso_frame(f, false, 2500, 1000);
    f[1] = 0x80; /* ECN TSO: never offered */
    assert_int_equal(esp_gso_split(f, n, &sink), -1);
    assert_int_equal(s.n, 0);
    /* segments larger than the slot: none emitted */
    n = tso_frame(f, false, 2500, 1000);
    s.cap = 500;
    assert_int_equal(esp_gso_split(f, n, &sink), 0);
}

/* Three segments of one flow (ACK, ACK, ACK|PSH) from a split TSO frame. */
static void three_segments(struct segs *s, bool v6)
{
    static uint8_t f[8192];
    size_t n = tso_frame(f, v6, 2500, 1000);
    f[ESP_VNET_HDR_LEN + (v6 ? 40 : 20) + 13] = 0x18;
    struct esp_gso_sink sink = {slot, emit, s};
    assert_int_equal(esp_gso_split(f, n, &sink), 3);
}

/* What esp_gro wrote: one record per write (SOCK_SEQPACKET keeps them). */
static size_t next_record(int fd, uint8_t *buf, size_t cap)
{
    ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
    return n < 0 ? 0 : (size_t)n;
}

static void check_gro(bool v6)
{
    struct segs s = {.cap = 1500};
    three_segments(&s, v6);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    static struct esp_gro g;
    esp_gro_init(&g);
    static uint8_t room[3][1600]; /* with headroom in front, as the caller gives */
    for (size_t k = 0; k < 3; k++) {
        memcpy(room[k] + 16, s.buf[k], s.len[k]);
        assert_int_equal(esp_gro_write(&g, sv[0], room[k] + 16, s.len[k]), 0);
    }
    static uint8_t rec[70000];
    assert_int_equal(next_record(sv[1], rec, sizeof(rec)), 0); /* pending until the flush */
    assert_int_equal(esp_gro_flush(&g), 0);
    size_t l4 = v6 ? 40 : 20, len = l4 + 20 + 2500;
    assert_int_equal(next_record(sv[1], rec, sizeof(rec)), ESP_VNET_HDR_LEN + len);
    struct virtio_net_hdr h;
    memcpy(&h, rec, sizeof(h));
    assert_int_equal(h.gso_type, v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
    assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(h.gso_size, 1000);
    assert_int_equal(h.hdr_len, l4 + 20);
    assert_int_equal(h.csum_start, l4);
    assert_int_equal(h.csum_offset, 16);
    const uint8_t *ip = rec + ESP_VNET_HDR_LEN, *tcp = ip + l4;
    if (v6) {
        assert_int_equal(g16(ip + 4), len - 40);
    } else {
        assert_int_equal(g16(ip + 2), len);
        assert_int_equal(esp_csum_fold(esp_csum_add(0, ip, 20)), 0);
    }
    assert_int_equal(g32(tcp + 4), 0xfffffc00u); /* the first segment's */
    assert_int_equal(tcp[13], 0x18);             /* PSH from the last */
    for (size_t i = 0; i < 2500; i++)
        assert_int_equal(tcp[20 + i], (uint8_t)i);
    /* a gap in the sequence numbers: two runs */
    memcpy(room[0] + 16, s.buf[0], s.len[0]);
    memcpy(room[2] + 16, s.buf[2], s.len[2]);
    assert_int_equal(esp_gro_write(&g, sv[0], room[0] + 16, s.len[0]), 0);
    assert_int_equal(esp_gro_write(&g, sv[0], room[2] + 16, s.len[2]), 0);
    assert_int_equal(next_record(sv[1], rec, sizeof(rec)), ESP_VNET_HDR_LEN + s.len[0]);
    memcpy(&h, rec, sizeof(h));
    assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE); /* alone: as it came */
    assert_int_equal(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
    assert_memory_equal(rec + ESP_VNET_HDR_LEN, s.buf[0], s.len[0]);
    /* something that is no TCP segment flushes the run and goes at once */
    uint8_t udp[16 + 28] = {0};
    udp[16] = 0x45, udp[16 + 3] = 28, udp[16 + 9] = IPPROTO_UDP;
    assert_int_equal(esp_gro_write(&g, sv[0], udp + 16, 28), 0);
    assert_int_equal(next_record(sv[1], rec, sizeof(rec)), ESP_VNET_HDR_LEN + s.len[2]);
    assert_int_equal(next_record(sv[1], rec, sizeof(rec)), ESP_VNET_HDR_LEN + 28);
    assert_int_equal(esp_gro_flush(&g), 0);
    assert_int_equal(next_record(sv[1], rec, sizeof(rec)), 0);
    /* a write that fails is counted */
    close(sv[1]);
    assert_true(esp_gro_write(&g, sv[0], udp + 16, 28) < 0);
    assert_int_equal(g.write_errors, 1);
    close(sv[0]);
}

static void test_gro_v4(void **state)
{
    (void)state;
    check_gro(false);
}

static void test_gro_v6(void **state)
{
    (void)state;
    check_gro(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_v4),         cmocka_unit_test(test_split_v6),
        cmocka_unit_test(test_partial_checksum), cmocka_unit_test(test_rfc1071_sum),
        cmocka_unit_test(test_malformed),        cmocka_unit_test(test_gro_v4),
        cmocka_unit_test(test_gro_v6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
