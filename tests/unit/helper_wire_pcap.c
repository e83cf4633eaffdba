/* Classic pcap (not pcapng): global header, then per packet a record
 * header and the frame. Fields are written byte by byte in little endian
 * so the file is the same on every host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helper_wire.h"

#define PCAP_MAGIC             0xa1b2c3d4u
#define PCAP_LINKTYPE_ETHERNET 1
#define ETH_HDR                14
#define IPV4_HDR               20
#define UDP_HDR                8
#define NON_ESP_MARKER         4

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    put_le16(p, (uint16_t)v);
    put_le16(p + 2, (uint16_t)(v >> 16));
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void write_all(struct helper_wire_pcap *p, const uint8_t *b, size_t n)
{
    assert_int_equal(fwrite(b, 1, n, p->f), n);
}

void helper_wire_pcap_open(struct helper_wire_pcap *p, const char *path)
{
    uint8_t g[24];
    p->f = fopen(path, "wb");
    if (!p->f)
        fail_msg("cannot create %s", path);
    p->count = 0;
    put_le32(g, PCAP_MAGIC);
    put_le16(g + 4, 2); /* version 2.4 */
    put_le16(g + 6, 4);
    put_le32(g + 8, 0);  /* GMT offset */
    put_le32(g + 12, 0); /* timestamp accuracy */
    put_le32(g + 16, 65535 + ETH_HDR + IPV4_HDR + UDP_HDR + NON_ESP_MARKER);
    put_le32(g + 20, PCAP_LINKTYPE_ETHERNET);
    write_all(p, g, sizeof(g));
}

static uint16_t ipv4_checksum(const uint8_t *h)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < IPV4_HDR; i += 2)
        sum += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Ethernet + IPv4 + UDP headers for a UDP payload of udp_len octets. */
static void frame_headers(uint8_t *f, uint32_t id, bool from_initiator, uint16_t port,
                          size_t udp_len)
{
    static const uint8_t mac_i[6] = {0x02, 0, 0, 0, 0, 0x01};
    static const uint8_t mac_r[6] = {0x02, 0, 0, 0, 0, 0x02};
    static const uint8_t ip_i[4] = {198, 51, 100, 1}, ip_r[4] = {198, 51, 100, 2};
    memcpy(f, from_initiator ? mac_r : mac_i, 6);
    memcpy(f + 6, from_initiator ? mac_i : mac_r, 6);
    put_be16(f + 12, 0x0800);
    uint8_t *ip = f + ETH_HDR;
    memset(ip, 0, IPV4_HDR);
    ip[0] = 0x45;
    put_be16(ip + 2, (uint16_t)(IPV4_HDR + UDP_HDR + udp_len));
    put_be16(ip + 4, (uint16_t)id);
    put_be16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = 17;
    memcpy(ip + 12, from_initiator ? ip_i : ip_r, 4);
    memcpy(ip + 16, from_initiator ? ip_r : ip_i, 4);
    put_be16(ip + 10, ipv4_checksum(ip));
    uint8_t *udp = ip + IPV4_HDR;
    put_be16(udp, port);
    put_be16(udp + 2, port);
    put_be16(udp + 4, (uint16_t)(UDP_HDR + udp_len));
    put_be16(udp + 6, 0); /* no checksum (allowed over IPv4) */
}

void helper_wire_pcap_add(struct helper_wire_pcap *p, bool from_initiator, uint16_t port,
                          const uint8_t *ike, size_t len)
{
    size_t marker = port == HELPER_WIRE_PORT_NATT ? NON_ESP_MARKER : 0;
    size_t udp_len = marker + len;
    assert_true(udp_len + UDP_HDR + IPV4_HDR <= 65535);
    uint8_t hdr[ETH_HDR + IPV4_HDR + UDP_HDR + NON_ESP_MARKER] = {0};
    frame_headers(hdr, p->count + 1, from_initiator, port, udp_len);
    size_t frame_len = ETH_HDR + IPV4_HDR + UDP_HDR + udp_len;
    uint8_t rec[16];
    p->count++;
    put_le32(rec, 1700000000u + p->count); /* one packet per second */
    put_le32(rec + 4, 0);
    put_le32(rec + 8, (uint32_t)frame_len);
    put_le32(rec + 12, (uint32_t)frame_len);
    write_all(p, rec, sizeof(rec));
    write_all(p, hdr, ETH_HDR + IPV4_HDR + UDP_HDR + marker); /* marker octets are zero */
    write_all(p, ike, len);
}

void helper_wire_pcap_close(struct helper_wire_pcap *p)
{
    if (p->f)
        assert_int_equal(fclose(p->f), 0);
    p->f = NULL;
}
