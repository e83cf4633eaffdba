/*
 * Batched raw-socket I/O for the userspace data plane: one array of packet
 * buffers with their message headers, so that what one readiness of a TUN
 * yields leaves in one sendmmsg() and what one readiness of the raw ESP
 * socket holds arrives in one recvmmsg(). Allocated once per backend; no
 * allocation per packet.
 *
 * Each buffer leaves ESP_BATCH_HEADROOM octets in front of an inner packet
 * read into it: room for the longest ESP header and IV, which esp_encap()
 * writes right in front of the inner packet (no copy).
 */
#ifndef HAIKED_ESP_BATCH_H
#define HAIKED_ESP_BATCH_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "esp_sa.h"
#include "esp_tun.h"

/* Packets per syscall: bounds how long one source holds the loop too. */
#define ESP_BATCH          64
#define ESP_BATCH_BUF      (ESP_TUN_MTU + ESP_OVERHEAD_MAX + 64)
#define ESP_BATCH_HEADROOM (ESP_HDR_LEN + ESP_IV_MAX)

union esp_batch_cmsg {
    char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
    struct cmsghdr align;
};

struct esp_batch {
    size_t n;             /* queued to send / received */
    void *tag[ESP_BATCH]; /* the sender's cookie per queued packet */
    struct mmsghdr msg[ESP_BATCH];
    struct iovec iov[ESP_BATCH];
    struct sockaddr_in to[ESP_BATCH];
    union esp_batch_cmsg cm[ESP_BATCH];
    uint8_t buf[ESP_BATCH][ESP_BATCH_BUF];
};

/* Where a TUN read of slot i goes, and how much it may take. */
static inline uint8_t *esp_batch_inner(struct esp_batch *b, size_t i)
{
    return b->buf[i] + ESP_BATCH_HEADROOM;
}
#define ESP_BATCH_INNER_MAX (ESP_BATCH_BUF - ESP_BATCH_HEADROOM - ESP_OVERHEAD_MAX)

/* Queues pkt (inside b->buf[b->n]) as slot b->n: plain ESP from src to dst
 * (IPv4, network order). The caller flushes when b->n == ESP_BATCH. */
void esp_batch_queue_v4(struct esp_batch *b, const uint8_t *pkt, size_t len, const uint8_t src[4],
                        const uint8_t dst[4], void *tag);

/* Sends the queue on fd and empties it; done(arg, tag, 0 or -errno) for
 * every queued packet in order (a refused packet is dropped, not retried:
 * ESP over IP is unreliable anyway). */
void esp_batch_flush(struct esp_batch *b, int fd, void (*done)(void *arg, void *tag, int err),
                     void *arg);

/* Receives up to ESP_BATCH datagrams into the buffers: the count (b->n,
 * lengths in b->msg[i].msg_len), or -errno (-EAGAIN: none waiting). */
int esp_batch_recv(struct esp_batch *b, int fd);

#endif
