/*
 * VTI devices of route-based gateways (see dp_xfrm_vti.h): created,
 * updated and deleted with rtnetlink through libnl-route-3's ipvti /
 * ip6vti links, on the rtnetlink socket of the gateway's namespace
 * (dp_xfrm_netns.h: the one add-route uses there; the device holds a
 * reference on the namespace); the device's disable_policy sysctls
 * written there too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/ip6vti.h>
#include <netlink/route/link/ipvti.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <ike/const.h>

#include "config/config.h"
#include "daemon.h"
#include "dp_xfrm_netns.h"
#include "dp_xfrm_vti.h"
#include "esp_netns.h"
#include "esp_tun.h"
#include "gateway.h"
#include "log.h"

bool xf_route_based(const struct dp_child *c)
{
    return c->owner && c->owner->gw && c->owner->gw->cfg && c->owner->gw->cfg->route_based;
}

static bool dialup_of(const struct dp_child *c)
{
    return c->owner && c->owner->gw && c->owner->gw->cfg && c->owner->gw->cfg->remote_any;
}

static size_t alen_of(const struct ike_addr *a)
{
    return a->family == IKE_AF_INET6 ? 16 : 4;
}

static bool same_addr(const struct ike_addr *a, const struct ike_addr *b)
{
    return a->family == b->family && !memcmp(a->addr, b->addr, alen_of(a));
}

/* One pass over the devices into a bitmap of used keys (8 KiB), then the
 * first free one: linear in the devices, however many there are. */
uint32_t xf_vti_key_pick(const struct xf_vti *list)
{
    uint64_t used[(XF_VTI_KEY_MAX + 64) / 64] = {0};
    for (const struct xf_vti *v = list; v; v = v->next)
        if (v->key > XF_VTI_KEY_BASE && v->key <= XF_VTI_KEY_BASE + XF_VTI_KEY_MAX) {
            uint32_t i = v->key - XF_VTI_KEY_BASE;
            used[i / 64] |= (uint64_t)1 << (i % 64);
        }
    for (uint32_t i = 1; i <= XF_VTI_KEY_MAX; i++)
        if (!(used[i / 64] >> (i % 64) & 1))
            return XF_VTI_KEY_BASE + i;
    return 0;
}

/* ---- rtnetlink ---------------------------------------------------------- */

/* The device as it should be: kind, keys, addresses; to create: its
 * name, up. (A change must not name it: the kernel refuses a rename of an
 * up device, even to its own name, with EBUSY.) */
static struct rtnl_link *vti_link(const struct xf_vti *v, bool create)
{
    bool v6 = v->local.family == IKE_AF_INET6;
    struct rtnl_link *l = v6 ? rtnl_link_ip6vti_alloc() : rtnl_link_ipvti_alloc();
    if (!l)
        return NULL;
    if (create) {
        rtnl_link_set_name(l, v->ifname);
        rtnl_link_set_flags(l, IFF_UP);
    }
    uint32_t key = htonl(v->key); /* IFLA_VTI_[IO]KEY are big-endian */
    int r;
    if (v6) {
        struct in6_addr a, b;
        memcpy(&a, v->local.addr, 16);
        memcpy(&b, v->remote.addr, 16);
        r = rtnl_link_ip6vti_set_local(l, &a) | rtnl_link_ip6vti_set_remote(l, &b) |
            rtnl_link_ip6vti_set_ikey(l, key) | rtnl_link_ip6vti_set_okey(l, key);
    } else {
        uint32_t a, b;
        memcpy(&a, v->local.addr, 4);
        memcpy(&b, v->remote.addr, 4);
        r = rtnl_link_ipvti_set_local(l, a) | rtnl_link_ipvti_set_remote(l, b) |
            rtnl_link_ipvti_set_ikey(l, key) | rtnl_link_ipvti_set_okey(l, key);
    }
    if (r) {
        rtnl_link_put(l);
        return NULL;
    }
    return l;
}

/* The namespace's rtnetlink socket (opened inside it, shared with
 * add-route's routes there). */
static struct nl_sock *rt_of(const struct xf_vti *v)
{
    return v->ns->rt;
}

/* "1" into /proc/sys/net/<family>/conf/<dev>/<what>, inside the device's
 * namespace (the sysctl tree is that of the opening thread's namespace). */
static int sysctl_on(const struct xf_vti *v, const char *family, const char *what, char *err,
                     size_t errlen)
{
    char path[128];
    snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", family, v->ifname, what);
    int back;
    if (esp_netns_enter(v->ns->name, &back, err, errlen) < 0)
        return -1;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    int e = fd < 0 ? errno : 0;
    esp_netns_leave(back);
    if (fd >= 0) {
        if (write(fd, "1\n", 2) != 2)
            e = errno ? errno : EIO;
        close(fd);
    }
    if (e)
        snprintf(err, errlen, "%s: %s", path, strerror(e));
    return e ? -1 : 0;
}

/* A device named like ours from an earlier run (a crash leaves it): a
 * VTI is ours to replace; anything else is the administrator's. */
static int remove_stale(struct xf_vti *v, char *err, size_t errlen)
{
    struct rtnl_link *old = NULL;
    int e = rtnl_link_get_kernel(rt_of(v), 0, v->ifname, &old);
    if (e < 0) {
        snprintf(err, errlen, "%s exists but cannot be read: %s", v->ifname, nl_geterror(e));
        return -1;
    }
    const char *kind = rtnl_link_get_type(old);
    if (!kind || (strcmp(kind, "vti") && strcmp(kind, "vti6"))) {
        snprintf(err, errlen, "%s exists and is not a VTI device (%s): rename or remove it",
                 v->ifname, kind ? kind : "unknown kind");
        rtnl_link_put(old);
        return -1;
    }
    e = rtnl_link_delete(rt_of(v), old);
    rtnl_link_put(old);
    if (e < 0) {
        snprintf(err, errlen, "removing the stale %s: %s", v->ifname, nl_geterror(e));
        return -1;
    }
    return 0;
}

static int create_dev(struct xf_vti *v, char *err, size_t errlen)
{
    struct rtnl_link *l = vti_link(v, true);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int e = rtnl_link_add(rt_of(v), l, NLM_F_CREATE | NLM_F_EXCL);
    if (e == -NLE_EXIST && remove_stale(v, err, errlen) == 0)
        e = rtnl_link_add(rt_of(v), l, NLM_F_CREATE | NLM_F_EXCL);
    else if (e == -NLE_EXIST)
        e = 1; /* err set */
    rtnl_link_put(l);
    if (e) {
        if (e < 0)
            snprintf(err, errlen, "creating VTI device %s: %s%s", v->ifname, nl_geterror(e),
                     e == -NLE_OPNOTSUPP || e == -NLE_INVAL ? " (is ip_vti/ip6_vti available?)"
                                                            : "");
        return -1;
    }
    struct rtnl_link *now = NULL;
    e = rtnl_link_get_kernel(rt_of(v), 0, v->ifname, &now);
    if (e < 0) {
        snprintf(err, errlen, "VTI device %s: %s", v->ifname, nl_geterror(e));
        return -1;
    }
    v->ifindex = rtnl_link_get_ifindex(now);
    rtnl_link_put(now);
    /* Decrypted packets passed the marked in policy in the VTI already;
     * forwarding and local delivery would look for an unmarked one. */
    if (sysctl_on(v, "ipv4", "disable_policy", err, errlen) < 0)
        return -1;
    /* IPv6 inner traffic: best effort, the device has no IPv6 conf when
     * IPv6 is off in the namespace (then no IPv6 passes it anyway). */
    char ignored[160];
    (void)sysctl_on(v, "ipv6", "disable_policy", ignored, sizeof(ignored));
    return 0;
}

static void delete_dev(struct xf_vti *v)
{
    if (!v->ns || !rt_of(v) || v->ifindex <= 0)
        return;
    struct rtnl_link *l = rtnl_link_alloc();
    if (l) {
        rtnl_link_set_ifindex(l, v->ifindex);
        (void)rtnl_link_delete(rt_of(v), l); /* routes through it go with it */
        rtnl_link_put(l);
    }
    v->ifindex = 0;
}

/* NEWLINK on the existing device: VTI's changelink takes every parameter
 * afresh, so the whole set goes (keys included). */
static int change_addresses(struct xf_vti *v, const struct ike_addr *local,
                            const struct ike_addr *remote, char *err, size_t errlen)
{
    struct xf_vti want = *v;
    want.local = *local;
    want.remote = *remote;
    struct rtnl_link *l = vti_link(&want, false);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rtnl_link_set_ifindex(l, v->ifindex);
    int e = rtnl_link_add(rt_of(v), l, 0);
    rtnl_link_put(l);
    if (e < 0) {
        snprintf(err, errlen, "new addresses for %s: %s", v->ifname, nl_geterror(e));
        return -1;
    }
    v->local = *local;
    v->remote = *remote;
    v->address_changes++;
    return 0;
}

/* ---- pins: host routes to the peer --------------------------------------- */

static struct rtnl_route *host_route(const struct ike_addr *peer)
{
    struct rtnl_route *r = rtnl_route_alloc();
    struct nl_addr *dst = nl_addr_build(xf_family(peer), peer->addr, alen_of(peer));
    if (!r || !dst) {
        if (r)
            rtnl_route_put(r);
        nl_addr_put(dst);
        return NULL;
    }
    nl_addr_set_prefixlen(dst, (int)alen_of(peer) * 8);
    rtnl_route_set_family(r, (uint8_t)xf_family(peer));
    rtnl_route_set_dst(r, dst);
    nl_addr_put(dst);
    rtnl_route_set_table(r, RT_TABLE_MAIN);
    rtnl_route_set_protocol(r, XF_RTPROT_HAIKED);
    rtnl_route_set_type(r, RTN_UNICAST);
    return r;
}

/* The peer stays reachable outside the device: a host route along its
 * current path (before the selector's route would take it over). A route
 * that is there already (the administrator's, or ours) is left as it is. */
static int pin_peer(struct xf_vti *v, const struct ike_addr *peer, char *err, size_t errlen)
{
    for (struct xf_vti_pin *p = v->pins; p; p = p->next)
        if (same_addr(&p->peer, peer))
            return 0;
    struct nl_addr *dst = nl_addr_build(xf_family(peer), peer->addr, alen_of(peer));
    struct rtnl_route *cur = NULL;
    int e = dst ? rtnl_route_lookup(rt_of(v), dst, &cur) : -NLE_NOMEM;
    nl_addr_put(dst);
    struct rtnl_nexthop *nh = e >= 0 && cur ? rtnl_route_nexthop_n(cur, 0) : NULL;
    char a[IKE_ADDR_STR_MAX];
    if (!nh || rtnl_route_nh_get_ifindex(nh) == v->ifindex) {
        snprintf(err, errlen, "no route to the peer %s outside %s",
                 ike_addr_str(peer, a, sizeof(a)), v->ifname);
        if (cur)
            rtnl_route_put(cur);
        return -1;
    }
    struct rtnl_route *r = host_route(peer);
    struct rtnl_nexthop *mine = rtnl_route_nh_alloc();
    if (!r || !mine) {
        if (r)
            rtnl_route_put(r);
        if (mine)
            rtnl_route_nh_free(mine);
        rtnl_route_put(cur);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);
    rtnl_route_nh_set_ifindex(mine, rtnl_route_nh_get_ifindex(nh));
    if (gw)
        rtnl_route_nh_set_gateway(mine, gw);
    rtnl_route_set_scope(r, gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
    rtnl_route_add_nexthop(r, mine);
    rtnl_route_put(cur);
    e = rtnl_route_add(rt_of(v), r, NLM_F_CREATE | NLM_F_EXCL);
    rtnl_route_put(r);
    if (e == -NLE_EXIST)
        return 0;
    struct xf_vti_pin *p = e < 0 ? NULL : calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "host route to the peer %s: %s", ike_addr_str(peer, a, sizeof(a)),
                 e < 0 ? nl_geterror(e) : "out of memory");
        return -1;
    }
    p->peer = *peer;
    p->next = v->pins;
    v->pins = p;
    return 0;
}

static void unpin_all(struct xf_vti *v)
{
    while (v->pins) {
        struct xf_vti_pin *p = v->pins;
        v->pins = p->next;
        struct rtnl_route *r = v->ns && rt_of(v) ? host_route(&p->peer) : NULL;
        if (r) {
            (void)rtnl_route_delete(rt_of(v), r, 0); /* best effort */
            rtnl_route_put(r);
        }
        free(p);
    }
}

/* ---- the devices ------------------------------------------------------------ */

static struct xf_vti *vti_find(const struct xf_priv *p, const char *gw)
{
    for (struct xf_vti *v = p->vtis; v; v = v->next)
        if (!strcmp(v->gw, gw))
            return v;
    return NULL;
}

static void vti_free(struct dp *dp, struct xf_vti *v)
{
    unpin_all(v);
    delete_dev(v);
    xf_ns_put(dp, v->ns);
    free(v);
}

static struct xf_vti *vti_create(struct dp *dp, const struct xf_child *x, char *err, size_t errlen)
{
    struct xf_priv *p = dp->priv;
    const struct dp_child *c = x->c;
    struct xf_vti *v = calloc(1, sizeof(*v));
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(v->gw, sizeof(v->gw), "%s", c->gw_name);
    esp_tun_name(c->gw_name, v->ifname);
    v->key = xf_vti_key_pick(p->vtis);
    v->dialup = dialup_of(c);
    v->local = c->local;
    v->remote = c->remote;
    if (v->dialup) /* any peer: the device matches by the local address */
        memset(v->remote.addr, 0, sizeof(v->remote.addr));
    if (!v->key) {
        snprintf(err, errlen, "more than %u route-based gateways", XF_VTI_KEY_MAX);
        free(v);
        return NULL;
    }
    /* the pair's namespace (its own reference: the device outlives the
     * pairs between SAs), and its rtnetlink socket */
    v->ns = xf_ns_get(dp, xf_ns_of(dp, x)->name, err, errlen);
    if (!v->ns || xf_ns_open_rt(v->ns, err, errlen) < 0 || create_dev(v, err, errlen) < 0) {
        vti_free(dp, v);
        return NULL;
    }
    v->next = p->vtis;
    p->vtis = v;
    return v;
}

/* An outer address without its port. */
static const char *host_str(const struct ike_addr *a, char *buf, size_t len)
{
    return inet_ntop(xf_family(a), a->addr, buf, (socklen_t)len) ? buf : "?";
}

/* "VTI hk-gw created: key 0x484b0001, 203.0.113.1 -> 203.0.113.2" in the
 * daemon's log (dataplane subsystem); nothing without a daemon (tests). */
static void vti_log(const struct dp_child *c, const struct xf_vti *v, const char *what)
{
    if (!c->owner || !c->owner->gw || !c->owner->gw->d)
        return;
    struct daemon *d = c->owner->gw->d;
    struct hlog_who who = daemon_who(c->owner->gw, c->owner);
    char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
    hlog_write(&d->log, HLOG_DP, IKE_LOG_INFO, &who, "VTI %s %s: key 0x%08x, %s -> %s", v->ifname,
               what, v->key, host_str(&v->local, l, sizeof(l)),
               v->dialup ? "any" : host_str(&v->remote, r, sizeof(r)));
}

int xf_vti_attach(struct dp *dp, struct xf_child *x, char *err, size_t errlen)
{
    struct xf_priv *p = dp->priv;
    const struct dp_child *c = x->c;
    if (!xf_route_based(c))
        return 0;
    struct xf_vti *v = vti_find(p, c->gw_name);
    const struct xf_ns *ns = xf_ns_of(dp, x);
    if (v && v->ns != ns) {
        snprintf(err, errlen, "%s lives in netns '%s', not '%s'", v->ifname, v->ns->name, ns->name);
        return -1;
    }
    if (!v) {
        if (!(v = vti_create(dp, x, err, errlen)))
            return -1;
        vti_log(c, v, "created");
    }
    /* A peer (or we) moved: a reauthentication or a new IKE SA from the
     * new address. The device keeps its index, routes and key. */
    if (c->local.family != v->local.family) {
        snprintf(err, errlen, "%s carries %s outer addresses", v->ifname,
                 v->local.family == IKE_AF_INET6 ? "IPv6" : "IPv4");
        return -1;
    }
    struct ike_addr remote = v->dialup ? v->remote : c->remote;
    if (!same_addr(&v->local, &c->local) || !same_addr(&v->remote, &remote)) {
        if (change_addresses(v, &c->local, &remote, err, errlen) < 0)
            return -1;
        vti_log(c, v, "moved");
    }
    x->vti = v;
    x->mark = v->key;
    return 0;
}

/* Does ts's address range hold a (protocol and ports aside: the route
 * takes every packet to the address)? */
static bool ts_holds(const struct ike_ts_export *ts, const struct ike_addr *a)
{
    bool v6 = ts->type == IKE_TS_IPV6_ADDR_RANGE;
    if (v6 != (a->family == IKE_AF_INET6))
        return false;
    size_t n = alen_of(a);
    return memcmp(a->addr, ts->start_addr, n) >= 0 && memcmp(a->addr, ts->end_addr, n) <= 0;
}

int xf_vti_routes(struct dp *dp, struct xf_child *x, char *err, size_t errlen)
{
    (void)dp;
    struct xf_vti *v = x->vti;
    const struct dp_child *c = x->c;
    for (size_t i = 0; i < c->n_ts_remote; i++)
        if (ts_holds(&c->ts_remote[i], &c->remote) && pin_peer(v, &c->remote, err, errlen) < 0)
            return -1;
    int back;
    if (esp_netns_enter(v->ns->name, &back, err, errlen) < 0)
        return -1;
    /* in the namespace: the preferred source is looked up among its
     * addresses, and the request goes to its routing table */
    int r = esp_tun_routes(v->ifindex, true, c->ts_remote, c->n_ts_remote, c->ts_local,
                           c->n_ts_local, err, errlen);
    esp_netns_leave(back);
    return r < 0 ? -1 : 0;
}

void xf_vti_gateway_removed(struct dp *dp, const char *gw)
{
    struct xf_priv *p = dp->priv;
    if (!p)
        return;
    for (struct xf_vti **pp = &p->vtis; *pp; pp = &(*pp)->next) {
        struct xf_vti *v = *pp;
        if (strcmp(v->gw, gw))
            continue;
        struct dp_child *c;
        TAILQ_FOREACH(c, &dp->children, all_link)
        if (xf_of(c) && xf_of(c)->vti == v)
            xf_of(c)->vti = NULL;
        *pp = v->next;
        vti_free(dp, v);
        return;
    }
}

void xf_vti_close(struct dp *dp)
{
    struct xf_priv *p = dp->priv;
    while (p->vtis) {
        struct xf_vti *v = p->vtis;
        p->vtis = v->next;
        vti_free(dp, v);
    }
}

const struct xf_vti *xf_vti_find(const struct dp *dp, const char *gw)
{
    const struct xf_priv *p = dp->priv;
    return p ? vti_find(p, gw) : NULL;
}

bool xf_vti_device(struct dp *dp, const char *gw, struct dp_gw_device *out)
{
    const struct xf_vti *v = xf_vti_find(dp, gw);
    if (!v)
        return false;
    snprintf(out->kind, sizeof(out->kind), "%s", v->local.family == IKE_AF_INET6 ? "vti6" : "vti");
    snprintf(out->ifname, sizeof(out->ifname), "%s", v->ifname);
    snprintf(out->netns, sizeof(out->netns), "%s", v->ns ? v->ns->name : "");
    out->ifindex = v->ifindex;
    out->key = v->key;
    return true;
}
