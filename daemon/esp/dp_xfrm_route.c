/*
 * add-route for the kernel data plane (libnl-route-3). With XFRM policies
 * the route only has to exist: after the policy lookup the packet leaves
 * through the route to the peer. As strongSwan does, each remote-selector
 * prefix is routed along the path to the peer (its interface and
 * gateway) with a preferred source inside the local selectors, so the
 * gateway's own traffic to the remote LAN is inside the CHILD SA too.
 * Routes are shared by reference count (rekeys, several selectors); one
 * that was there before us is used and left alone.
 */
#include <ifaddrs.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <ike/const.h>

#include "dp_xfrm.h"
#include "dp_xfrm_netns.h"
#include "dp_xfrm_vti.h"
#include "esp_ip.h"
#include "esp_netns.h"

#define XF_ROUTE_BLOCKS 32

/* A host address inside one of the local TSs of family, among the
 * addresses of namespace ns (getifaddrs() asks the thread's namespace). */
static struct nl_addr *local_source(int family, const struct dp_child *c, const struct xf_ns *ns)
{
    struct ifaddrs *ifa = NULL;
    struct nl_addr *out = NULL;
    char e[128];
    int back;
    if (esp_netns_enter(ns->name, &back, e, sizeof(e)) < 0)
        return NULL;
    int r = getifaddrs(&ifa);
    esp_netns_leave(back);
    if (r < 0)
        return NULL;
    for (struct ifaddrs *i = ifa; i && !out; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != family)
            continue;
        uint8_t a[16] = {0};
        if (family == AF_INET)
            memcpy(a, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
        else
            memcpy(a, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, 16);
        for (size_t k = 0; k < c->n_ts_local && !out; k++)
            if (esp_ts_match(&c->ts_local[k], family == AF_INET ? 4 : 6, a, 0, 0))
                out = nl_addr_build(family, a, family == AF_INET ? 4 : 16);
    }
    freeifaddrs(ifa);
    return out;
}

struct path {
    int ifindex;
    struct nl_addr *gw; /* NULL: the peer is on-link */
};

/* The kernel's route to the peer (RTM_GETROUTE). */
static int path_to_peer(struct nl_sock *rt, const struct ike_addr *peer, struct path *out,
                        char *err, size_t errlen)
{
    struct nl_addr *dst = xf_nl_addr(peer);
    struct rtnl_route *r = NULL;
    int e = dst ? rtnl_route_lookup(rt, dst, &r) : -NLE_NOMEM;
    nl_addr_put(dst);
    struct rtnl_nexthop *nh = e >= 0 && r ? rtnl_route_nexthop_n(r, 0) : NULL;
    if (!nh) {
        char a[IKE_ADDR_STR_MAX];
        snprintf(err, errlen, "no route to the peer %s: %s", ike_addr_str(peer, a, sizeof(a)),
                 e < 0 ? nl_geterror(e) : "no next hop");
        if (r)
            rtnl_route_put(r);
        return -1;
    }
    out->ifindex = rtnl_route_nh_get_ifindex(nh);
    struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);
    out->gw = gw ? nl_addr_clone(gw) : NULL;
    rtnl_route_put(r);
    return 0;
}

static struct rtnl_route *build_route(const struct xf_route *k, const struct path *path,
                                      struct nl_addr *src)
{
    struct rtnl_route *r = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    struct nl_addr *dst = nl_addr_build(k->family, k->dst, k->family == AF_INET ? 4 : 16);
    if (!r || !nh || !dst) {
        if (r)
            rtnl_route_put(r);
        if (nh)
            rtnl_route_nh_free(nh);
        nl_addr_put(dst);
        return NULL;
    }
    nl_addr_set_prefixlen(dst, k->plen);
    rtnl_route_set_family(r, k->family);
    rtnl_route_set_dst(r, dst);
    nl_addr_put(dst);
    rtnl_route_set_table(r, RT_TABLE_MAIN);
    rtnl_route_set_protocol(r, XF_RTPROT_HAIKED);
    rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
    rtnl_route_set_type(r, RTN_UNICAST);
    if (path) {
        rtnl_route_nh_set_ifindex(nh, path->ifindex);
        if (path->gw)
            rtnl_route_nh_set_gateway(nh, path->gw);
        rtnl_route_add_nexthop(r, nh);
    } else {
        rtnl_route_nh_free(nh);
    }
    if (src)
        rtnl_route_set_pref_src(r, src);
    return r;
}

struct route_ctx {
    struct dp *dp;
    struct xf_child *x;
    struct xf_ns *ns;
    struct path path;
    struct nl_addr *src;
    uint8_t family;
    size_t cap;
    int err;
    char *errbuf;
    size_t errlen;
};

static struct xf_route *route_acquire(struct route_ctx *rc, const uint8_t *dst, unsigned plen)
{
    struct xf_ns *ns = rc->ns;
    size_t alen = rc->family == AF_INET ? 4 : 16;
    for (struct xf_route *k = ns->routes; k; k = k->next)
        if (k->family == rc->family && k->plen == plen && !memcmp(k->dst, dst, alen)) {
            k->refs++;
            return k;
        }
    struct xf_route *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    k->family = rc->family;
    memcpy(k->dst, dst, alen);
    k->plen = (uint8_t)plen;
    struct rtnl_route *r = build_route(k, &rc->path, rc->src);
    int e = r ? rtnl_route_add(ns->rt, r, NLM_F_CREATE | NLM_F_EXCL) : -NLE_NOMEM;
    if (r)
        rtnl_route_put(r);
    if (e < 0 && e != -NLE_EXIST) {
        snprintf(rc->errbuf, rc->errlen, "route to a remote selector (/%u): %s", plen,
                 nl_geterror(e));
        free(k);
        return NULL;
    }
    k->owned = e >= 0; /* a route that was there before stays the admin's */
    k->refs = 1;
    k->next = ns->routes;
    ns->routes = k;
    return k;
}

static void on_prefix(void *arg, const uint8_t *value, unsigned plen)
{
    struct route_ctx *rc = arg;
    if (rc->err)
        return;
    if (rc->x->n_routes == rc->cap) {
        snprintf(rc->errbuf, rc->errlen, "remote selectors need more than %zu routes", rc->cap);
        rc->err = -1;
        return;
    }
    struct xf_route *k = route_acquire(rc, value, plen);
    if (!k) {
        rc->err = -1;
        return;
    }
    rc->x->routes[rc->x->n_routes++] = k;
}

int xf_routes_install(struct dp *dp, struct xf_child *x, char *err, size_t errlen)
{
    if (x->vti) /* route-based: into its device, where they stay (dp_xfrm_vti.c) */
        return xf_vti_routes(dp, x, err, errlen);
    struct xf_ns *ns = xf_ns_of(dp, x); /* routes live in the pair's namespace */
    const struct dp_child *c = x->c;
    if (xf_ns_open_rt(ns, err, errlen) < 0)
        return -1;
    struct route_ctx rc = {.dp = dp,
                           .x = x,
                           .ns = ns,
                           .cap = c->n_ts_remote * XF_ROUTE_BLOCKS,
                           .errbuf = err,
                           .errlen = errlen};
    x->routes = rc.cap ? calloc(rc.cap, sizeof(*x->routes)) : NULL;
    if (!x->routes) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (path_to_peer(ns->rt, &c->remote, &rc.path, err, errlen) < 0) {
        free(x->routes);
        x->routes = NULL;
        return -1;
    }
    for (size_t i = 0; i < c->n_ts_remote && !rc.err; i++) {
        const struct ike_ts_export *ts = &c->ts_remote[i];
        rc.family = ts->type == IKE_TS_IPV6_ADDR_RANGE ? AF_INET6 : AF_INET;
        nl_addr_put(rc.src);
        rc.src = local_source(rc.family, c, ns);
        xf_range_blocks(ts->start_addr, ts->end_addr, rc.family == AF_INET ? 4 : 16, on_prefix,
                        &rc);
    }
    nl_addr_put(rc.src);
    nl_addr_put(rc.path.gw);
    if (rc.err) {
        xf_routes_remove(dp, x);
        return -1;
    }
    return 0;
}

static void route_release(struct xf_ns *ns, struct xf_route *k)
{
    if (--k->refs)
        return;
    if (k->owned && ns->rt) {
        struct rtnl_route *r = build_route(k, NULL, NULL);
        if (r) {
            (void)rtnl_route_delete(ns->rt, r, 0); /* best effort: gone with its interface */
            rtnl_route_put(r);
        }
    }
    for (struct xf_route **pp = &ns->routes; *pp; pp = &(*pp)->next)
        if (*pp == k) {
            *pp = k->next;
            break;
        }
    free(k);
}

void xf_routes_remove(struct dp *dp, struct xf_child *x)
{
    for (size_t i = 0; i < x->n_routes; i++)
        route_release(xf_ns_of(dp, x), x->routes[i]);
    free(x->routes);
    x->routes = NULL;
    x->n_routes = 0;
}
