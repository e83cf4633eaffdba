/*
 * The floating addresses of a virtual cluster (ha_role.h): added on the
 * node that masters it, removed when it stands by, each inside its VDOM's
 * network namespace, through libnl-route-3 (RTM_NEWADDR / RTM_DELADDR).
 *
 * A socket belongs to the namespace it was created in, whatever the thread
 * does later: the netlink and packet sockets are opened inside the VDOM's
 * namespace by net_socket_netns() (setns there and back, as for the IKE
 * sockets) and handed to libnl, so the daemon's thread never stays in
 * another namespace.
 *
 * After adding, neighbours must learn the new owner: IPv4 gets gratuitous
 * ARP (a broadcast ARP request and reply, sender = target = the VIP, from
 * the interface's MAC); IPv6 an unsolicited Neighbor Advertisement with the
 * Override flag to all-nodes (RFC 4861 §7.2.6). IPv6 VIPs are added with
 * IFA_F_NODAD: the address moves from the other node, which just dropped
 * it, and duplicate address detection would keep it tentative (unusable)
 * for a second or more after a takeover.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include "daemon.h"
#include "ha_role.h"

const char *ha_vip_netns(const struct daemon *d, const struct cfg_vip *vip)
{
    for (size_t i = 0; i < d->n_vdoms; i++)
        if (strcmp(d->vdoms[i].name, vip->vdom) == 0)
            return d->vdoms[i].netns;
    return "";
}

/* A NETLINK_ROUTE libnl socket living in ns. */
static struct nl_sock *nl_open(const char *ns, char *err, size_t errlen)
{
    int fd = net_socket_netns(ns, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    if (fd < 0) {
        snprintf(err, errlen, "netlink socket in %s: %s", ns[0] ? ns : "the daemon's namespace",
                 strerror(-fd));
        return NULL;
    }
    struct nl_sock *sk = nl_socket_alloc();
    if (!sk) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int rc = nl_socket_set_fd(sk, NETLINK_ROUTE, fd);
    if (rc < 0) {
        close(fd);
        nl_socket_free(sk);
        snprintf(err, errlen, "netlink: %s", nl_geterror(rc));
        return NULL;
    }
    return sk; /* nl_socket_free closes fd */
}

/* ifindex (and MAC, when mac != NULL and it has one) of ifname; libnl's
 * error (< 0) with err. */
static int link_info(struct nl_sock *sk, const char *ifname, int *ifindex, uint8_t mac[6],
                     bool *has_mac, char *err, size_t errlen)
{
    struct rtnl_link *link = NULL;
    int rc = rtnl_link_get_kernel(sk, 0, ifname, &link);
    if (rc < 0) {
        snprintf(err, errlen, "interface %s: %s", ifname, nl_geterror(rc));
        return rc;
    }
    *ifindex = rtnl_link_get_ifindex(link);
    if (has_mac) {
        /* Only Ethernet has a neighbour cache to update (lo's 6 zero
         * octets and tun devices do not). */
        struct nl_addr *a = rtnl_link_get_addr(link);
        *has_mac = rtnl_link_get_arptype(link) == ARPHRD_ETHER &&
                   !(rtnl_link_get_flags(link) & IFF_NOARP) && a && nl_addr_get_len(a) == 6;
        if (*has_mac)
            memcpy(mac, nl_addr_get_binary_addr(a), 6);
    }
    rtnl_link_put(link);
    return 0;
}

static struct rtnl_addr *vip_addr(const struct cfg_vip *vip, int ifindex)
{
    int family = vip->addr.family == IKE_AF_INET ? AF_INET : AF_INET6;
    unsigned len = family == AF_INET ? 4 : 16;
    struct rtnl_addr *ra = rtnl_addr_alloc();
    struct nl_addr *local = nl_addr_build(family, vip->addr.addr, len);
    if (!ra || !local) {
        rtnl_addr_put(ra);
        nl_addr_put(local);
        return NULL;
    }
    rtnl_addr_set_ifindex(ra, ifindex);
    rtnl_addr_set_family(ra, family);
    int rc = rtnl_addr_set_local(ra, local);
    nl_addr_put(local);
    if (rc < 0) {
        rtnl_addr_put(ra);
        return NULL;
    }
    rtnl_addr_set_prefixlen(ra, vip->prefix_len);
    if (family == AF_INET6)
        rtnl_addr_set_flags(ra, IFA_F_NODAD);
    return ra;
}

/* *changed (when not NULL): the address was added / removed by this call;
 * then removing from an interface that is gone is success too (the
 * address went with it). */
static int vip_change(const char *ns, const struct cfg_vip *vip, bool add, bool *changed, char *err,
                      size_t errlen)
{
    if (changed)
        *changed = false;
    struct nl_sock *sk = nl_open(ns, err, errlen);
    if (!sk)
        return -1;
    int ifindex, ret = -1;
    struct rtnl_addr *ra = NULL;
    int lr = link_info(sk, vip->ifname, &ifindex, NULL, NULL, err, errlen);
    if (lr < 0) {
        if (changed && !add && (lr == -NLE_OBJ_NOTFOUND || lr == -NLE_NODEV))
            ret = 0;
        goto out;
    }
    if (!(ra = vip_addr(vip, ifindex))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    /* The kernel deletes only this address with this prefix length (IPv4:
     * libnl sends IFA_ADDRESS, which makes it compare the prefix too). */
    int rc = add ? rtnl_addr_add(sk, ra, NLM_F_CREATE | NLM_F_EXCL) : rtnl_addr_delete(sk, ra, 0);
    if (changed)
        *changed = rc >= 0;
    /* Idempotent: already there (add) or already gone (remove). */
    if (rc == -NLE_EXIST && add)
        rc = 0;
    if ((rc == -NLE_NOADDR || rc == -NLE_OBJ_NOTFOUND) && !add)
        rc = 0;
    if (rc < 0) {
        snprintf(err, errlen, "%s address on %s: %s", add ? "add" : "remove", vip->ifname,
                 nl_geterror(rc));
        goto out;
    }
    ret = 0;
out:
    rtnl_addr_put(ra);
    nl_socket_free(sk);
    return ret;
}

int ha_vip_add(struct daemon *d, const struct cfg_vip *vip, char *err, size_t errlen)
{
    return vip_change(ha_vip_netns(d, vip), vip, true, NULL, err, errlen);
}

int ha_vip_del(struct daemon *d, const struct cfg_vip *vip, char *err, size_t errlen)
{
    return vip_change(ha_vip_netns(d, vip), vip, false, NULL, err, errlen);
}

int ha_vip_del_in(const char *ns, const struct cfg_vip *vip, bool *removed, char *err,
                  size_t errlen)
{
    return vip_change(ns, vip, false, removed, err, errlen);
}

/* ---- announcing the new owner ------------------------------------------- */

struct arp_pkt {
    uint16_t htype, ptype;
    uint8_t hlen, plen;
    uint16_t oper;
    uint8_t sha[6], spa[4], tha[6], tpa[4];
} __attribute__((packed));

static int garp(const char *ns, int ifindex, const uint8_t mac[6], const uint8_t ip[4], char *err,
                size_t errlen)
{
    int fd = net_socket_netns(ns, AF_PACKET, SOCK_DGRAM, htons(ETH_P_ARP));
    if (fd < 0) {
        snprintf(err, errlen, "packet socket: %s", strerror(-fd));
        return -1;
    }
    struct sockaddr_ll to = {.sll_family = AF_PACKET,
                             .sll_protocol = htons(ETH_P_ARP),
                             .sll_ifindex = ifindex,
                             .sll_halen = 6};
    memset(to.sll_addr, 0xff, 6);
    int ret = 0;
    /* A request (what Linux's arping -U sends) and a reply (arping -A):
     * some neighbours update their caches from only one of the two. */
    for (uint16_t op = 1; op <= 2; op++) {
        struct arp_pkt p = {
            .htype = htons(1), .ptype = htons(ETH_P_IP), .hlen = 6, .plen = 4, .oper = htons(op)};
        memcpy(p.sha, mac, 6);
        memcpy(p.spa, ip, 4);
        memcpy(p.tha, op == 2 ? mac : (const uint8_t[6]){0}, 6);
        memcpy(p.tpa, ip, 4);
        if (sendto(fd, &p, sizeof(p), 0, (const struct sockaddr *)&to, sizeof(to)) < 0) {
            snprintf(err, errlen, "gratuitous ARP: %s", strerror(errno));
            ret = -1;
            break;
        }
    }
    close(fd);
    return ret;
}

struct na_pkt {
    struct nd_neighbor_advert na;
    uint8_t opt_type, opt_len, mac[6];
} __attribute__((packed));

static int unsolicited_na(const char *ns, int ifindex, const uint8_t mac[6], const uint8_t ip[16],
                          char *err, size_t errlen)
{
    int fd = net_socket_netns(ns, AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
    if (fd < 0) {
        snprintf(err, errlen, "ICMPv6 socket: %s", strerror(-fd));
        return -1;
    }
    int hops = 255; /* RFC 4861 §7.1.2: receivers drop NAs with another hop limit */
    unsigned idx = (unsigned)ifindex;
    struct na_pkt p = {0};
    p.na.nd_na_type = ND_NEIGHBOR_ADVERT;
    p.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
    memcpy(&p.na.nd_na_target, ip, 16);
    p.opt_type = ND_OPT_TARGET_LINKADDR;
    p.opt_len = 1; /* units of 8 octets */
    memcpy(p.mac, mac, 6);
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_scope_id = idx};
    inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
    int ret = 0;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx)) < 0 ||
        sendto(fd, &p, sizeof(p), 0, (const struct sockaddr *)&to, sizeof(to)) < 0) {
        snprintf(err, errlen, "unsolicited neighbor advertisement: %s", strerror(errno));
        ret = -1;
    }
    close(fd);
    return ret;
}

int ha_vip_announce(struct daemon *d, const struct cfg_vip *vip, char *err, size_t errlen)
{
    const char *ns = ha_vip_netns(d, vip);
    struct nl_sock *sk = nl_open(ns, err, errlen);
    if (!sk)
        return -1;
    int ifindex;
    uint8_t mac[6];
    bool has_mac = false;
    int rc = link_info(sk, vip->ifname, &ifindex, mac, &has_mac, err, errlen);
    nl_socket_free(sk);
    if (rc < 0)
        return -1;
    if (!has_mac) {
        snprintf(err, errlen, "%s has no Ethernet address: no neighbour cache to update",
                 vip->ifname);
        return 1; /* nothing to do (loopback, tun, dummy without MAC) */
    }
    if (vip->addr.family == IKE_AF_INET)
        return garp(ns, ifindex, mac, vip->addr.addr, err, errlen);
    return unsolicited_na(ns, ifindex, mac, vip->addr.addr, err, errlen);
}
