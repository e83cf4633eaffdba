/* TUN devices and routes for the userspace data plane (see esp_tun.h). */
#include "esp_tun.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ike/const.h>

#include "esp_ip.h"

void esp_tun_name(const char *gw, char name[IFNAMSIZ])
{
    snprintf(name, IFNAMSIZ, "hk-%s", gw);
}

int esp_tun_open(const char *name, int *ifindex, char *err, size_t errlen)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open /dev/net/tun: %s", strerror(e));
        return -e;
    }
    struct ifreq ifr = {0};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    int s = -1, e = 0;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        e = errno;
        snprintf(err, errlen, "TUNSETIFF %s: %s", name, strerror(e));
        goto fail;
    }
    /* TCP segmentation and checksums left to us (esp_gso.h): best effort,
     * without them every packet simply comes whole and checksummed */
    (void)ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6));
    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        e = errno;
        snprintf(err, errlen, "socket: %s", strerror(e));
        goto fail;
    }
    ifr.ifr_mtu = ESP_TUN_MTU;
    if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
        e = errno;
        snprintf(err, errlen, "MTU of %s: %s", name, strerror(e));
        goto fail;
    }
    /* A deeper queue than TUN's 500: fewer drops while the loop is busy
     * with the other direction (measured: ~1 % of a TCP flow at 500). */
    ifr.ifr_qlen = ESP_TUN_TXQLEN;
    if (ioctl(s, SIOCSIFTXQLEN, &ifr) < 0) {
        e = errno;
        snprintf(err, errlen, "queue length of %s: %s", name, strerror(e));
        goto fail;
    }
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
        (ifr.ifr_flags |= IFF_UP | IFF_RUNNING, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
        e = errno;
        snprintf(err, errlen, "bringing %s up: %s", name, strerror(e));
        goto fail;
    }
    if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
        e = errno;
        snprintf(err, errlen, "index of %s: %s", name, strerror(e));
        goto fail;
    }
    *ifindex = ifr.ifr_ifindex;
    close(s);
    return fd;
fail:
    if (s >= 0)
        close(s);
    close(fd);
    return -e;
}

void esp_range_prefixes(uint32_t start, uint32_t end,
                        void (*fn)(void *arg, uint32_t net, unsigned plen), void *arg)
{
    uint64_t cur = start;
    while (cur <= end) {
        /* the largest aligned block at cur that does not pass end */
        unsigned bits = 0;
        while (bits < 32 && (cur & (((uint64_t)1 << (bits + 1)) - 1)) == 0 &&
               cur + (((uint64_t)1 << (bits + 1)) - 1) <= end)
            bits++;
        fn(arg, (uint32_t)cur, 32 - bits);
        cur += (uint64_t)1 << bits;
    }
}

/* One RTM_NEWROUTE/RTM_DELROUTE, acknowledged. */
struct route_req {
    struct nlmsghdr nh;
    struct rtmsg rt;
    char attrs[128];
};

static void put_attr(struct route_req *r, unsigned short type, const void *data, size_t len)
{
    struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static int route_change(int nl, bool add, int family, const uint8_t *dst, unsigned plen,
                        int ifindex, const uint8_t *prefsrc)
{
    struct route_req r;
    memset(&r, 0, sizeof(r));
    r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
    r.nh.nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
    r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
    r.rt.rtm_family = (unsigned char)family;
    r.rt.rtm_dst_len = (unsigned char)plen;
    r.rt.rtm_table = RT_TABLE_MAIN;
    r.rt.rtm_protocol = RTPROT_STATIC;
    r.rt.rtm_scope = RT_SCOPE_LINK;
    r.rt.rtm_type = RTN_UNICAST;
    size_t alen = family == AF_INET ? 4 : 16;
    put_attr(&r, RTA_DST, dst, alen);
    uint32_t oif = (uint32_t)ifindex;
    put_attr(&r, RTA_OIF, &oif, sizeof(oif));
    if (prefsrc && add)
        put_attr(&r, RTA_PREFSRC, prefsrc, alen);
    if (send(nl, &r, r.nh.nlmsg_len, 0) < 0)
        return -errno;
    char buf[512];
    ssize_t n = recv(nl, buf, sizeof(buf), 0);
    if (n < 0)
        return -errno;
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    if (!NLMSG_OK(h, (size_t)n) || h->nlmsg_type != NLMSG_ERROR)
        return -EPROTO;
    const struct nlmsgerr *e = NLMSG_DATA(h);
    return e->error;
}

/* A host address inside one of the local TSs (for RTA_PREFSRC). */
static bool local_source(int family, const struct ike_ts_export *local, size_t n_local,
                         uint8_t out[16])
{
    struct ifaddrs *ifa = NULL, *i;
    bool found = false;
    if (getifaddrs(&ifa) < 0)
        return false;
    for (i = ifa; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != family)
            continue;
        uint8_t a[16];
        if (family == AF_INET)
            memcpy(a, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
        else
            memcpy(a, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, 16);
        for (size_t k = 0; k < n_local && !found; k++)
            if (esp_ts_match(&local[k], family == AF_INET ? 4 : 6, a, 0, 0)) {
                memcpy(out, a, 16);
                found = true;
            }
    }
    freeifaddrs(ifa);
    return found;
}

struct route_ctx {
    int nl, ifindex, err, changed;
    bool add, have_src;
    uint8_t src[16];
};

static void route_v4(void *arg, uint32_t net, unsigned plen)
{
    struct route_ctx *rc = arg;
    uint8_t dst[4] = {(uint8_t)(net >> 24), (uint8_t)(net >> 16), (uint8_t)(net >> 8),
                      (uint8_t)net};
    int r = route_change(rc->nl, rc->add, AF_INET, dst, plen, rc->ifindex,
                         rc->have_src ? rc->src : NULL);
    if (r == 0)
        rc->changed++;
    else if (!(rc->add && r == -EEXIST) && !(!rc->add && r == -ESRCH) && !rc->err)
        rc->err = r;
}

/* IPv6 ranges: only those that are one prefix (what configs produce). */
static int v6_prefix(const struct ike_ts_export *ts, unsigned *plen)
{
    unsigned p = 0;
    while (p < 128) {
        unsigned byte = p / 8, bit = 7 - p % 8;
        int s = ts->start_addr[byte] >> bit & 1, e = ts->end_addr[byte] >> bit & 1;
        if (s != e)
            break;
        p++;
    }
    for (unsigned q = p; q < 128; q++) {
        unsigned byte = q / 8, bit = 7 - q % 8;
        if ((ts->start_addr[byte] >> bit & 1) != 0 || (ts->end_addr[byte] >> bit & 1) != 1)
            return -1;
    }
    *plen = p;
    return 0;
}

int esp_tun_routes(int ifindex, bool add, const struct ike_ts_export *remote, size_t n_remote,
                   const struct ike_ts_export *local, size_t n_local, char *err, size_t errlen)
{
    int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl < 0) {
        int e = errno;
        snprintf(err, errlen, "rtnetlink: %s", strerror(e));
        return -e;
    }
    struct route_ctx rc = {.nl = nl, .ifindex = ifindex, .add = add};
    for (size_t i = 0; i < n_remote; i++) {
        const struct ike_ts_export *ts = &remote[i];
        int family = ts->type == IKE_TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6;
        rc.have_src = local_source(family, local, n_local, rc.src);
        if (family == AF_INET) {
            uint32_t s = (uint32_t)ts->start_addr[0] << 24 | (uint32_t)ts->start_addr[1] << 16 |
                         (uint32_t)ts->start_addr[2] << 8 | ts->start_addr[3];
            uint32_t e = (uint32_t)ts->end_addr[0] << 24 | (uint32_t)ts->end_addr[1] << 16 |
                         (uint32_t)ts->end_addr[2] << 8 | ts->end_addr[3];
            if (s <= e)
                esp_range_prefixes(s, e, route_v4, &rc);
            continue;
        }
        unsigned plen;
        if (v6_prefix(ts, &plen) < 0) {
            if (!rc.err)
                rc.err = -EINVAL;
            continue;
        }
        int r = route_change(nl, add, AF_INET6, ts->start_addr, plen, ifindex,
                             rc.have_src ? rc.src : NULL);
        if (r == 0)
            rc.changed++;
        else if (!(add && r == -EEXIST) && !(!add && r == -ESRCH) && !rc.err)
            rc.err = r;
    }
    close(nl);
    if (rc.err) {
        snprintf(err, errlen, "%s route via ifindex %d: %s", add ? "adding" : "deleting",
                 ifindex, strerror(-rc.err));
        return rc.err;
    }
    return rc.changed;
}
