/* Batched ESP socket I/O, with UDP GSO for ESP-in-UDP (see esp_batch.h). */
#include "esp_batch.h"

#include <errno.h>
#include <netinet/udp.h>
#include <string.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h; older libcs lack it */
#endif

void esp_batch_init(struct esp_batch *b, bool gso)
{
    b->n = 0;
    b->gso = gso;
    b->gso_refused = b->gso_msgs = b->sendmmsg_calls = 0;
}

static socklen_t to_sockaddr(const struct ike_addr *a, union esp_batch_sa *sa)
{
    memset(sa, 0, sizeof(*sa));
    if (a->family == IKE_AF_INET) {
        sa->in.sin_family = AF_INET;
        sa->in.sin_port = htons(a->port);
        memcpy(&sa->in.sin_addr, a->addr, 4);
        return sizeof(sa->in);
    }
    sa->in6.sin6_family = AF_INET6;
    sa->in6.sin6_port = htons(a->port);
    memcpy(&sa->in6.sin6_addr, a->addr, 16);
    return sizeof(sa->in6);
}

void esp_batch_queue(struct esp_batch *b, int fd, bool udp, const uint8_t *pkt, size_t len,
                     const struct ike_addr *src, const struct ike_addr *dst, void *tag, void *aux)
{
    struct esp_batch_dst *d = &b->dst[b->n++];
    d->fd = fd;
    d->udp = udp;
    d->src_set = src != NULL;
    if (src) {
        d->src = *src;
        d->src.port = 0;
    }
    d->to_len = to_sockaddr(dst, &d->to);
    d->pkt = pkt;
    d->len = len;
    d->tag = tag;
    d->aux = aux;
}

static bool same_path(const struct esp_batch_dst *a, const struct esp_batch_dst *b)
{
    if (a->to_len != b->to_len || memcmp(&a->to, &b->to, a->to_len) != 0 ||
        a->src_set != b->src_set)
        return false;
    return !a->src_set || (a->src.family == b->src.family &&
                           memcmp(a->src.addr, b->src.addr, sizeof(a->src.addr)) == 0);
}

/* The control messages of message m, whose first slot is d: the source
 * (PKTINFO) if set, the segment size if it carries more than one. */
static void put_cmsgs(struct esp_batch *b, size_t m, const struct esp_batch_dst *d)
{
    struct msghdr *mh = &b->msg[m].msg_hdr;
    bool seg = mh->msg_iovlen > 1;
    if (!d->src_set && !seg) {
        mh->msg_control = NULL;
        mh->msg_controllen = 0;
        return;
    }
    memset(&b->cm[m], 0, sizeof(b->cm[m]));
    mh->msg_control = b->cm[m].buf;
    mh->msg_controllen = sizeof(b->cm[m].buf);
    struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
    size_t used = 0;
    if (d->src_set && d->src.family == IKE_AF_INET) {
        struct in_pktinfo pi = {0};
        memcpy(&pi.ipi_spec_dst, d->src.addr, 4);
        cm->cmsg_level = IPPROTO_IP;
        cm->cmsg_type = IP_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
        used += CMSG_SPACE(sizeof(pi));
        cm = CMSG_NXTHDR(mh, cm);
    } else if (d->src_set) {
        struct in6_pktinfo pi6 = {0};
        memcpy(&pi6.ipi6_addr, d->src.addr, 16);
        cm->cmsg_level = IPPROTO_IPV6;
        cm->cmsg_type = IPV6_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(pi6));
        memcpy(CMSG_DATA(cm), &pi6, sizeof(pi6));
        used += CMSG_SPACE(sizeof(pi6));
        cm = CMSG_NXTHDR(mh, cm);
    }
    if (seg) {
        uint16_t size = (uint16_t)d->len; /* every segment but the last */
        cm->cmsg_level = IPPROTO_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(size));
        memcpy(CMSG_DATA(cm), &size, sizeof(size));
        used += CMSG_SPACE(sizeof(size));
    }
    mh->msg_controllen = used;
}

/* The messages for every packet of fd not yet taken: their count. A
 * message is one datagram, or with GSO a run of ESP-in-UDP to one path:
 * a packet joins the latest message to its path when that one's first
 * packet is not shorter, no shorter packet has ended it, and it stays
 * within the kernel's segment and size limits. Messages are in the order
 * of their first packets and the packets of one path stay in queue order
 * (the kernel sends a sendmmsg's messages in order): only packets to
 * different paths pass each other. */
static size_t build(struct esp_batch *b, int fd, bool taken[ESP_BATCH])
{
    size_t m = 0, k = 0;
    size_t slot[ESP_BATCH], msg[ESP_BATCH]; /* per packet taken: its slot, its message */
    size_t segs[ESP_BATCH], total[ESP_BATCH], head[ESP_BATCH]; /* per message */
    bool closed[ESP_BATCH];
    for (size_t i = 0; i < b->n; i++) {
        const struct esp_batch_dst *d = &b->dst[i];
        if (taken[i] || d->fd != fd)
            continue;
        taken[i] = true;
        size_t j = m;
        if (b->gso && d->udp) {
            while (j > 0 && !same_path(&b->dst[head[j - 1]], d))
                j--;
            if (j > 0) {
                const struct esp_batch_dst *h = &b->dst[head[j - 1]];
                bool fits = h->udp && !closed[j - 1] && d->len <= h->len &&
                            segs[j - 1] < ESP_BATCH_GSO_SEGS &&
                            total[j - 1] + d->len <= ESP_BATCH_GSO_MAX;
                j = fits ? j - 1 : m;
            } else {
                j = m;
            }
        }
        if (j == m) {
            head[m] = i;
            segs[m] = total[m] = 0;
            closed[m] = false;
            m++;
        }
        slot[k] = i;
        msg[k++] = j;
        segs[j]++;
        total[j] += d->len;
        closed[j] = d->len < b->dst[head[j]].len;
    }
    /* lay the packets out message by message */
    size_t fill[ESP_BATCH];
    for (size_t j = 0, at = 0; j < m; j++) {
        b->first[j] = fill[j] = at;
        at += segs[j];
    }
    for (size_t x = 0; x < k; x++) {
        size_t at = fill[msg[x]]++;
        const struct esp_batch_dst *d = &b->dst[slot[x]];
        b->order[at] = slot[x];
        b->iov[at] = (struct iovec){(void *)d->pkt, d->len};
    }
    for (size_t j = 0; j < m; j++) {
        const struct esp_batch_dst *d = &b->dst[head[j]];
        b->msg[j].msg_len = 0;
        b->msg[j].msg_hdr = (struct msghdr){.msg_name = (void *)&d->to,
                                            .msg_namelen = d->to_len,
                                            .msg_iov = &b->iov[b->first[j]],
                                            .msg_iovlen = segs[j]};
        put_cmsgs(b, j, d);
    }
    return m;
}

/* done() for every packet of message m. */
static void done_msg(struct esp_batch *b, size_t m, int err, esp_batch_done_fn done, void *arg)
{
    size_t k0 = b->first[m], nk = b->msg[m].msg_hdr.msg_iovlen;
    for (size_t k = k0; k < k0 + nk; k++) {
        const struct esp_batch_dst *d = &b->dst[b->order[k]];
        done(arg, d->tag, d->aux, d->len, err);
    }
}

/* Sends every packet queued for fd (taken[] marks what has gone). */
static void send_fd(struct esp_batch *b, int fd, bool taken[ESP_BATCH], esp_batch_done_fn done,
                    void *arg)
{
    size_t m = build(b, fd, taken), s = 0;
    while (s < m) {
        b->sendmmsg_calls++;
        int r = sendmmsg(fd, b->msg + s, (unsigned)(m - s), 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r > 0) {
            for (size_t j = s; j < s + (size_t)r; j++) {
                if (b->msg[j].msg_hdr.msg_iovlen > 1)
                    b->gso_msgs++;
                done_msg(b, j, 0, done, arg);
            }
            s += (size_t)r;
            continue;
        }
        int err = r < 0 ? -errno : -EIO;
        if (b->msg[s].msg_hdr.msg_iovlen > 1 &&
            (err == -EIO || err == -EINVAL || err == -EMSGSIZE)) {
            /* the kernel will not segment for us: off for good, and
             * what is left goes again as single datagrams */
            b->gso = false;
            b->gso_refused++;
            for (size_t j = s; j < m; j++)
                for (size_t k = b->first[j]; k < b->first[j] + b->msg[j].msg_hdr.msg_iovlen; k++)
                    taken[b->order[k]] = false;
            m = build(b, fd, taken);
            s = 0;
            continue;
        }
        /* the kernel refused b->msg[s]: drop it, go on with the rest */
        done_msg(b, s, err, done, arg);
        s++;
    }
}

void esp_batch_flush(struct esp_batch *b, esp_batch_done_fn done, void *arg)
{
    bool taken[ESP_BATCH] = {false};
    for (size_t i = 0; i < b->n; i++)
        if (!taken[i])
            send_fd(b, b->dst[i].fd, taken, done, arg);
    b->n = 0;
}

int esp_batch_recv(struct esp_batch *b, int fd)
{
    for (size_t i = 0; i < ESP_BATCH; i++) {
        b->iov[i] = (struct iovec){b->buf[i], sizeof(b->buf[i])};
        b->msg[i].msg_hdr = (struct msghdr){.msg_iov = &b->iov[i], .msg_iovlen = 1};
        b->msg[i].msg_len = 0;
    }
    int r;
    do
        r = recvmmsg(fd, b->msg, ESP_BATCH, MSG_DONTWAIT, NULL);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        b->n = 0;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    b->n = (size_t)r;
    return r;
}
