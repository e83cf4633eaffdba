/* Batched ESP socket I/O, with UDP GSO for ESP-in-UDP (see esp_batch.h). */
#include "esp_batch.h"

#include <errno.h>
#include <netinet/udp.h>
#include <string.h>
#include <time.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h; older libcs lack it */
#endif

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

void esp_batch_init(struct esp_batch *b, bool gso)
{
    b->n = 0;
    b->gso = gso;
    b->gso_refused = b->gso_evictions = b->gso_msgs = b->sendmmsg_calls = 0;
    b->gso_retry_ms = ESP_BATCH_GSO_RETRY_MS;
    b->gso_off_n = 0;
    b->now_ms = 0;
    memset(b->gso_off, 0, sizeof(b->gso_off));
}

/* ---- paths GSO is off for ------------------------------------------------- */

static uint64_t now_of(struct esp_batch *b)
{
    if (!b->now_ms) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        b->now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + 1;
    }
    return b->now_ms;
}

/* The key of d's path as a table entry would hold it (at_ms aside). */
static void path_key(const struct esp_batch_dst *d, struct esp_batch_gso_off *k)
{
    memset(k, 0, sizeof(*k));
    k->fd = d->fd;
    k->src_set = d->src_set;
    if (d->src_set)
        memcpy(k->src, d->src.addr, sizeof(k->src));
    k->to = d->to;
    k->to_len = d->to_len;
}

static bool path_equal(const struct esp_batch_gso_off *a, const struct esp_batch_gso_off *k)
{
    return a->fd == k->fd && a->src_set == k->src_set && a->to_len == k->to_len &&
           !memcmp(a->src, k->src, sizeof(a->src)) && !memcmp(&a->to, &k->to, k->to_len);
}

/* FNV-1a over the key: which set the path lives in. */
static struct esp_batch_gso_off *path_set(struct esp_batch *b, const struct esp_batch_gso_off *k)
{
    uint32_t h = 2166136261u;
    const uint8_t *parts[] = {(const uint8_t *)&k->fd, k->src, (const uint8_t *)&k->to};
    size_t lens[] = {sizeof(k->fd), k->src_set ? sizeof(k->src) : 0, k->to_len};
    for (size_t p = 0; p < 3; p++)
        for (size_t i = 0; i < lens[p]; i++)
            h = (h ^ parts[p][i]) * 16777619u;
    return b->gso_off[h % ESP_BATCH_GSO_SETS];
}

static bool expired(const struct esp_batch *b, const struct esp_batch_gso_off *e, uint64_t now)
{
    return now - e->at_ms >= b->gso_retry_ms;
}

/* Whether the kernel refused GSO on d's path (an expired entry is
 * freed: the path gets GSO again). */
static bool gso_off_for(struct esp_batch *b, const struct esp_batch_dst *d)
{
    if (!b->gso_off_n)
        return false;
    struct esp_batch_gso_off k;
    path_key(d, &k);
    struct esp_batch_gso_off *set = path_set(b, &k);
    for (size_t w = 0; w < ESP_BATCH_GSO_WAYS; w++) {
        struct esp_batch_gso_off *e = &set[w];
        if (!e->at_ms || !path_equal(e, &k))
            continue;
        if (!expired(b, e, now_of(b)))
            return true;
        e->at_ms = 0;
        b->gso_off_n--;
        return false;
    }
    return false;
}

/* d's path refused GSO: into its set, over a free or expired entry, else
 * over the oldest. */
static void gso_refuse(struct esp_batch *b, const struct esp_batch_dst *d)
{
    struct esp_batch_gso_off k;
    path_key(d, &k);
    struct esp_batch_gso_off *set = path_set(b, &k), *slot = NULL;
    uint64_t now = now_of(b);
    for (size_t w = 0; w < ESP_BATCH_GSO_WAYS && !slot; w++)
        if (!set[w].at_ms || path_equal(&set[w], &k))
            slot = &set[w];
    for (size_t w = 0; w < ESP_BATCH_GSO_WAYS && !slot; w++)
        if (expired(b, &set[w], now))
            slot = &set[w];
    if (!slot) {
        slot = &set[0];
        for (size_t w = 1; w < ESP_BATCH_GSO_WAYS; w++)
            if (set[w].at_ms < slot->at_ms)
                slot = &set[w];
        b->gso_evictions++;
    }
    if (!slot->at_ms)
        b->gso_off_n++;
    k.at_ms = now;
    *slot = k;
}

bool esp_batch_gso_path_off(struct esp_batch *b, int fd, const struct ike_addr *src,
                            const struct ike_addr *dst)
{
    struct esp_batch_dst d = {.fd = fd, .src_set = src != NULL};
    if (src) {
        d.src = *src;
        d.src.port = 0;
    }
    d.to_len = to_sockaddr(dst, &d.to);
    b->now_ms = 0;
    return gso_off_for(b, &d);
}

size_t esp_batch_gso_paths_off(struct esp_batch *b)
{
    size_t n = 0;
    b->now_ms = 0;
    uint64_t now = now_of(b);
    for (size_t s = 0; s < ESP_BATCH_GSO_SETS; s++)
        for (size_t w = 0; w < ESP_BATCH_GSO_WAYS; w++)
            if (b->gso_off[s][w].at_ms && !expired(b, &b->gso_off[s][w], now))
                n++;
    return n;
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

/* One control message at cm (level, type, len octets of data); *used
 * grows by its space. The next header (NULL past the buffer). */
static struct cmsghdr *put_cmsg(struct msghdr *mh, struct cmsghdr *cm, int level, int type,
                                const void *data, size_t len, size_t *used)
{
    cm->cmsg_level = level;
    cm->cmsg_type = type;
    cm->cmsg_len = CMSG_LEN(len);
    memcpy(CMSG_DATA(cm), data, len);
    *used += CMSG_SPACE(len);
    return CMSG_NXTHDR(mh, cm);
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
        cm = put_cmsg(mh, cm, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi), &used);
    } else if (d->src_set) {
        struct in6_pktinfo pi6 = {0};
        memcpy(&pi6.ipi6_addr, d->src.addr, 16);
        cm = put_cmsg(mh, cm, IPPROTO_IPV6, IPV6_PKTINFO, &pi6, sizeof(pi6), &used);
    }
    if (seg) {
        uint16_t size = (uint16_t)d->len; /* every segment but the last */
        (void)put_cmsg(mh, cm, IPPROTO_UDP, UDP_SEGMENT, &size, sizeof(size), &used);
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
static size_t build(struct esp_batch *b, int fd, bool taken[ESP_BATCH], bool gso)
{
    size_t m = 0, k = 0;
    size_t slot[ESP_BATCH], msg[ESP_BATCH]; /* per packet taken: its slot, its message */
    size_t segs[ESP_BATCH], total[ESP_BATCH], head[ESP_BATCH]; /* per message */
    bool closed[ESP_BATCH], gso_ok[ESP_BATCH];
    for (size_t i = 0; i < b->n; i++) {
        const struct esp_batch_dst *d = &b->dst[i];
        if (taken[i] || d->fd != fd)
            continue;
        taken[i] = true;
        size_t j = m;
        if (gso && d->udp) {
            while (j > 0 && !same_path(&b->dst[head[j - 1]], d))
                j--;
            if (j > 0) {
                const struct esp_batch_dst *h = &b->dst[head[j - 1]];
                bool fits = gso_ok[j - 1] && !closed[j - 1] && d->len <= h->len &&
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
            /* once per message: later packets of its path only join it */
            gso_ok[m] = gso && d->udp && !gso_off_for(b, d);
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
    /* Refusals of this call: each records its path, so a path is refused
     * once per flush, unless a full table set evicts it again within the
     * flush; past ESP_BATCH refusals (more than there are messages) the
     * rest goes without GSO, so that cannot go on forever. */
    size_t refusals = 0;
    size_t m = build(b, fd, taken, b->gso), s = 0;
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
            /* the kernel will not segment for this path: off for it,
             * and what is left goes again (the refused run as single
             * datagrams, other paths still in runs) */
            gso_refuse(b, &b->dst[b->order[b->first[s]]]);
            b->gso_refused++;
            refusals++;
            for (size_t j = s; j < m; j++)
                for (size_t k = b->first[j]; k < b->first[j] + b->msg[j].msg_hdr.msg_iovlen; k++)
                    taken[b->order[k]] = false;
            m = build(b, fd, taken, b->gso && refusals <= ESP_BATCH);
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
    b->now_ms = 0; /* read once per flush, if a path lookup needs it */
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
