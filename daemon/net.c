/* UDP 500/4500 sockets on the event loop (see net.h). */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>
#include <linux/xfrm.h> /* after netinet/in.h: its in6 definitions win */

void net_init(struct net *net, struct event_base *base, const struct net_handlers *h,
              const char *netns)
{
    memset(net, 0, sizeof(*net));
    net->base = base;
    net->h = *h;
    snprintf(net->netns, sizeof(net->netns), "%s", netns ? netns : "");
}

void net_close(struct net *net)
{
    for (size_t i = 0; i < net->n_socks; i++) {
        if (net->socks[i].ev)
            event_free(net->socks[i].ev);
        close(net->socks[i].fd);
    }
    net->n_socks = 0;
}

int net_socket_netns(const char *ns, int domain, int type, int protocol)
{
    if (!ns || !ns[0]) {
        int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
        return fd < 0 ? -errno : fd;
    }
    if (strchr(ns, '/'))
        return -EINVAL;
    char path[32 + NET_NETNS_MAX];
    snprintf(path, sizeof(path), "/run/netns/%s", ns);
    int ret;
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return -errno;
    int target = open(path, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
        ret = -errno;
        goto out_self;
    }
    if (setns(target, CLONE_NEWNET) < 0) {
        ret = -errno;
        goto out_target;
    }
    ret = socket(domain, type | SOCK_CLOEXEC, protocol);
    if (ret < 0)
        ret = -errno;
    /* Going back cannot fail for a namespace we came from; if it did, the
     * daemon would run in the wrong namespace: refuse to continue. */
    if (setns(self, CLONE_NEWNET) < 0) {
        perror("haiked: setns back to the daemon's namespace");
        _exit(70);
    }
out_target:
    close(target);
out_self:
    close(self);
    return ret;
}

static void on_readable(evutil_socket_t fd, short what, void *arg);

static struct net_sock *find_sock(struct net *net, const struct ike_addr *a)
{
    for (size_t i = 0; i < net->n_socks; i++) {
        struct net_sock *s = &net->socks[i];
        if (s->bound.port == a->port && net_addr_same_host(&s->bound, a))
            return s;
    }
    return NULL;
}

static int set_opts(int fd, int family)
{
    int one = 1;
    if (family == IKE_AF_INET)
        return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
        return -1;
    return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
}

static int set_freebind(int fd, int family)
{
    int one = 1;
    if (family == IKE_AF_INET)
        return setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
    return setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
}

/* The kernel data plane: ESP-in-UDP arriving on 4500 goes to XFRM (IKE,
 * behind the non-ESP marker, and keepalives still reach us), and IKE
 * itself bypasses the IPsec policies whatever their selectors cover. */
static int kernel_esp_opts(int fd, const struct ike_addr *a)
{
    if (a->port == IKE_PORT_NATT) {
        int type = UDP_ENCAP_ESPINUDP;
        if (setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof(type)) < 0)
            return -1;
    }
    int level = a->family == IKE_AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    int opt = a->family == IKE_AF_INET ? IP_XFRM_POLICY : IPV6_XFRM_POLICY;
    static const int dirs[] = {XFRM_POLICY_IN, XFRM_POLICY_OUT};
    for (size_t i = 0; i < 2; i++) {
        struct xfrm_userpolicy_info pol;
        memset(&pol, 0, sizeof(pol));
        pol.sel.family = a->family == IKE_AF_INET ? AF_INET : AF_INET6;
        pol.dir = (uint8_t)dirs[i];
        pol.action = XFRM_POLICY_ALLOW; /* a socket policy without templates: bypass */
        pol.lft.soft_byte_limit = pol.lft.hard_byte_limit = XFRM_INF;
        pol.lft.soft_packet_limit = pol.lft.hard_packet_limit = XFRM_INF;
        if (setsockopt(fd, level, opt, &pol, sizeof(pol)) < 0)
            return -1;
    }
    return 0;
}

/* Larger buffers for every IKE/NAT-T socket: 4500 carries ESP-in-UDP
 * bursts, and port 500 takes the answers of thousands of peers at once
 * (the Deletes at shutdown overflowed the default 212 KB:
 * tests/bench/gw_shutdown.sh). Best effort: the forced variants need
 * CAP_NET_ADMIN, the plain ones stop at the sysctl maxima. */
static void natt_bufs(int fd)
{
    int sz = NET_NATT_SOCKBUF;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

static int open_one(struct net *net, const struct ike_addr *a, char *err, size_t errlen)
{
    char as[IKE_ADDR_STR_MAX];
    ike_addr_str(a, as, sizeof(as));
    if (net->n_socks == NET_MAX_SOCKS) {
        snprintf(err, errlen, "%s: more than %d sockets", as, NET_MAX_SOCKS);
        return -ENOSPC;
    }
    int domain = a->family == IKE_AF_INET ? AF_INET : AF_INET6;
    int fd = net_socket_netns(net->netns, domain, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDP);
    if (fd < 0) {
        snprintf(err, errlen, "socket for %s%s%s: %s", as, net->netns[0] ? " in netns " : "",
                 net->netns, strerror(-fd));
        return fd;
    }
    struct sockaddr_storage ss;
    socklen_t sl = (socklen_t)net_addr_to_sockaddr(a, &ss);
    if (net->esp_in_kernel && kernel_esp_opts(fd, a) < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: ESP-in-UDP/XFRM bypass for the kernel data plane: %s", as,
                 strerror(e));
        close(fd);
        return -e;
    }
    if (net->freebind && set_freebind(fd, a->family) < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: IP_FREEBIND for a VIP: %s", as, strerror(e));
        close(fd);
        return -e;
    }
    natt_bufs(fd);
    if (set_opts(fd, a->family) < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        int e = errno;
        snprintf(err, errlen, "bind %s: %s", as, strerror(e));
        close(fd);
        return -e;
    }
    struct net_sock *s = &net->socks[net->n_socks];
    s->fd = fd;
    s->bound = *a;
    s->net = net;
    s->ev = event_new(net->base, fd, EV_READ | EV_PERSIST, on_readable, s);
    if (!s->ev || event_add(s->ev, NULL) < 0) {
        snprintf(err, errlen, "%s: cannot add to the event loop", as);
        if (s->ev)
            event_free(s->ev);
        close(fd);
        return -ENOMEM;
    }
    net->n_socks++;
    return 0;
}

int net_listen(struct net *net, const struct ike_addr *addr, char *err, size_t errlen)
{
    static const uint16_t ports[] = {IKE_PORT, IKE_PORT_NATT};
    for (size_t i = 0; i < 2; i++) {
        struct ike_addr a = *addr;
        a.port = ports[i];
        if (find_sock(net, &a))
            continue;
        int r = open_one(net, &a, err, errlen);
        if (r < 0)
            return r;
    }
    return 0;
}

/* The socket to send from local: bound exactly there, else the wildcard
 * of that family and port (the source then goes in a PKTINFO cmsg). */
static struct net_sock *sock_for(struct net *net, const struct ike_addr *local, bool *wildcard)
{
    struct net_sock *s = find_sock(net, local);
    *wildcard = false;
    if (s)
        return s;
    for (size_t i = 0; i < net->n_socks; i++) {
        s = &net->socks[i];
        if (s->bound.family == local->family && s->bound.port == local->port &&
            net_addr_is_any(&s->bound)) {
            *wildcard = !net_addr_is_any(local);
            return s;
        }
    }
    return NULL;
}

static size_t put_pktinfo(struct msghdr *mh, char *cbuf, size_t cbuf_len,
                          const struct ike_addr *local)
{
    mh->msg_control = cbuf;
    mh->msg_controllen = cbuf_len;
    struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
    if (local->family == IKE_AF_INET) {
        struct in_pktinfo pi = {0};
        memcpy(&pi.ipi_spec_dst, local->addr, 4);
        cm->cmsg_level = IPPROTO_IP;
        cm->cmsg_type = IP_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
        return CMSG_SPACE(sizeof(pi));
    }
    struct in6_pktinfo pi6 = {0};
    memcpy(&pi6.ipi6_addr, local->addr, 16);
    cm->cmsg_level = IPPROTO_IPV6;
    cm->cmsg_type = IPV6_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(pi6));
    memcpy(CMSG_DATA(cm), &pi6, sizeof(pi6));
    return CMSG_SPACE(sizeof(pi6));
}

static int send_iov(struct net *net, const struct ike_addr *local, const struct ike_addr *remote,
                    struct iovec *iov, size_t n_iov)
{
    bool wildcard;
    struct net_sock *s = sock_for(net, local, &wildcard);
    if (!s) {
        net->ctr.send_errors++;
        return -EADDRNOTAVAIL;
    }
    struct sockaddr_storage to;
    struct msghdr mh = {0};
    char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))] __attribute__((aligned(8))) = {0};
    mh.msg_name = &to;
    mh.msg_namelen = (socklen_t)net_addr_to_sockaddr(remote, &to);
    mh.msg_iov = iov;
    mh.msg_iovlen = n_iov;
    if (wildcard)
        mh.msg_controllen = put_pktinfo(&mh, cbuf, sizeof(cbuf), local);
    ssize_t n = sendmsg(s->fd, &mh, 0);
    if (n < 0) {
        net->ctr.send_errors++;
        return -errno;
    }
    net->ctr.dgrams_out++;
    net->ctr.bytes_out += (uint64_t)n;
    return 0;
}

int net_send_ike(struct net *net, const struct ike_addr *local, const struct ike_addr *remote,
                 const uint8_t *data, size_t len)
{
    static const uint8_t marker[4] = {0, 0, 0, 0};
    struct iovec iov[2] = {{(void *)marker, sizeof(marker)}, {(void *)data, len}};
    int r = local->port == IKE_PORT_NATT ? send_iov(net, local, remote, iov, 2)
                                         : send_iov(net, local, remote, iov + 1, 1);
    if (r == 0)
        net->ctr.ike_out++;
    return r;
}

int net_send_esp(struct net *net, const struct ike_addr *local, const struct ike_addr *remote,
                 const uint8_t *data, size_t len)
{
    struct iovec iov = {(void *)data, len};
    int r = send_iov(net, local, remote, &iov, 1);
    if (r == 0)
        net->ctr.esp_out++;
    return r;
}

int net_esp_sock(struct net *net, const struct ike_addr *local, bool *pktinfo)
{
    struct net_sock *s = sock_for(net, local, pktinfo);
    if (!s) {
        net->ctr.send_errors++;
        return -EADDRNOTAVAIL;
    }
    return s->fd;
}

void net_esp_sent(struct net *net, size_t octets, int err)
{
    if (err) {
        net->ctr.send_errors++;
        return;
    }
    net->ctr.dgrams_out++;
    net->ctr.bytes_out += octets;
    net->ctr.esp_out++;
}

int net_send_keepalive(struct net *net, const struct ike_addr *local,
                       const struct ike_addr *remote)
{
    static const uint8_t ka = 0xff;
    struct iovec iov = {(void *)&ka, 1};
    int r = send_iov(net, local, remote, &iov, 1);
    if (r == 0)
        net->ctr.keepalives_out++;
    return r;
}

/* The local address from the PKTINFO cmsg (else the bound one). */
static void local_from_cmsg(struct msghdr *mh, const struct net_sock *s, struct ike_addr *local)
{
    *local = s->bound;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
            memcpy(local->addr, &pi.ipi_addr, 4);
        } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi6;
            memcpy(&pi6, CMSG_DATA(cm), sizeof(pi6));
            memcpy(local->addr, &pi6.ipi6_addr, 16);
        }
    }
}

static void drop(struct net *net, enum gw_drop_reason why, size_t len,
                 const struct ike_addr *local, const struct ike_addr *remote)
{
    net->ctr.dropped[why]++;
    if (net->h.dropped)
        net->h.dropped(net->h.arg, why, len, local, remote);
}

/* Ends a run of ESP handed on (see net_handlers.esp_done). */
static void esp_run_end(struct net *net, bool *esp_run)
{
    if (*esp_run && net->h.esp_done)
        net->h.esp_done(net->h.arg);
    *esp_run = false;
}

/* len is the datagram's length; buf holds it unless trunc. *esp_run: ESP
 * of this batch was handed on and not yet ended. */
static void deliver(struct net *net, const struct net_sock *s, const uint8_t *buf, size_t len,
                    bool trunc, const struct ike_addr *local, const struct ike_addr *remote,
                    bool *esp_run)
{
    net->ctr.dgrams_in++;
    net->ctr.bytes_in += len;
    size_t off = 0;
    enum net_class cls = trunc ? NET_CLASS_TRUNCATED : net_classify(s->bound.port, buf, len, &off);
    if (cls != NET_CLASS_ESP)
        esp_run_end(net, esp_run); /* what came before is written first */
    if (trunc) {
        drop(net, GW_DROP_OVERSIZED, len, local, remote);
        return;
    }
    switch (cls) {
    case NET_CLASS_IKE:
        net->ctr.ike_in++;
        net->h.ike(net->h.arg, buf + off, len - off, local, remote);
        break;
    case NET_CLASS_ESP:
        net->ctr.esp_in++;
        net->h.esp(net->h.arg, buf, len, local, remote);
        *esp_run = true;
        break;
    case NET_CLASS_KEEPALIVE:
        net->ctr.keepalives_in++;
        break;
    case NET_CLASS_TRUNCATED:
        drop(net, GW_DROP_TRUNCATED, len, local, remote);
        break;
    }
}

/* One receive batch for every socket (the loop runs one handler at a
 * time, and handlers copy what they keep): allocated once. */
static struct {
    struct mmsghdr msg[NET_RX_BATCH];
    struct iovec iov[NET_RX_BATCH];
    struct sockaddr_storage from[NET_RX_BATCH];
    char cbuf[NET_RX_BATCH][128] __attribute__((aligned(8)));
    uint8_t buf[NET_RX_BATCH][NET_MAX_DGRAM];
} rx;

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct net_sock *s = arg;
    struct net *net = s->net;
    /* Bounded batch: other sockets and timers get their turn. */
    for (size_t i = 0; i < NET_RX_BATCH; i++) {
        rx.iov[i] = (struct iovec){rx.buf[i], sizeof(rx.buf[i])};
        rx.msg[i].msg_hdr = (struct msghdr){.msg_name = &rx.from[i],
                                            .msg_namelen = sizeof(rx.from[i]),
                                            .msg_iov = &rx.iov[i],
                                            .msg_iovlen = 1,
                                            .msg_control = rx.cbuf[i],
                                            .msg_controllen = sizeof(rx.cbuf[i])};
        rx.msg[i].msg_len = 0;
    }
    int n;
    do /* MSG_TRUNC: msg_len is the datagram's real length */
        n = recvmmsg(fd, rx.msg, NET_RX_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            net->ctr.recv_errors++;
        return;
    }
    bool esp_run = false;
    for (int i = 0; i < n; i++) {
        struct msghdr *mh = &rx.msg[i].msg_hdr;
        size_t len = rx.msg[i].msg_len;
        struct ike_addr local, remote;
        net_addr_from_sockaddr(&remote, &rx.from[i]);
        local_from_cmsg(mh, s, &local);
        bool trunc = len > sizeof(rx.buf[i]) || (mh->msg_flags & MSG_TRUNC);
        deliver(net, s, rx.buf[i], len, trunc, &local, &remote, &esp_run);
    }
    esp_run_end(net, &esp_run);
}
