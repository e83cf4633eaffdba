/*
 * The kernel data plane's namespaces (see dp_xfrm_netns.h): netlink
 * sockets created inside a VDOM's namespace (setns there and back around
 * socket creation, as net_socket_netns() does for the IKE sockets), one
 * set per namespace in use, reference-counted by the pairs placed there.
 */
#include "dp_xfrm_netns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include "daemon.h"
#include "esp_netns.h"
#include "gateway.h"

const char *xf_netns_of(const struct dp_child *c)
{
    return c->owner && c->owner->vdom ? c->owner->vdom->netns : "";
}

struct xf_ns *xf_ns_of(const struct dp *dp, const struct xf_child *x)
{
    const struct xf_priv *p = dp->priv;
    return x->ns ? x->ns : p->root;
}

size_t xf_ns_count(const struct dp *dp)
{
    const struct xf_priv *p = dp->priv;
    size_t n = 0;
    for (const struct xf_ns *ns = p ? p->nss : NULL; ns; ns = ns->next)
        n++;
    return n;
}

void xf_ns_info(struct dp *dp, struct dp_info *out)
{
    const struct xf_priv *p = dp->priv;
    if (!p)
        return;
    /* oldest first: the daemon's own namespace, then VDOMs as they opened */
    const struct xf_ns *order[DP_INFO_NETNS_MAX];
    size_t n = 0;
    for (const struct xf_ns *ns = p->nss; ns; ns = ns->next) {
        if (n == DP_INFO_NETNS_MAX) {
            out->netns_omitted++; /* the newest go: drop order[0] */
            memmove(order, order + 1, (n - 1) * sizeof(order[0]));
            order[n - 1] = ns;
            continue;
        }
        order[n++] = ns;
    }
    for (size_t i = 0; i < n; i++) {
        const struct xf_ns *ns = order[n - 1 - i];
        struct dp_info_netns *o = &out->netns[i];
        snprintf(o->name, sizeof(o->name), "%s", ns->name);
        o->events = ns->ev_ctr.msgs;
        o->ae_events = ns->ev_ctr.ae_events;
        o->expires = ns->ev_ctr.expires;
        o->unknown = ns->ev_ctr.unknown;
        o->errors = ns->ev_ctr.errors;
        o->overruns = ns->ev_ctr.overruns;
    }
    out->n_netns = n;
}

/* The kernel's own words for a refused request (extended ACK): libnl maps
 * errno to coarser codes and drops the text. NL_STOP: libnl returns the
 * error as usual. Requests are synchronous, so one record (in xf_priv)
 * serves the cmd sockets of every namespace. */
static int on_cmd_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
    (void)nla;
    struct xf_priv *p = arg;
    p->last_errno = -e->error;
    p->last_ext[0] = '\0';
    const struct nlmsghdr *h = (const struct nlmsghdr *)((const char *)e - NLMSG_HDRLEN);
    if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
        return NL_STOP;
    size_t off = sizeof(*e);
    if (!(h->nlmsg_flags & NLM_F_CAPPED))
        off += e->msg.nlmsg_len >= NLMSG_HDRLEN ? e->msg.nlmsg_len - NLMSG_HDRLEN : 0;
    off = NLA_ALIGN(off);
    size_t total = h->nlmsg_len >= NLMSG_HDRLEN ? h->nlmsg_len - NLMSG_HDRLEN : 0;
    if (off >= total)
        return NL_STOP;
    struct nlattr *a;
    int rem;
    nla_for_each_attr(a, (struct nlattr *)((char *)e + off), (int)(total - off), rem)
    {
        if (nla_type(a) == NLMSGERR_ATTR_MSG && nla_len(a) > 0) {
            size_t n = (size_t)nla_len(a);
            if (n >= sizeof(p->last_ext))
                n = sizeof(p->last_ext) - 1;
            memcpy(p->last_ext, nla_data(a), n);
            p->last_ext[n] = '\0';
            p->last_ext[strcspn(p->last_ext, "\n")] = '\0';
        }
    }
    return NL_STOP;
}

/* "" / " in netns NAME" for error texts. */
static const char *in_ns(const char *name, char *buf, size_t len)
{
    if (!name[0])
        return "";
    snprintf(buf, len, " in netns %s", name);
    return buf;
}

/* nl_connect() inside namespace name: the socket stays bound to it. */
static int connect_in(const char *name, struct nl_sock *sk, int protocol, char *err, size_t errlen)
{
    int back;
    if (esp_netns_enter(name, &back, err, errlen) < 0)
        return -1;
    int r = nl_connect(sk, protocol);
    esp_netns_leave(back);
    if (r < 0) {
        char w[NET_NETNS_MAX + 16];
        snprintf(err, errlen, "%s netlink%s: %s%s", protocol == NETLINK_XFRM ? "XFRM" : "route",
                 in_ns(name, w, sizeof(w)), nl_geterror(r),
                 protocol == NETLINK_XFRM ? " (is xfrm_user available?)" : "");
        return -1;
    }
    return 0;
}

int xf_ns_open_rt(struct xf_ns *ns, char *err, size_t errlen)
{
    if (ns->rt)
        return 0;
    ns->rt = nl_socket_alloc();
    if (!ns->rt) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (connect_in(ns->name, ns->rt, NETLINK_ROUTE, err, errlen) < 0) {
        nl_socket_free(ns->rt);
        ns->rt = NULL;
        return -1;
    }
    return 0;
}

static void ns_free(struct xf_ns *ns)
{
    xf_ev_close(ns);
    /* every pair released its routes before the last reference went;
     * whatever is left is freed (the kernel's went with their pairs) */
    while (ns->routes) {
        struct xf_route *n = ns->routes->next;
        free(ns->routes);
        ns->routes = n;
    }
    if (ns->cmd)
        nl_socket_free(ns->cmd);
    if (ns->rt)
        nl_socket_free(ns->rt);
    free(ns);
}

static struct xf_ns *ns_open(struct dp *dp, const char *name, char *err, size_t errlen)
{
    struct xf_priv *p = dp->priv;
    if (strlen(name) >= NET_NETNS_MAX) {
        snprintf(err, errlen, "netns name '%.32s...' too long", name);
        return NULL;
    }
    struct xf_ns *ns = calloc(1, sizeof(*ns));
    if (!ns || !(ns->cmd = nl_socket_alloc())) {
        snprintf(err, errlen, "out of memory");
        free(ns);
        return NULL;
    }
    ns->dp = dp;
    snprintf(ns->name, sizeof(ns->name), "%s", name);
    if (connect_in(name, ns->cmd, NETLINK_XFRM, err, errlen) < 0) {
        ns_free(ns);
        return NULL;
    }
    int one = 1; /* best effort: older kernels just send no text */
    (void)setsockopt(nl_socket_get_fd(ns->cmd), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    struct nl_cb *cb = nl_socket_get_cb(ns->cmd); /* a reference */
    nl_cb_err(cb, NL_CB_CUSTOM, on_cmd_err, p);
    nl_cb_put(cb);
    if (xf_ev_open(ns, err, errlen) < 0) {
        ns_free(ns);
        return NULL;
    }
    ns->next = p->nss;
    p->nss = ns;
    return ns;
}

int xf_ns_open_root(struct dp *dp, char *err, size_t errlen)
{
    struct xf_priv *p = dp->priv;
    p->root = ns_open(dp, "", err, errlen);
    if (!p->root)
        return -1;
    p->root->refs = 1; /* the backend's: the daemon's namespace stays open */
    return 0;
}

struct xf_ns *xf_ns_get(struct dp *dp, const char *name, char *err, size_t errlen)
{
    struct xf_priv *p = dp->priv;
    if (!name)
        name = "";
    for (struct xf_ns *ns = p->nss; ns; ns = ns->next)
        if (!strcmp(ns->name, name)) {
            ns->refs++;
            return ns;
        }
    struct xf_ns *ns = ns_open(dp, name, err, errlen);
    if (ns)
        ns->refs = 1;
    return ns;
}

void xf_ns_put(struct dp *dp, struct xf_ns *ns)
{
    struct xf_priv *p = dp->priv;
    if (!ns || --ns->refs)
        return;
    for (struct xf_ns **pp = &p->nss; *pp; pp = &(*pp)->next)
        if (*pp == ns) {
            *pp = ns->next;
            break;
        }
    if (p->root == ns)
        p->root = NULL;
    ns_free(ns);
}

void xf_ns_close_all(struct dp *dp)
{
    struct xf_priv *p = dp->priv;
    while (p->nss) {
        struct xf_ns *ns = p->nss;
        p->nss = ns->next;
        ns_free(ns);
    }
    p->root = NULL;
}
