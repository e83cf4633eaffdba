/*
 * Batched socket I/O for the userspace data plane: one array of packet
 * buffers with their message headers, so that what one readiness of a TUN
 * yields leaves in one sendmmsg() per socket and what one readiness of the
 * raw ESP socket holds arrives in one recvmmsg(). Allocated once per
 * backend; no allocation per packet.
 *
 * A queued packet goes out on a socket given per packet: the raw ESP socket
 * of its namespace (plain ESP) or the daemon's port-4500 socket (ESP-in-UDP,
 * RFC 3948). The flush sends every socket's packets with one sendmmsg() (a
 * message names its own destination, so one call carries every peer's),
 * keeping the queue's order per socket and so per destination.
 *
 * UDP GSO (UDP_SEGMENT): with b->gso, consecutive ESP-in-UDP packets of one
 * socket to the same destination from the same source and of the same
 * length (the last of a run may be shorter) leave as one message whose
 * segments the kernel cuts into datagrams as late as it can (one trip
 * through the UDP/IP output path per run, not per packet). A kernel or
 * route that refuses it (EIO: no checksum offload on the way, EINVAL or,
 * on newer kernels, EMSGSIZE: a segment larger than the path takes)
 * turns it off for that path only (socket, destination, source): one
 * peer behind a small path MTU must not cost every other peer GSO. The
 * refusal is counted in gso_refused, the refused run sent again as single
 * datagrams (which the kernel may then fragment), and the path goes into
 * a bounded table (ESP_BATCH_GSO_SETS x ESP_BATCH_GSO_WAYS, the oldest
 * entry of a full set evicted) where it stays for gso_retry_ms: a path
 * MTU may grow again, and an evicted path costs one more refusal at
 * worst.
 *
 * Each buffer leaves ESP_BATCH_HEADROOM octets in front of an inner packet
 * read into it: room for the longest ESP header and IV, which esp_encap()
 * writes right in front of the inner packet (no copy).
 */
#ifndef HAIKED_ESP_BATCH_H
#define HAIKED_ESP_BATCH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <ike/ctx.h>

#include "esp_sa.h"
#include "esp_tun.h"

/* Packets per syscall: bounds how long one source holds the loop too. */
#define ESP_BATCH          64
#define ESP_BATCH_BUF      (ESP_TUN_MTU + ESP_OVERHEAD_MAX + 64)
#define ESP_BATCH_HEADROOM (ESP_HDR_LEN + ESP_IV_MAX)
/* Segments per GSO message: the kernel's UDP_MAX_SEGMENTS is 64 in older
 * kernels (128 in newer ones); a UDP datagram carries at most 65507 octets. */
#define ESP_BATCH_GSO_SEGS 64
#define ESP_BATCH_GSO_MAX  65000
/* Paths GSO is off for: a set-associative table (a lookup per message
 * head costs a hash and ESP_BATCH_GSO_WAYS compares, and only while the
 * table is not empty), retried after ESP_BATCH_GSO_RETRY_MS. */
#define ESP_BATCH_GSO_SETS     64
#define ESP_BATCH_GSO_WAYS     4
#define ESP_BATCH_GSO_RETRY_MS (10u * 60u * 1000u)

union esp_batch_cmsg {
    char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
};

union esp_batch_sa {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

/* One path the kernel refused GSO on (at_ms 0: a free entry). */
struct esp_batch_gso_off {
    uint64_t at_ms; /* CLOCK_MONOTONIC of the refusal */
    int fd;
    bool src_set;
    uint8_t src[16];
    union esp_batch_sa to;
    socklen_t to_len;
};

/* Where one queued packet goes. */
struct esp_batch_dst {
    int fd;
    bool udp;              /* ESP-in-UDP: may join a GSO run */
    bool src_set;          /* src goes in a PKTINFO cmsg */
    struct ike_addr src;   /* port unused */
    union esp_batch_sa to; /* destination (port 0 for raw ESP) */
    socklen_t to_len;
    const uint8_t *pkt;
    size_t len;
    void *tag, *aux; /* the sender's cookies, handed back to done() */
};

/* done(arg, tag, aux, octets, err): the verdict on one queued packet
 * (err 0: sent, else -errno: dropped, not retried: ESP over IP is
 * unreliable anyway). */
typedef void (*esp_batch_done_fn)(void *arg, void *tag, void *aux, size_t octets, int err);

struct esp_batch {
    size_t n; /* queued to send / received */
    struct esp_batch_dst dst[ESP_BATCH];
    /* GSO: on unless switched off (HAIKED_UDP_GSO=0); per path until the
     * kernel refuses it (see above) */
    bool gso;
    uint64_t gso_refused;   /* runs the kernel refused (their path then off) */
    uint64_t gso_evictions; /* refused paths pushed out of a full set */
    uint64_t gso_msgs;      /* messages sent with UDP_SEGMENT */
    uint64_t sendmmsg_calls;
    uint32_t gso_retry_ms; /* how long a refused path stays off */
    size_t gso_off_n;      /* entries in use (some may have expired) */
    uint64_t now_ms;       /* the flush's clock, read when first needed (0: not yet) */
    struct esp_batch_gso_off gso_off[ESP_BATCH_GSO_SETS][ESP_BATCH_GSO_WAYS];
    /* per flush: the messages, their slots in send order */
    struct mmsghdr msg[ESP_BATCH];
    struct iovec iov[ESP_BATCH];
    size_t first[ESP_BATCH]; /* msg m: order[first[m]] .. + iov count */
    size_t order[ESP_BATCH];
    union esp_batch_cmsg cm[ESP_BATCH];
    uint8_t buf[ESP_BATCH][ESP_BATCH_BUF];
};

/* Empties b; gso: try UDP GSO for ESP-in-UDP. */
void esp_batch_init(struct esp_batch *b, bool gso);

/* Where a TUN read of slot i goes, and how much it may take. */
static inline uint8_t *esp_batch_inner(struct esp_batch *b, size_t i)
{
    return b->buf[i] + ESP_BATCH_HEADROOM;
}
#define ESP_BATCH_INNER_MAX (ESP_BATCH_BUF - ESP_BATCH_HEADROOM - ESP_OVERHEAD_MAX)

/* Queues pkt (normally inside b->buf[b->n], but any buffer that lives
 * until the flush will do) as slot b->n, to leave on fd for dst (port 0
 * for raw ESP) from src (NULL: the socket's own address). udp: ESP-in-UDP,
 * may be segmented by GSO. The caller flushes when b->n == ESP_BATCH. */
void esp_batch_queue(struct esp_batch *b, int fd, bool udp, const uint8_t *pkt, size_t len,
                     const struct ike_addr *src, const struct ike_addr *dst, void *tag, void *aux);

/* Sends the queue (one sendmmsg() per socket, more only when the kernel
 * takes part of it) and empties it; done() for every queued packet, in
 * queue order per socket. */
void esp_batch_flush(struct esp_batch *b, esp_batch_done_fn done, void *arg);

/* Whether GSO is off for the path fd, src (NULL: none given) -> dst
 * because the kernel refused it there (and the retry time has not
 * passed). For tests and diagnostics. */
bool esp_batch_gso_path_off(struct esp_batch *b, int fd, const struct ike_addr *src,
                            const struct ike_addr *dst);
/* How many paths GSO is off for now (hactl). */
size_t esp_batch_gso_paths_off(struct esp_batch *b);

/* Receives up to ESP_BATCH datagrams into the buffers: the count (b->n,
 * lengths in b->msg[i].msg_len), or -errno (-EAGAIN: none waiting). */
int esp_batch_recv(struct esp_batch *b, int fd);

#endif
