/* Batched raw ESP socket I/O (see esp_batch.h). */
#include "esp_batch.h"

#include <errno.h>
#include <string.h>

void esp_batch_queue_v4(struct esp_batch *b, const uint8_t *pkt, size_t len, const uint8_t src[4],
                        const uint8_t dst[4], void *tag)
{
    size_t i = b->n++;
    b->tag[i] = tag;
    b->to[i] = (struct sockaddr_in){.sin_family = AF_INET};
    memcpy(&b->to[i].sin_addr, dst, 4);
    b->iov[i] = (struct iovec){(void *)pkt, len};
    /* the SA's local address as source: the host may have several */
    struct in_pktinfo pi = {0};
    memcpy(&pi.ipi_spec_dst, src, 4);
    memset(&b->cm[i], 0, sizeof(b->cm[i]));
    struct msghdr *mh = &b->msg[i].msg_hdr;
    *mh = (struct msghdr){.msg_name = &b->to[i],
                          .msg_namelen = sizeof(b->to[i]),
                          .msg_iov = &b->iov[i],
                          .msg_iovlen = 1,
                          .msg_control = b->cm[i].buf,
                          .msg_controllen = sizeof(b->cm[i].buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
    b->msg[i].msg_len = 0;
}

void esp_batch_flush(struct esp_batch *b, int fd, void (*done)(void *arg, void *tag, int err),
                     void *arg)
{
    size_t i = 0;
    while (i < b->n) {
        int r = sendmmsg(fd, b->msg + i, (unsigned)(b->n - i), 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            /* the kernel refused b->msg[i]: drop it, go on with the rest */
            done(arg, b->tag[i], r < 0 ? -errno : -EIO);
            i++;
            continue;
        }
        for (int k = 0; k < r; k++)
            done(arg, b->tag[i + (size_t)k], 0);
        i += (size_t)r;
    }
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
