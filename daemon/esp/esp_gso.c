/* TUN offloads: TSO segmentation and checksum completion (see esp_gso.h). */
#include "esp_gso.h"

#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_CWR 0x80

uint64_t esp_csum_add(uint64_t sum, const uint8_t *data, size_t len)
{
    /* 32-bit words into a 64-bit accumulator: no carry is lost before
     * 2^32 words, far beyond any packet */
    while (len >= 4) {
        uint32_t w;
        memcpy(&w, data, 4);
        sum += w;
        data += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t w;
        memcpy(&w, data, 2);
        sum += w;
        data += 2;
        len -= 2;
    }
    if (len) {
        uint8_t last[2] = {data[0], 0};
        uint16_t w;
        memcpy(&w, last, 2);
        sum += w;
    }
    return sum;
}

uint16_t esp_csum_fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* The TCP checksum of a whole segment (IP header at pkt, TCP at l4). */
static void tcp_csum(uint8_t *pkt, size_t l4, size_t len, bool v6)
{
    uint8_t *tcp = pkt + l4;
    size_t tlen = len - l4;
    uint8_t pseudo[40] = {0};
    size_t plen;
    if (v6) {
        memcpy(pseudo, pkt + 8, 32); /* source, destination */
        put32(pseudo + 32, (uint32_t)tlen);
        pseudo[39] = IPPROTO_TCP;
        plen = 40;
    } else {
        memcpy(pseudo, pkt + 12, 8);
        pseudo[9] = IPPROTO_TCP;
        put16(pseudo + 10, (uint16_t)tlen);
        plen = 12;
    }
    tcp[16] = tcp[17] = 0;
    uint16_t c = esp_csum_fold(esp_csum_add(esp_csum_add(0, pseudo, plen), tcp, tlen));
    memcpy(tcp + 16, &c, 2); /* summed in buffer order: stored the same way */
}

static void ipv4_csum(uint8_t *ip, size_t ihl)
{
    ip[10] = ip[11] = 0;
    uint16_t c = esp_csum_fold(esp_csum_add(0, ip, ihl));
    memcpy(ip + 10, &c, 2);
}

/* A TSO frame's packet: IPv4/IPv6 + TCP; *l4 and *hl (all headers) set. */
static int tcp_headers(const uint8_t *pkt, size_t len, bool v6, size_t *l4, size_t *hl)
{
    if (v6) {
        if (len < 40 || pkt[0] >> 4 != 6 || pkt[6] != IPPROTO_TCP ||
            (size_t)get16(pkt + 4) + 40 != len)
            return -1; /* extension headers: the kernel does not TSO those */
        *l4 = 40;
    } else {
        size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
        if (len < 20 || pkt[0] >> 4 != 4 || ihl < 20 || pkt[9] != IPPROTO_TCP ||
            get16(pkt + 2) != len || ihl > len)
            return -1;
        *l4 = ihl;
    }
    if (*l4 + 20 > len)
        return -1;
    size_t thl = (size_t)(pkt[*l4 + 12] >> 4) * 4;
    if (thl < 20 || *l4 + thl > len)
        return -1;
    *hl = *l4 + thl;
    return 0;
}

static int split_tcp(const uint8_t *pkt, size_t len, bool v6, size_t mss,
                     const struct esp_gso_sink *sink)
{
    size_t l4, hl;
    if (mss == 0 || tcp_headers(pkt, len, v6, &l4, &hl) < 0)
        return -1;
    size_t payload = len - hl;
    uint32_t seq = get32(pkt + l4 + 4);
    uint16_t id = v6 ? 0 : get16(pkt + 4);
    uint8_t flags = pkt[l4 + 13];
    int n = 0;
    size_t off = 0;
    do { /* a payload of 0 (a bare ACK the kernel marked TSO) is one segment */
        size_t chunk = payload - off < mss ? payload - off : mss;
        size_t cap = 0;
        uint8_t *out = sink->slot(sink->arg, &cap);
        if (!out || hl + chunk > cap)
            return n;
        memcpy(out, pkt, hl);
        memcpy(out + hl, pkt + hl + off, chunk);
        size_t seg = hl + chunk;
        uint8_t f = flags;
        if (off + chunk < payload)
            f &= (uint8_t) ~(TCP_FLAG_FIN | TCP_FLAG_PSH); /* only the last */
        if (off)
            f &= (uint8_t)~TCP_FLAG_CWR; /* only the first */
        out[l4 + 13] = f;
        put32(out + l4 + 4, seq + (uint32_t)off);
        if (v6) {
            put16(out + 4, (uint16_t)(seg - 40));
        } else {
            put16(out + 2, (uint16_t)seg);
            put16(out + 4, (uint16_t)(id + n));
            ipv4_csum(out, l4);
        }
        tcp_csum(out, l4, seg, v6);
        sink->emit(sink->arg, seg);
        n++;
        off += chunk;
    } while (off < payload);
    return n;
}

/* A single packet, its checksum completed when the kernel left it partial. */
static int one_packet(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
                      const struct esp_gso_sink *sink)
{
    size_t cap = 0;
    uint8_t *out = sink->slot(sink->arg, &cap);
    if (!out)
        return 0;
    if (len > cap)
        return -1;
    memcpy(out, pkt, len);
    if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        size_t start = le16toh(h->csum_start), at = start + le16toh(h->csum_offset);
        if (start >= len || at + 2 > len)
            return -1;
        /* the field holds the pseudo-header sum: sum over it, then store */
        uint16_t c = esp_csum_fold(esp_csum_add(0, out + start, len - start));
        memcpy(out + at, &c, 2);
    }
    sink->emit(sink->arg, len);
    return 1;
}

int esp_gso_split(const uint8_t *frame, size_t len, const struct esp_gso_sink *sink)
{
    struct virtio_net_hdr h;
    if (len <= ESP_VNET_HDR_LEN)
        return -1;
    memcpy(&h, frame, sizeof(h));
    const uint8_t *pkt = frame + ESP_VNET_HDR_LEN;
    len -= ESP_VNET_HDR_LEN;
    switch (h.gso_type) {
    case VIRTIO_NET_HDR_GSO_NONE: return one_packet(&h, pkt, len, sink);
    case VIRTIO_NET_HDR_GSO_TCPV4: return split_tcp(pkt, len, false, le16toh(h.gso_size), sink);
    case VIRTIO_NET_HDR_GSO_TCPV6: return split_tcp(pkt, len, true, le16toh(h.gso_size), sink);
    default: return -1; /* not offered (ECN, UDP): the kernel does not send it */
    }
}

void esp_gso_rx_hdr(uint8_t hdr[ESP_VNET_HDR_LEN])
{
    struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_DATA_VALID,
                               .gso_type = VIRTIO_NET_HDR_GSO_NONE};
    memcpy(hdr, &h, sizeof(h));
}

/* ---- inbound coalescing -------------------------------------------------- */

void esp_gro_init(struct esp_gro *g)
{
    g->fd = -1;
    g->len = 0;
    g->write_errors = 0;
}

static int write_frame(struct esp_gro *g, int fd, uint8_t *frame, size_t len, unsigned packets)
{
    ssize_t n = write(fd, frame, len);
    if (n == (ssize_t)len)
        return 0;
    g->write_errors += packets;
    return n < 0 ? -errno : -EIO;
}

int esp_gro_flush(struct esp_gro *g)
{
    if (g->fd < 0)
        return 0;
    int fd = g->fd;
    g->fd = -1;
    uint8_t *pkt = g->buf + ESP_VNET_HDR_LEN;
    if (g->segs == 1) {
        esp_gso_rx_hdr(g->buf);
        return write_frame(g, fd, g->buf, ESP_VNET_HDR_LEN + g->len, 1);
    }
    size_t tlen = g->len - g->l4;
    uint8_t pseudo[40] = {0};
    size_t plen;
    if (g->v6) {
        put16(pkt + 4, (uint16_t)(g->len - 40));
        memcpy(pseudo, pkt + 8, 32);
        put32(pseudo + 32, (uint32_t)tlen);
        pseudo[39] = IPPROTO_TCP;
        plen = 40;
    } else {
        put16(pkt + 2, (uint16_t)g->len);
        ipv4_csum(pkt, g->l4);
        memcpy(pseudo, pkt + 12, 8);
        pseudo[9] = IPPROTO_TCP;
        put16(pseudo + 10, (uint16_t)tlen);
        plen = 12;
    }
    /* a partial checksum, as a NIC's GRO leaves it: the pseudo-header sum */
    uint16_t partial = (uint16_t)~esp_csum_fold(esp_csum_add(0, pseudo, plen));
    memcpy(pkt + g->l4 + 16, &partial, 2);
    struct virtio_net_hdr h = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .gso_type = g->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
        .hdr_len = htole16((uint16_t)g->hl),
        .gso_size = htole16((uint16_t)g->mss),
        .csum_start = htole16((uint16_t)g->l4),
        .csum_offset = htole16(16),
    };
    memcpy(g->buf, &h, sizeof(h));
    return write_frame(g, fd, g->buf, ESP_VNET_HDR_LEN + g->len, g->segs);
}

/* A segment that may start or join a run: TCP with data, ACK set, no
 * SYN/FIN/RST/URG/CWR/ECE, no IPv4 options or fragments, no IPv6
 * extension headers. */
static bool gro_candidate(const uint8_t *pkt, size_t len, bool *v6, size_t *l4, size_t *hl)
{
    if (len < 20)
        return false;
    *v6 = pkt[0] >> 4 == 6;
    if (*v6) {
        if (pkt[6] != IPPROTO_TCP)
            return false;
    } else if (pkt[0] != 0x45 || pkt[9] != IPPROTO_TCP || (get16(pkt + 6) & 0x3fff)) {
        return false;
    }
    if (tcp_headers(pkt, len, *v6, l4, hl) < 0 || *hl >= len)
        return false;
    uint8_t f = pkt[*l4 + 13];
    return (f & ~TCP_FLAG_PSH) == 0x10; /* ACK, maybe PSH */
}

/* Does pkt continue the pending run? Headers must equal the first's but
 * for the IP length/ID/checksum and the TCP sequence number, PSH, checksum. */
static bool gro_joins(const struct esp_gro *g, int fd, const uint8_t *pkt, size_t len, bool v6,
                      size_t l4, size_t hl)
{
    const uint8_t *first = g->buf + ESP_VNET_HDR_LEN;
    size_t payload = len - hl;
    if (g->fd != fd || g->closed || v6 != g->v6 || hl != g->hl || payload > g->mss ||
        g->len + payload > 65535 || get32(pkt + l4 + 4) != g->next_seq)
        return false;
    if (v6 ? memcmp(pkt, first, 4) || memcmp(pkt + 6, first + 6, 34)
           : memcmp(pkt, first, 2) || memcmp(pkt + 6, first + 6, 4) ||
                 memcmp(pkt + 12, first + 12, 8))
        return false;
    const uint8_t *t = pkt + l4, *ft = first + l4;
    return !memcmp(t, ft, 4) && !memcmp(t + 8, ft + 8, 5) && !memcmp(t + 14, ft + 14, 2) &&
           !memcmp(t + 18, ft + 18, hl - l4 - 18);
}

int esp_gro_write(struct esp_gro *g, int fd, const uint8_t *pkt, size_t len)
{
    bool v6;
    size_t l4, hl;
    if (!gro_candidate(pkt, len, &v6, &l4, &hl)) {
        int r = esp_gro_flush(g);
        uint8_t *frame = (uint8_t *)pkt - ESP_VNET_HDR_LEN; /* the caller's headroom */
        esp_gso_rx_hdr(frame);
        int w = write_frame(g, fd, frame, len + ESP_VNET_HDR_LEN, 1);
        return w ? w : r;
    }
    size_t payload = len - hl;
    uint8_t flags = pkt[l4 + 13];
    if (g->fd >= 0 && gro_joins(g, fd, pkt, len, v6, l4, hl)) {
        memcpy(g->buf + ESP_VNET_HDR_LEN + g->len, pkt + hl, payload);
        g->len += payload;
        g->segs++;
        g->next_seq += (uint32_t)payload;
        g->buf[ESP_VNET_HDR_LEN + l4 + 13] |= flags & TCP_FLAG_PSH;
        g->closed = payload < g->mss || (flags & TCP_FLAG_PSH);
        return 0;
    }
    int r = esp_gro_flush(g);
    memcpy(g->buf + ESP_VNET_HDR_LEN, pkt, len);
    g->fd = fd;
    g->len = len;
    g->l4 = l4;
    g->hl = hl;
    g->mss = payload;
    g->segs = 1;
    g->v6 = v6;
    g->closed = (flags & TCP_FLAG_PSH) != 0;
    g->next_seq = get32(pkt + l4 + 4) + (uint32_t)payload;
    return r;
}
