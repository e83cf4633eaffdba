/*
 * TUN offloads for the userspace data plane (IFF_VNET_HDR): every packet
 * crosses the TUN with a struct virtio_net_hdr in front.
 *
 * Outbound, the TUN accepts TCP segmentation (TSO4/TSO6) and checksum
 * offload: the kernel hands over up to 64 KiB of one TCP flow at once
 * instead of running its output path once per MTU-sized segment; here it
 * is cut into MTU-sized segments (headers copied, sequence numbers, IPv4
 * IDs, lengths and checksums fixed), each then ESP-encapsulated on its own.
 * Packets the kernel left with a partial checksum get it completed.
 *
 * Inbound, decapsulated packets are written with DATA_VALID: the ESP ICV
 * has just authenticated them end to end, so the kernel need not verify
 * the inner TCP/UDP checksum again (as the kernel's WireGuard does).
 */
#ifndef HAIKED_ESP_GSO_H
#define HAIKED_ESP_GSO_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESP_VNET_HDR_LEN sizeof(struct virtio_net_hdr)
/* The largest frame a TSO TUN hands over: a 64 KiB IP packet and the header. */
#define ESP_GSO_FRAME_MAX (65535 + ESP_VNET_HDR_LEN)

/* Where segments go: slot() returns room for one inner packet of up to
 * cap octets (NULL: none, the rest is dropped), emit() takes the len
 * octets just written there. */
struct esp_gso_sink {
    uint8_t *(*slot)(void *arg, size_t *cap);
    void (*emit)(void *arg, size_t len);
    void *arg;
};

/* One frame read from the TUN (header first): emits every inner packet in
 * it, complete with checksums. Returns how many, or -1 when the frame is
 * malformed (nothing emitted then). */
int esp_gso_split(const uint8_t *frame, size_t len, const struct esp_gso_sink *sink);

/* The header to write in front of a decapsulated inner packet. */
void esp_gso_rx_hdr(uint8_t hdr[ESP_VNET_HDR_LEN]);

/*
 * Inbound coalescing (GRO): consecutive TCP segments of one flow that
 * decapsulate in one receive batch are written to the TUN as one TSO
 * packet, so the kernel's stack runs once for up to 64 KiB instead of once
 * per segment. A segment joins the pending packet when its headers equal
 * the first's (but for lengths, IPv4 ID and checksums), its sequence number
 * follows on, it is not longer than the first, and nothing shorter or with
 * PSH came before it. Everything else flushes what is pending and goes
 * on its own. The caller flushes at the end of its batch.
 */
struct esp_gro {
    int fd;        /* the TUN of what is pending; -1: nothing */
    size_t len;    /* octets of the pending IP packet */
    size_t l4, hl; /* TCP header offset, all headers */
    size_t mss;    /* payload of the first segment */
    unsigned segs;
    bool v6, closed; /* closed: the last segment ends the run */
    uint32_t next_seq;
    uint64_t write_errors; /* packets lost to failed TUN writes */
    uint8_t buf[ESP_GSO_FRAME_MAX];
};

void esp_gro_init(struct esp_gro *g);
/* Writes the inner packet pkt to the TUN fd, now or with the next flush
 * (pkt must have ESP_VNET_HDR_LEN writable octets in front of it): 0, or
 * -errno when a write failed (this one or a flushed run's; counted in
 * g->write_errors). */
int esp_gro_write(struct esp_gro *g, int fd, const uint8_t *pkt, size_t len);
/* Writes what is pending: 0 or -errno. */
int esp_gro_flush(struct esp_gro *g);

/* RFC 1071 ones' complement sum of data, added to sum (not folded, not
 * complemented; byte order: the buffer's). */
uint64_t esp_csum_add(uint64_t sum, const uint8_t *data, size_t len);
/* Folds sum to 16 bits and complements it: the value to store. */
uint16_t esp_csum_fold(uint64_t sum);

#endif
